#!/usr/bin/env bash
# Guardrails end to end: cubectl creates and binds them, the real agent
# applies them to prompts on every route alias (blocks never reach the
# backend, redactions are what the backend sees) and to answers, buffered
# and streamed, with a secret split at every offset across chunks.
# serial: sse-timing.py measures when each streamed event arrives
. "$(dirname "$0")/../lib.sh"

start_backend
start_agent -v
ctl domain create acme >/dev/null
ctl domain create bravo >/dev/null
ctl provider add -d acme fake --driver openai --url "$BACKEND_URL/v1" >/dev/null

# --- cubectl: create, refuse, test ----------------------------------------
ctl guardrail create -d acme pii --kind pii --action redact >/dev/null
check "guardrail create pii" [ $? -eq 0 ]
ctl guardrail create -d acme cards --kind pii --action block --types card,iban >/dev/null
ctl guardrail create -d acme plans --kind keywords --action block \
    --words 'secret plan,project x' >/dev/null
ctl guardrail create -d acme keys-out --kind pii --action redact --types secret >/dev/null
ctl guardrail create -d acme forbid-out --kind regex --action block \
    --pattern 'FORBIDDEN-[0-9]+' >/dev/null
ctl guardrail create -d acme short --kind length --action block --max-messages 3 >/dev/null
out=$(ctl guardrail create -d acme bad --kind regex --action block --pattern 'a(b' 2>&1)
check "a pattern that does not compile is refused" [ $? -ne 0 ]
check_contains "with its position" "at offset 3" "$out"
out=$(ctl guardrail create -d acme bad --kind pii --action block --types dna 2>&1)
check "an unknown pii type is refused" [ $? -eq 2 ]
check_eq "list has six" 6 "$(ctl -o json guardrail list -d acme | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
check_eq "another domain sees none" 0 "$(ctl -o json guardrail list -d bravo | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
check_eq "show types" '["card", "iban"]' "$(ctl -o json guardrail show -d acme cards | json types)"
out=$(ctl -o json guardrail test -d acme pii --text 'mail bob@example.com or call +44 20 7946 0958')
check_eq "guardrail test result" redacted "$(echo "$out" | json result)"
check_eq "guardrail test text" "mail [REDACTED:EMAIL] or call [REDACTED:PHONE]" "$(echo "$out" | json text)"
out=$(ctl guardrail test -d acme plans --text 'the Secret   Plan')
check_contains "guardrail test in a table" "blocked" "$out"

# --- guardrail.test with an inline spec: compiled as create, nothing stored
out=$(python3 - "$AGENT_SOCK" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rw")
def call(i, params):
    params = dict(params, domain="acme")
    f.write(json.dumps({"jsonrpc": "2.0", "id": i, "method": "guardrail.test", "params": params}) + "\n"); f.flush()
    r = json.loads(f.readline())
    if "error" in r:
        return "error:" + r["error"]["message"].replace(" ", "_")
    r = r["result"]
    return "%s|%s|%s|%s" % (r["key"], r["result"], r["text"], ",".join(h["type"] for h in r["hits"]))
print(call(1, {"kind": "regex", "action": "redact", "patterns": ["ORD-[0-9]+"], "text": "see ORD-1234 now"}))
print(call(2, {"kind": "keywords", "action": "block", "words": ["eagle"], "text": "The Eagle lands"}))
print(call(3, {"kind": "pii", "action": "log", "types": ["email"], "text": "no mail here"}))
print(call(4, {"kind": "length", "action": "block", "max_chars": 5, "text": "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"}))
print(call(5, {"kind": "regex", "action": "redact", "patterns": ["a(b"], "text": "x"}))
print(call(6, {"kind": "regex", "action": "redact", "key": "pii", "patterns": ["x"], "text": "x"}))
print(call(7, {"kind": "regex", "action": "redact", "words": ["x"], "text": "x"}))
print(call(8, {"kind": "regex", "action": "redact", "patterns": ["x"] * 10000, "text": "x"}))
print(call(9, {"kind": "regex", "text": "x"}))
PY
)
line() { echo "$out" | sed -n "${1}p"; }
check_eq "inline regex redacts" "None|redacted|see [REDACTED:REGEX] now|regex" "$(line 1)"
check_eq "inline keywords block" "None|blocked|The [REDACTED:KEYWORD] lands|keyword" "$(line 2)"
check_eq "inline pii passes clean text" "None|pass|no mail here|" "$(line 3)"
check_contains "inline length counts characters" "None|blocked|" "$(line 4)"
check_contains "inline: a bad pattern is refused with its position" "offset_3" "$(line 5)"
check_contains "inline: key and a spec together are refused" "error:" "$(line 6)"
check_contains "inline: a parameter of another kind is refused" "only_for_kind_keywords" "$(line 7)"
check_contains "inline: bounded as on create" "error:" "$(line 8)"
check_contains "inline: action is required" "action" "$(line 9)"
out=$(ctl -o json guardrail test -d acme --kind regex --action redact \
    --pattern 'ORD-[0-9]+' --text 'ship ORD-42 now')
check_eq "cubectl guardrail test inline: redacted" redacted "$(echo "$out" | json result)"
check_eq "cubectl guardrail test inline: marked" "ship [REDACTED:REGEX] now" "$(echo "$out" | json text)"
out=$(ctl guardrail test -d acme --kind keywords --action block --words 'eagle' --text 'the eagle')
check_contains "cubectl guardrail test inline, as a table" "blocked" "$out"
out=$(ctl guardrail test -d acme pii --kind pii --action log --text x 2>&1)
check_eq "cubectl: KEY and an inline spec: usage error" "2" "$?"
check_contains "... saying so" "not both" "$out"
out=$(ctl guardrail test -d acme --text x 2>&1)
check_eq "cubectl: neither KEY nor a spec: usage error" "2" "$?"
check_contains "... saying what is missing" "missing KEY" "$out"
out=$(ctl guardrail test -d acme --kind regex --action redact --pattern 'a(b' --text x 2>&1)
check "cubectl: an inline pattern that does not compile fails" [ $? -ne 0 ]
check_contains "... with its position" "offset 3" "$out"
check_eq "inline tests store nothing" 6 "$(ctl -o json guardrail list -d acme | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"

# --- binding: unknown keys refused, bound ones kept ------------------------
ctl model deploy -d acme --provider fake --name X --key x --model-id fake-chat \
    --guard-in nope >/dev/null 2>&1
check_eq "deploy with an unknown guardrail: not found" 3 $?
ctl model deploy -d acme --provider fake --name Echo --key echo \
    --model-id 'fake-chat;echo=1' --guard-in pii --guard-in cards \
    --guard-in plans --guard-in short --guard-out pii >/dev/null 2>&1
check "deploy with guardrails" [ $? -eq 0 ]
ctl model deploy -d acme --provider fake --name Plain --key plain \
    --model-id 'fake-chat;echo=1' >/dev/null 2>&1
ctl model deploy -d acme --provider fake --name Embed --key embed \
    --category embedding --model-id fake-embed --guard-in cards >/dev/null 2>&1
ctl model deploy -d acme --provider fake --name Done --key done \
    --model-id 'fake-chat;text=hello_FORBIDDEN-42_world;chunks=5' \
    --guard-out forbid-out >/dev/null 2>&1
# Broken off just after the match: the filter still holds it then.
ctl model deploy -d acme --provider fake --name Cut --key cut \
    --model-id 'fake-chat;text=hello_FORBIDDEN-42;chunks=2;reset_after=2' \
    --guard-out forbid-out >/dev/null 2>&1
ctl guardrail delete -d acme cards >/dev/null 2>&1
check_eq "a bound guardrail is not deleted" 1 $?
ctl model edit -d acme plain --guard-in nope >/dev/null 2>&1
check_eq "edit with an unknown guardrail: not found" 3 $?
check_eq "model show lists them" '["pii", "cards", "plans", "short"]' \
    "$(ctl -o json model show -d acme echo | json guardrails.input)"
TOKEN=$(ctl -o json token create -d acme --name t | json token)

nreq() { backend_requests | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
last_body() { backend_requests | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["body"])'; }
content_of() {	# the streamed or buffered answer's text (or field $1)
	python3 -c '
import json, sys
key = sys.argv[1]
out = ""
for line in sys.stdin:
    line = line.strip()
    if line.startswith("data: ") and line != "data: [DONE]":
        line = line[6:]
    elif not line.startswith("{"):
        continue
    for c in json.loads(line).get("choices", []):
        out += ((c.get("delta") or c.get("message") or {}).get(key) or "")
print(out)' "${1:-content}"
}

# --- input: redaction is what the backend sees -----------------------------
r=$(http POST /proxy/acme/v1/chat/completions "$TOKEN" \
    '{"model":"echo","messages":[{"role":"user","content":"I am bob@example.com, call +1 415 555 2671"}]}')
check_eq "redacted prompt: 200" 200 "$(status_of "$r")"
check_contains "the backend got the redacted text" \
    'I am [REDACTED:EMAIL], call [REDACTED:PHONE]' "$(last_body)"
check_not_contains "and never the address" 'bob@example.com' "$(backend_requests)"
r=$(http POST /proxy/acme/v1/chat/completions "$TOKEN" \
    '{"model":"plain","messages":[{"role":"user","content":"I am bob@example.com"}]}')
check_contains "a model without guardrails passes it" 'bob@example.com' "$(last_body)"

# --- input: invisible and fullwidth characters hide nothing ----------------
# (JSON's \u escapes carry the zero-width space and soft hyphen; the
# fullwidth letters go as UTF-8.)
last_content() { backend_requests | python3 -c 'import json,sys; print(json.loads(json.load(sys.stdin)[-1]["body"])["messages"][0]["content"])'; }
r=$(http POST /proxy/acme/v1/chat/completions "$TOKEN" \
    '{"model":"echo","messages":[{"role":"user","content":"I am bob\u200b@example.com or ｃａｒｏｌ＠ｅｘａｍｐｌｅ．ｏｒｇ, call ＋１ ４１５ ５５５ ２６７１"}]}')
check_eq "folded prompt: 200" 200 "$(status_of "$r")"
check_eq "the backend got zero-width and fullwidth text redacted" \
    'I am [REDACTED:EMAIL] or [REDACTED:EMAIL], call [REDACTED:PHONE]' \
    "$(last_content)"
# Look-alikes: Cyrillic and Greek letters, accents, marks piled on.
r=$(http POST /proxy/acme/v1/chat/completions "$TOKEN" \
    '{"model":"echo","messages":[{"role":"user","content":"I am bоb@ехаmplе.com or ΑLΙCΕ@EXAMPLE.ORG or cárol@éxample.org"}]}')
check_eq "look-alike prompt: 200" 200 "$(status_of "$r")"
check_eq "the backend got look-alike addresses redacted" \
    'I am [REDACTED:EMAIL] or [REDACTED:EMAIL] or [REDACTED:EMAIL]' \
    "$(last_content)"
before=$(nreq)
for text in 'the se\u00adcret plan' 'the ｓｅｃｒｅｔ ｐｌａｎ' 'SECRET\u2060 PLAN' \
    'card ４１１１ １１１１ １１１１ １１１１' 'the ѕесrеt рlаn' 'ΡRΟJΕCΤ Χ' \
    'the s\u0337e\u0337c\u0337r\u0337e\u0337t\u0337 plan' 'the sécrèt plân'; do
	r=$(http POST /v1/chat/completions "$TOKEN" \
	    "{\"model\":\"echo\",\"messages\":[{\"role\":\"user\",\"content\":\"$text\"}]}")
	check_eq "blocked in disguise: $text" 400 "$(status_of "$r")"
done
check_eq "none of them reached the backend" "$before" "$(nreq)"
out=$(ctl -o json guardrail test -d acme pii --text 'mail ｂｏｂ＠ｅｘａｍｐｌｅ．ｃｏｍ now')
check_eq "guardrail test folds too" "mail [REDACTED:EMAIL] now" "$(echo "$out" | json text)"
out=$(ctl -o json guardrail test -d acme pii --text 'mail bоb@ехаmplе.com now')
check_eq "and sees look-alikes" "mail [REDACTED:EMAIL] now" "$(echo "$out" | json text)"
# A text of another script keeps it, for words written in it.
ctl guardrail create -d acme ru --kind keywords --action redact \
    --words 'пароль' >/dev/null
out=$(ctl -o json guardrail test -d acme ru --text 'мой пароль: zebra')
check_eq "a Cyrillic word still matches Cyrillic text" "мой [REDACTED:KEYWORD]: zebra" \
    "$(echo "$out" | json text)"

# --- input: blocks never reach the backend, on every route alias -----------
card='4111 1111 1111 1111'
before=$(nreq)
for path in /proxy/acme/v1/chat/completions /v1/chat/completions \
    /api/client/v1/chat/completions; do
	r=$(http POST "$path" "$TOKEN" \
	    "{\"model\":\"echo\",\"messages\":[{\"role\":\"user\",\"content\":\"card $card\"}]}")
	check_eq "$path: card blocked" 400 "$(status_of "$r")"
	check_contains "$path: guardrail_violation naming it" \
	    '"code":"guardrail_violation"' "$(body_of "$r")"
	check_contains "$path: names the guardrail" "'cards'" "$(body_of "$r")"
done
for path in /proxy/acme/v1/completions /v1/completions /api/client/v1/completions; do
	r=$(http POST "$path" "$TOKEN" "{\"model\":\"echo\",\"prompt\":[\"ok\",\"pay with $card\"]}")
	check_eq "$path: prompt blocked" 400 "$(status_of "$r")"
done
for path in /proxy/acme/v1/embeddings /v1/embeddings /api/client/v1/embeddings; do
	r=$(http POST "$path" "$TOKEN" '{"model":"embed","input":"IBAN DE89 3704 0044 0532 0130 00"}')
	check_eq "$path: embedding input blocked" 400 "$(status_of "$r")"
done
r=$(http POST /v1/chat/completions "$TOKEN" \
    "{\"model\":\"echo\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hi\"},{\"type\":\"text\",\"text\":\"$card\"}]}]}")
check_eq "a text part of multi-part content is checked" 400 "$(status_of "$r")"
r=$(http POST /v1/chat/completions "$TOKEN" \
    "{\"model\":\"echo\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\",\"content\":\"$card\"}]}")
check_eq "a second content key is checked too" 400 "$(status_of "$r")"
r=$(http POST /v1/chat/completions "$TOKEN" \
    "{\"model\":\"echo\",\"messages\":[{\"role\":\"user\",\"c\\u006fntent\":\"$card\"}]}")
check_eq "so is an escaped one" 400 "$(status_of "$r")"
r=$(http POST /v1/chat/completions "$TOKEN" \
    '{"model":"echo","messages":[{"role":"user","content":"the SECRET\n  plan"}]}' \
    -H 'X-Guardrails: off')
check_eq "keywords fold case and space; no header skips them" 400 "$(status_of "$r")"
r=$(http POST /v1/chat/completions "$TOKEN" \
    '{"model":"echo","messages":[{"role":"user","content":"a"},{"role":"user","content":"b"},{"role":"user","content":"c"},{"role":"user","content":"d"}]}')
check_eq "too many messages" 400 "$(status_of "$r")"
check_contains "names the length guardrail" "'short'" "$(body_of "$r")"
check_eq "no blocked request reached the backend" "$before" "$(nreq)"
r=$(http POST /v1/chat/completions "$TOKEN" \
    '{"model":"echo","messages":[{"role":"user","content":"order 4111 1111 1111 1112"}]}')
check_eq "a number that fails Luhn passes" 200 "$(status_of "$r")"

# --- output: buffered and streamed -----------------------------------------
ctl guardrail create -d acme keys-in --kind pii --action log --types email >/dev/null
SECRET=sk-abc123DEF456ghi789JKL0mno
ctl model deploy -d acme --provider fake --name Leak --key leak \
    --model-id "fake-chat;text=the_key_is_${SECRET}_ok" --guard-out keys-out >/dev/null 2>&1
r=$(http POST /v1/chat/completions "$TOKEN" '{"model":"leak","messages":[{"role":"user","content":"key?"}]}')
check_contains "a buffered answer is redacted" '"content":"the key is [REDACTED:SECRET] ok"' "$(body_of "$r")"
# The meter reads the usage the guardrails' walk found: counted, not estimated.
want_usage=$(body_of "$r" | python3 -c 'import json,sys; u=json.load(sys.stdin)["usage"]; print(u["prompt_tokens"], u["completion_tokens"], "false")')
leak_traced() { ctl -o json logs -d acme --model leak | grep -q '"completion_tokens"'; }
t_until 10 leak_traced
check_eq "its trace has the backend's usage" "$want_usage" \
    "$(ctl -o json logs -d acme --model leak | python3 -c 'import json,sys; t=json.load(sys.stdin)[-1]; print(t["prompt_tokens"], t["completion_tokens"], str(t["estimated"]).lower())')"
text="the key is $SECRET ok"
fails=0
for n in $(seq 2 ${#text}); do
	ctl model edit -d acme leak --model-id "fake-chat;text=the_key_is_${SECRET}_ok;chunks=$n" >/dev/null
	body=$(curl -sS -m 20 -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
	    --data-binary '{"model":"leak","stream":true,"messages":[{"role":"user","content":"k"}]}' \
	    "$AGENT_URL/v1/chat/completions")
	got=$(printf '%s\n' "$body" | python3 -c '
import json, sys
out = ""
for line in sys.stdin:
    line = line.strip()
    if line.startswith("data: ") and line != "data: [DONE]":
        for c in json.loads(line[6:]).get("choices", []):
            out += (c.get("delta") or {}).get("content") or ""
print(out)')
	# (The events' "model" is the fake's model id, which holds the text.)
	if [ "$got" != "the key is [REDACTED:SECRET] ok" ] || \
	    ! printf '%s' "$body" | grep -q 'data: \[DONE\]'; then
		fails=$((fails + 1))
		echo "# chunks=$n: $got"
	fi
done
check_eq "streams redact a key split at every offset (2..${#text} chunks)" 0 "$fails"

# A stream's output guardrails follow 16 choices: more are refused before
# the backend is asked, not cut after its first words; 16 are all checked.
n_stream() {	# N: one stream of the leak model with n choices
	http POST /v1/chat/completions "$TOKEN" \
	    '{"model":"leak","stream":true,"n":'"$1"',"messages":[{"role":"user","content":"k"}]}'
}
ctl model edit -d acme leak --model-id "fake-chat;text=the_key_is_${SECRET}_ok;chunks=4" >/dev/null
curl -sS -m 5 -X POST "$BACKEND_URL/_reset" >/dev/null
r=$(n_stream 17)
check_eq "n 17 streamed through output guardrails: 400" 400 "$(status_of "$r")"
check_eq "... invalid_request on param n" "invalid_request n" \
    "$(body_of "$r" | python3 -c 'import json,sys; e=json.load(sys.stdin)["error"]; print(e["code"], e["param"])')"
check_contains "... saying why" "output guardrails, which check at most 16 choices of a stream" "$(body_of "$r")"
check_eq "... the backend was not asked" "[]" \
    "$(curl -sS -m 5 "$BACKEND_URL/_requests" | tr -d ' \n')"
r=$(n_stream 16)
check_eq "n 16 streamed: 200" 200 "$(status_of "$r")"
check_eq "... every choice redacted, none leaked" "16 0" \
    "$(body_of "$r" | python3 -c '
import json, sys
texts = {}
for line in sys.stdin:
    line = line.strip()
    if line.startswith("data: ") and line != "data: [DONE]":
        for c in json.loads(line[6:]).get("choices", []):
            texts[c["index"]] = texts.get(c["index"], "") + ((c.get("delta") or {}).get("content") or "")
print(sum(t == "the key is [REDACTED:SECRET] ok" for t in texts.values()), sum("sk-" in t for t in texts.values()))')"
check_eq "n 17 not streamed: 200, the whole answer is checked" 200 \
    "$(status_of "$(http POST /v1/chat/completions "$TOKEN" '{"model":"leak","n":17,"messages":[{"role":"user","content":"k"}]}')")"

# A tool call's arguments are answer text too, buffered and streamed.
TOOLS='"tools":[{"type":"function","function":{"name":"lookup","parameters":{"type":"object"}}}]'
ctl model deploy -d acme --provider fake --name Tools --key tools \
    --model-id "fake-chat;tool=lookup;args={\"key\":\"$SECRET\"}" \
    --guard-out keys-out --guard-out forbid-out >/dev/null 2>&1
args_of() { python3 -c '
import json, sys
out = {}
for line in sys.stdin:
    line = line.strip()
    if line.startswith("{"):
        for c in json.loads(line).get("choices", []):
            for t in (c.get("message") or {}).get("tool_calls") or []:
                out[t.get("index", 0)] = t["function"]["arguments"]
    elif line.startswith("data: {"):
        for c in json.loads(line[6:]).get("choices", []):
            for t in (c.get("delta") or {}).get("tool_calls") or []:
                a = (t.get("function") or {}).get("arguments") or ""
                out[t["index"]] = out.get(t["index"], "") + a
print(out.get(0, "-"))'; }
r=$(http POST /v1/chat/completions "$TOKEN" '{"model":"tools","messages":[{"role":"user","content":"k"}],'"$TOOLS"'}')
check_eq "a buffered tool call's arguments are redacted" '{"key":"[REDACTED:SECRET]"}' \
    "$(body_of "$r" | args_of)"
args="{\"key\":\"$SECRET\"}"
fails=0
for n in $(seq 2 ${#args}); do
	ctl model edit -d acme tools --model-id "fake-chat;tool=lookup;args=$args;chunks=$n" >/dev/null
	body=$(curl -sS -m 20 -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
	    --data-binary '{"model":"tools","stream":true,"messages":[{"role":"user","content":"k"}],'"$TOOLS"'}' \
	    "$AGENT_URL/v1/chat/completions")
	got=$(printf '%s\n' "$body" | args_of)
	if [ "$got" != '{"key":"[REDACTED:SECRET]"}' ] || \
	    ! printf '%s' "$body" | grep -q '"finish_reason":"tool_calls"'; then
		fails=$((fails + 1))
		echo "# chunks=$n: $got"
	fi
done
check_eq "streamed arguments are redacted at every split (2..${#args} chunks)" 0 "$fails"
ctl model edit -d acme tools --model-id 'fake-chat;tool=lookup;args={"n":"FORBIDDEN-7"}' >/dev/null
r=$(http POST /v1/chat/completions "$TOKEN" '{"model":"tools","messages":[{"role":"user","content":"k"}],'"$TOOLS"'}')
check_contains "a blocked tool call: content_filter" '"finish_reason":"content_filter"' "$(body_of "$r")"
check_contains "with no tool calls" '"tool_calls":[]' "$(body_of "$r")"
ctl model edit -d acme tools --model-id 'fake-chat;tool=lookup;args={"n":"FORBIDDEN-7"};chunks=5' >/dev/null
r=$(http POST /v1/chat/completions "$TOKEN" '{"model":"tools","stream":true,"messages":[{"role":"user","content":"k"}],'"$TOOLS"'}')
check_contains "a blocked streamed tool call ends with content_filter" \
    '"finish_reason":"content_filter"' "$(body_of "$r")"
# (The events' "model" is the fake's model id, which holds the match.)
check_not_contains "and none of the match went out" 'FORBIDDEN' "$(body_of "$r" | args_of)"

# An answer in disguise, streamed in every number of pieces the fake cuts
# it into (it cuts between characters).
ctl guardrail create -d acme pii-out --kind pii --action redact >/dev/null
FOLDED='mail_bob​@example.com_or_ｃａｒｏｌ＠ｅｘａｍｐｌｅ．ｏｒｇ_or_dаvе@ехаmplе.соm_ok'
FOLDED=$(printf "$FOLDED")	# (printf turns \u200b into the character)
ctl model deploy -d acme --provider fake --name Folded --key folded \
    --model-id "fake-chat;text=$FOLDED" --guard-out pii-out >/dev/null 2>&1
r=$(http POST /v1/chat/completions "$TOKEN" '{"model":"folded","messages":[{"role":"user","content":"x"}]}')
check_contains "a buffered answer in disguise is redacted" \
    '"content":"mail [REDACTED:EMAIL] or [REDACTED:EMAIL] or [REDACTED:EMAIL] ok"' \
    "$(body_of "$r")"
nchars=$(printf '%s' "$FOLDED" | python3 -c 'import sys; print(len(sys.stdin.read()))')
fails=0
for n in $(seq 2 "$nchars"); do
	ctl model edit -d acme folded --model-id "fake-chat;text=$FOLDED;chunks=$n" >/dev/null
	body=$(curl -sS -m 20 -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
	    --data-binary '{"model":"folded","stream":true,"messages":[{"role":"user","content":"k"}]}' \
	    "$AGENT_URL/v1/chat/completions")
	got=$(printf '%s\n' "$body" | content_of)
	if [ "$got" != "mail [REDACTED:EMAIL] or [REDACTED:EMAIL] or [REDACTED:EMAIL] ok" ]; then
		fails=$((fails + 1))
		echo "# chunks=$n: $got"
	fi
done
check_eq "streams redact answers in disguise at every split (2..$nchars chunks)" 0 "$fails"

# The model wrote its reasoning (vLLM's reasoning_content, Ollama's and
# OpenRouter's reasoning) and its refusal too: the output guardrails read
# them, buffered and streamed.
i=0
for key in reasoning_content reasoning refusal; do
	i=$((i + 1))
	ctl model deploy -d acme --provider fake --name "Think $i" --key "think$i" \
	    --model-id "fake-chat;think=so_bob@example.com_it_is;think_key=$key" \
	    --guard-out pii-out >/dev/null 2>&1
	r=$(http POST /v1/chat/completions "$TOKEN" "{\"model\":\"think$i\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}")
	check_eq "$key: redacted in a buffered answer" \
	    "so [REDACTED:EMAIL] it is" "$(body_of "$r" | content_of "$key")"
	body=$(curl -sS -m 20 -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
	    --data-binary "{\"model\":\"think$i\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"k\"}]}" \
	    "$AGENT_URL/v1/chat/completions")
	check_eq "$key: redacted in a stream" "so [REDACTED:EMAIL] it is" \
	    "$(printf '%s\n' "$body" | content_of "$key")"
	# (The events' "model" is the fake's model id, which holds it.)
	check_not_contains "$key: none of the address went out" 'bob@' \
	    "$(printf '%s\n' "$body" | grep '^data: {' | sed 's/"model":"[^"]*"//')"
done
# What output guardrails cannot read is refused: log probabilities spell
# the answer out token by token, the deprecated functions answer in
# function_call, audio is no text.
before=$(nreq)
for ask in '"logprobs":true' '"logprobs":true,"top_logprobs":5' \
    '"top_logprobs":3' '"logprobs":"true"' \
    '"functions":[{"name":"f","parameters":{"type":"object"}}]' \
    '"audio":{"voice":"alloy","format":"wav"}' \
    '"modalities":["text","audio"]' '"modalities":["\u0061udio"]'; do
	r=$(http POST /v1/chat/completions "$TOKEN" "{\"model\":\"think1\",$ask,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}")
	check_eq "output guardrails refuse $ask: 400" 400 "$(status_of "$r")"
	check_contains "and say why" 'has output guardrails' "$(body_of "$r")"
done
r=$(http POST /v1/chat/completions "$TOKEN" '{"model":"think1","modalities":["text"],"messages":[{"role":"user","content":"x"}]}')
check_eq "modalities text: 200" 200 "$(status_of "$r")"
r=$(http POST /v1/completions "$TOKEN" '{"model":"think1","prompt":"x","logprobs":2}')
check_eq "completions' logprobs count: 400" 400 "$(status_of "$r")"
check_contains "and say why" 'log probabilities' "$(body_of "$r")"
check_eq "none reached the backend" "$before" "$(nreq)"
r=$(http POST /v1/chat/completions "$TOKEN" '{"model":"think1","logprobs":false,"messages":[{"role":"user","content":"x"}]}')
check_eq "logprobs false: 200" 200 "$(status_of "$r")"
r=$(http POST /v1/chat/completions "$TOKEN" '{"model":"plain","logprobs":true,"messages":[{"role":"user","content":"x"}]}')
check_eq "a model without output guardrails: 200" 200 "$(status_of "$r")"
check_contains "with its log probabilities" '"logprobs":{"content":[' "$(body_of "$r")"
# Ollama's own message.thinking, from an Ollama backend to an Ollama client.
ctl provider add -d acme local --driver ollama --url "$BACKEND_URL" >/dev/null
ctl model deploy -d acme --provider local --name "Think O" --key thinko \
    --model-id "fake-chat;think=so_bob@example.com_it_is" --guard-out pii-out \
    --force >/dev/null 2>&1
thinking_of() {	# all of an Ollama answer's message.thinking
	python3 -c '
import json, sys
print("".join((json.loads(l).get("message") or {}).get("thinking") or ""
    for l in sys.stdin if l.strip()))'
}
for stream in false true; do
	r=$(http POST /proxy/acme/api/chat "$TOKEN" "{\"model\":\"thinko\",\"stream\":$stream,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}")
	check_eq "ollama thinking (stream $stream): 200" 200 "$(status_of "$r")"
	check_eq "ollama thinking (stream $stream): redacted" \
	    "so [REDACTED:EMAIL] it is" "$(body_of "$r" | thinking_of)"
	check_not_contains "ollama thinking (stream $stream): none of it out" \
	    'bob@' "$(body_of "$r" | sed 's/"model":"[^"]*"//')"
done
# An Ollama client of an OpenAI-compatible backend: the reasoning, read by
# the guardrails, is its thinking.
for stream in false true; do
	r=$(http POST /proxy/acme/api/chat "$TOKEN" "{\"model\":\"think2\",\"stream\":$stream,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}")
	check_eq "ollama client, openai backend (stream $stream): thinking, redacted" \
	    "so [REDACTED:EMAIL] it is" "$(body_of "$r" | thinking_of)"
done
# An Anthropic client that asks for thinking gets it, read by the
# guardrails first; one that does not, only the text.
r=$(http POST /proxy/acme/v1/messages "$TOKEN" '{"model":"think1","max_tokens":2000,"thinking":{"type":"enabled","budget_tokens":1024},"messages":[{"role":"user","content":"x"}]}')
check_eq "anthropic thinking: redacted" "thinking:so [REDACTED:EMAIL] it is" \
    "$(body_of "$r" | python3 -c 'import json,sys; b=json.load(sys.stdin)["content"][0]; print(b["type"] + ":" + b.get("thinking", ""))')"
r=$(http POST /proxy/acme/v1/messages "$TOKEN" '{"model":"think1","max_tokens":20,"messages":[{"role":"user","content":"x"}]}')
check_eq "anthropic without thinking: text only" "text" \
    "$(body_of "$r" | python3 -c 'import json,sys; print(",".join(b["type"] for b in json.load(sys.stdin)["content"]))')"
# Generate's context is the conversation in token ids, the answer's too.
ctl model deploy -d acme --provider local --name "Plain O" --key plaino \
    --model-id fake-chat --force >/dev/null 2>&1
context_of() {	# the last line's context
	python3 -c '
import json, sys
print([json.loads(l) for l in sys.stdin if l.strip()][-1].get("context"))'
}
for stream in false true; do
	r=$(http POST /proxy/acme/api/generate "$TOKEN" "{\"model\":\"thinko\",\"stream\":$stream,\"prompt\":\"x\"}")
	check_eq "generate (stream $stream): no context past output guardrails" \
	    "[]" "$(body_of "$r" | context_of)"
	r=$(http POST /proxy/acme/api/generate "$TOKEN" "{\"model\":\"plaino\",\"stream\":$stream,\"prompt\":\"x\"}")
	check_eq "generate (stream $stream): a model without them keeps it" \
	    "[1, 2, 3]" "$(body_of "$r" | context_of)"
done

r=$(http POST /v1/chat/completions "$TOKEN" '{"model":"done","stream":true,"messages":[{"role":"user","content":"x"}]}')
check_eq "a blocked stream is still a 200 stream" 200 "$(status_of "$r")"
check_contains "it ends with content_filter" '"finish_reason":"content_filter"' "$(body_of "$r")"
check_contains "then [DONE]" 'data: [DONE]' "$(body_of "$r")"
check_eq "nothing of the match went out" "hello " "$(body_of "$r" | content_of)"
r=$(http POST /v1/chat/completions "$TOKEN" '{"model":"cut","stream":true,"messages":[{"role":"user","content":"x"}]}')
check_contains "a match held when the backend broke off: content_filter" \
    '"finish_reason":"content_filter"' "$(body_of "$r")"
check_eq "nothing of it went out" "hello " "$(body_of "$r" | content_of)"
check_not_contains "and nothing after [DONE]" '"error"' "$(body_of "$r")"
cut_traced() { ctl -o json logs -d acme --model cut | grep -q '"rejected_step"'; }
t_until 10 cut_traced
check_eq "its trace says the output guardrail ended it" "200 output_guardrail" \
    "$(ctl -o json logs -d acme --model cut | python3 -c 'import json,sys; t=json.load(sys.stdin)[-1]; print(t["status"], t["rejected_step"])')"
r=$(http POST /v1/chat/completions "$TOKEN" '{"model":"done","messages":[{"role":"user","content":"x"}]}')
check_contains "a blocked buffered answer: content_filter" '"finish_reason":"content_filter"' "$(body_of "$r")"
check_eq "and no text" "" "$(body_of "$r" | content_of)"
r=$(http POST /v1/chat/completions "$TOKEN" \
    '{"model":"echo","stream":true,"messages":[{"role":"user","content":"write to ann@example.org"}]}')
check_eq "the echo was redacted going in" 'write to [REDACTED:EMAIL]' "$(body_of "$r" | content_of)"

# Output filtering keeps the relay incremental: prose is held back a word
# at most, so text arrives while the backend is still sending.
ctl model deploy -d acme --provider fake --name Slow --key slow --guard-out pii \
    --model-id 'fake-chat;text=one_two_three_four_five_six;chunks=6;chunk_delay_ms=300' \
    >/dev/null 2>&1
out=$(python3 "$CUBE_ROOT/tests/tools/sse-timing.py" "$AGENT_URL/v1/chat/completions" \
    "$TOKEN" '{"model":"slow","stream":true,"messages":[{"role":"user","content":"x"}]}')
first=$(echo "$out" | grep '"content":"[^"]' | head -n 1 | cut -d' ' -f1)
last=$(echo "$out" | tail -n 1 | cut -d' ' -f1)
check "guarded text flows before the stream ends ($first s of $last s)" \
    python3 -c "import sys; sys.exit(0 if float('$first') + 0.9 < float('$last') else 1)"
check_eq "and all of it arrives" "one two three four five six" \
    "$(echo "$out" | sed -n 's/^[0-9.]* //p' | grep '^{' | content_of)"

# --- the agent logs hits at debug level, never the text ---------------------
check_contains "hits are logged at debug level for tracing" \
    "guardrail keys-out on answer of leak: secret x1, redact" "$(cat "$AGENT_LOG")"
check_contains "input hits too" "guardrail cards on prompt of echo: card x1, block" \
    "$(cat "$AGENT_LOG")"
check_not_contains "never the matched text" "$SECRET" "$(cat "$AGENT_LOG")"
check_not_contains "nor the card" "$card" "$(cat "$AGENT_LOG")"

# --- traces carry the hits (key, type, action, where, count), never text ----
hits_traced() {	# the answer's redaction has reached the traces
	ctl -o json logs -d acme -n 500 | grep -q '"on": *"answer"'
}
t_until 10 hits_traced
traces=$(ctl -o json logs -d acme -n 500)
check_contains "a trace names an answer's redaction" \
    '{"key": "keys-out", "type": "secret", "action": "redact", "on": "answer", "count": 1}' \
    "$(echo "$traces" | python3 -c 'import json,sys; [print(json.dumps(h)) for t in json.load(sys.stdin) for h in t["guardrails"]]')"
check_contains "a blocked prompt's trace names the guardrail and step" \
    'input_guardrail cards block' \
    "$(echo "$traces" | python3 -c 'import json,sys; [print(t["rejected_step"], h["key"], h["action"]) for t in json.load(sys.stdin) for h in t["guardrails"]]')"
# (the fake model's id itself carries the secret it will answer with; the
# attempts name the model id too)
check_not_contains "traces never hold the matched secret" "$SECRET" \
    "$(echo "$traces" | python3 -c 'import json,sys; t=json.load(sys.stdin); [x.pop("model_id") for x in t]; [a.pop("model_id") for x in t for a in x["attempts"]]; print(json.dumps(t))')"
check_not_contains "nor the card" "$card" "$traces"

# --- the audit log has guardrail changes, field by field --------------------
ctl guardrail edit -d acme plans --words 'secret plan,project y' >/dev/null
out=$(ctl -o json audit -d acme -n 500)
check_contains "guardrail create is audited" '"target": "guardrail/pii"' "$(echo "$out" | python3 -m json.tool)"
check_eq "guardrail edit is audited with its change" 'words' \
    "$(echo "$out" | python3 -c 'import json,sys; e=[a for a in json.load(sys.stdin) if a["method"]=="guardrail.edit"][-1]; print(e["changes"][0]["field"])')"

# --- unbinding, then deleting ----------------------------------------------
ctl model edit -d acme embed --no-guard-in >/dev/null
check_eq "--no-guard-in clears the list" '[]' "$(ctl -o json model show -d acme embed | json guardrails.input)"
ctl model edit -d acme echo --no-guard-in --no-guard-out >/dev/null
ctl guardrail delete -d acme cards >/dev/null
check "an unbound guardrail is deleted" [ $? -eq 0 ]
r=$(http POST /v1/chat/completions "$TOKEN" \
    "{\"model\":\"echo\",\"messages\":[{\"role\":\"user\",\"content\":\"card $card\"}]}")
check_eq "and no longer applies" 200 "$(status_of "$r")"

t_done
