#!/usr/bin/env bash
# Signed receipts end to end: the agent on its simulated TEE in front of
# the fake backend signs every answer (a Cube-Receipt header, a stream's
# last line) and every error after routing, and traces it (an abandoned
# stream's too); refusals before routing get an id but no receipt.
# cubectl receipt verify checks each with the key from cubectl attest,
# names the body that was changed, refuses another agent's key and
# evidence it cannot verify. The OpenAI SDK, when
# installed (tests/sdk), still reads streams with the receipt line.
. "$(dirname "$0")/../lib.sh"

start_backend
start_agent --tee sim
setup_domain acme chat 'fake-chat;chunks=3'
ctl model deploy -d acme --provider fake --name Embed --key embed \
    --category embedding --model-id fake-embed >/dev/null
ctl provider add -d acme local --driver ollama --url "$BACKEND_URL" >/dev/null
ctl model deploy -d acme --provider local --name Ochat --key ochat \
    --model-id 'fake-chat;chunks=3' --force >/dev/null

# The agent's identity key, from evidence that verifies.
ctl -o json attest >"$T_DIR/evidence.json"
ctl attest --verify --allow-simulated >/dev/null 2>&1
check_eq "the evidence verifies (simulated)" 0 "$?"
KEY=$(json ed25519 <"$T_DIR/evidence.json" | base64 -d | od -An -v -tx1 | tr -d ' \n')
check_eq "the identity key is 32 bytes" 64 "${#KEY}"

# cubectl receipt verify needs no agent: no -s here.
verify() {
	"$CUBE_BIN/cubectl" receipt verify "$@" >"$T_DIR/out" 2>"$T_DIR/err"
	RC=$?
}

# post NAME PATH BODY: the request body in NAME.req, the head in NAME.head,
# the body as received in NAME.resp.
post() {
	printf '%s' "$3" >"$T_DIR/$1.req"
	curl -sS -m 20 -H "Authorization: Bearer $TOKEN" \
	    -H 'Content-Type: application/json' --data-binary @"$T_DIR/$1.req" \
	    -D "$T_DIR/$1.head" -o "$T_DIR/$1.resp" "$AGENT_URL$2"
}

# verify_ok NAME WHAT: the receipt (in the head or at the stream's end).
verify_ok() {
	local src=$T_DIR/$1.head
	grep -qi '^cube-receipt:' "$src" || src=$T_DIR/$1.resp
	verify --receipt "$src" --request "$T_DIR/$1.req" \
	    --response "$T_DIR/$1.resp" --key "$KEY"
	check_eq "$2: the receipt verifies" 0 "$RC"
}

# --- a whole chat answer: a Cube-Receipt header --------------------------------
post chat /proxy/acme/v1/chat/completions \
    '{"model":"chat","messages":[{"role":"user","content":"hi"}]}'
check "chat: a Cube-Receipt header" grep -qi '^cube-receipt: v1\.' "$T_DIR/chat.head"
verify_ok chat "chat"
check_contains "chat: every check is shown" "response body" "$(cat "$T_DIR/out")"
verify --receipt "$T_DIR/chat.head" --request "$T_DIR/chat.req" \
    --response "$T_DIR/chat.resp" --key "$KEY" -o json
rid=$(json id <"$T_DIR/out")
hid=$(sed -n 's/^x-request-id: *\([0-9a-f]*\).*/\1/Ip' "$T_DIR/chat.head" | tr -d '\r')
check_eq "chat: x-request-id is the receipt's id" "$hid" "$rid"
check_eq "chat: the receipt names the model" chat "$(json model <"$T_DIR/out")"
check_eq "chat: and the domain" "$DOMAIN_ID" "$(json domain <"$T_DIR/out")"
# The string itself works too, and the key from the saved evidence.
rstr=$(sed -n 's/^cube-receipt: *\(v1[^[:space:]]*\).*/\1/Ip' "$T_DIR/chat.head")
verify --receipt "$rstr" --request "$T_DIR/chat.req" \
    --response "$T_DIR/chat.resp" --evidence "$T_DIR/evidence.json" \
    --allow-simulated
check_eq "chat: verifies with the key from verified evidence" 0 "$RC"
verify --receipt "$rstr" --request "$T_DIR/chat.req" \
    --response "$T_DIR/chat.resp" --evidence "$T_DIR/evidence.json"
check_eq "evidence of a simulated TEE without consent: fails" 1 "$RC"
check_contains "  and says the evidence does not verify" "does not verify" \
    "$(cat "$T_DIR/err")"

# --- one flipped byte, in either body, fails naming that body ------------------
python3 - "$T_DIR/chat.resp" "$T_DIR/flip.resp" <<'EOF'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[len(b) // 2] ^= 1
open(sys.argv[2], "wb").write(b)
EOF
verify --receipt "$rstr" --request "$T_DIR/chat.req" \
    --response "$T_DIR/flip.resp" --key "$KEY"
check_eq "a flipped byte in the response: fails" 1 "$RC"
check_contains "  naming the response body" "response body" "$(cat "$T_DIR/err")"
printf '%s' '{"model":"chat","messages":[{"role":"user","content":"hI"}]}' \
    >"$T_DIR/flip.req"
verify --receipt "$rstr" --request "$T_DIR/flip.req" \
    --response "$T_DIR/chat.resp" --key "$KEY"
check_eq "a flipped byte in the request: fails" 1 "$RC"
check_contains "  naming the request body" "request body" "$(cat "$T_DIR/err")"
# A changed receipt: its signature no longer holds.
bad=$(printf '%s' "$rstr" | python3 -c 'import sys
s = sys.stdin.read(); i = 20
print(s[:i] + ("A" if s[i] != "A" else "B") + s[i+1:])')
verify --receipt "$bad" --request "$T_DIR/chat.req" \
    --response "$T_DIR/chat.resp" --key "$KEY"
check_eq "an altered receipt: fails" 1 "$RC"
verify --receipt "v1.nonsense" --request "$T_DIR/chat.req" \
    --response "$T_DIR/chat.resp" --key "$KEY"
check_eq "not a receipt: fails" 1 "$RC"
verify --receipt "$rstr" --request "$T_DIR/chat.req" \
    --response "$T_DIR/chat.resp"
check_eq "no key: a usage error" 2 "$RC"
verify --receipt "$rstr" --request "$T_DIR/nowhere" \
    --response "$T_DIR/chat.resp" --key "$KEY"
check_eq "a request file that is not there: a usage error" 2 "$RC"

# --- another agent's key --------------------------------------------------------
OTHER_SOCK="$T_DIR/other/agent.sock"
"$CUBE_BIN/cube-agent" --listen 127.0.0.1:0 --data "$T_DIR/other-data" \
    --admin-socket "$OTHER_SOCK" --tee sim >"$T_DIR/other.log" 2>&1 &
T_PIDS+=($!)
t_wait_file "$OTHER_SOCK" 20 || not_ok "the other agent starts" "$(cat "$T_DIR/other.log")"
OKEY=$("$CUBE_BIN/cubectl" -s "$OTHER_SOCK" -o json attest | json ed25519 |
    base64 -d | od -An -v -tx1 | tr -d ' \n')
check "the other agent has another key" test -n "$OKEY" -a "$OKEY" != "$KEY"
verify --receipt "$rstr" --request "$T_DIR/chat.req" \
    --response "$T_DIR/chat.resp" --key "$OKEY"
check_eq "another agent's key: fails" 1 "$RC"
check_contains "  naming the signature" "signature" "$(cat "$T_DIR/err")"

# --- a stream: the receipt is a comment line right before [DONE] ------------
post sse /proxy/acme/v1/chat/completions \
    '{"model":"chat","stream":true,"messages":[{"role":"user","content":"hi"}]}'
check "sse: no receipt header (the body is not known yet)" \
    bash -c "! grep -qi '^cube-receipt:' '$T_DIR/sse.head'"
check_eq "sse: [DONE] is still the last event" "data: [DONE]" \
    "$(tail -n 2 "$T_DIR/sse.resp" | head -n 1)"
check_contains "sse: the receipt comment right before it" ": cube-receipt v1." \
    "$(tail -n 4 "$T_DIR/sse.resp" | head -n 1)"
check_eq "sse: one receipt" 1 "$(grep -c '^: cube-receipt ' "$T_DIR/sse.resp")"
verify_ok sse "sse"
cp "$T_DIR/sse.resp" "$T_DIR/sse-flip.resp"
python3 - "$T_DIR/sse-flip.resp" <<'EOF'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read())
b[10] ^= 1
open(p, "wb").write(b)
EOF
verify --receipt "$T_DIR/sse.resp" --request "$T_DIR/sse.req" \
    --response "$T_DIR/sse-flip.resp" --key "$KEY"
check_eq "sse: a flipped byte in the stream fails" 1 "$RC"
check_contains "  naming the response body" "response body" "$(cat "$T_DIR/err")"
sse_receipt=$(sed -n 's/^: cube-receipt \(v1[^[:space:]]*\)$/\1/p' "$T_DIR/sse.resp")
traced() {
	ctl -o json logs -d acme -n 50 | python3 -c 'import json,sys
print("yes" if any(t.get("receipt") == sys.argv[1] for t in json.load(sys.stdin)) else "no")' "$1" | grep -q yes
}
check "sse: the trace keeps the receipt (cubectl logs)" t_until 10 traced "$sse_receipt"
check "chat: the trace keeps the receipt" t_until 10 traced "$rstr"

# --- Ollama: a member of a stream's done line, a whole answer's header -------
post ollama /proxy/acme/api/chat \
    '{"model":"ochat","messages":[{"role":"user","content":"hi"}]}'
check_contains "ollama stream: the done line carries the receipt" \
    '"cube_receipt":"v1.' "$(tail -n 1 "$T_DIR/ollama.resp")"
check_eq "ollama stream: still JSON, still done, nothing after it" "true 4" \
    "$(python3 -c 'import json,sys
ls = open(sys.argv[1]).read().splitlines()
print(str(json.loads(ls[-1])["done"]).lower(), len(ls))' "$T_DIR/ollama.resp")"
verify_ok ollama "ollama stream"
post ogen /proxy/acme/api/generate '{"model":"ochat","prompt":"hi","stream":false}'
check "ollama generate: a Cube-Receipt header" grep -qi '^cube-receipt: v1\.' "$T_DIR/ogen.head"
verify_ok ogen "ollama generate"

# --- translated routes: the receipt signs what the client got --------------
# Anthropic's and Responses' streams end with the comment line; a whole
# answer has the header; an Ollama stream translated from an OpenAI
# backend has the member in its done line.
post msse /proxy/acme/v1/messages \
    '{"model":"chat","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"hi"}]}'
check_contains "messages stream: the receipt is the last event" ": cube-receipt v1." \
    "$(tail -n 2 "$T_DIR/msse.resp" | head -n 1)"
check_contains "messages stream: message_stop before it" "event: message_stop" \
    "$(cat "$T_DIR/msse.resp")"
verify_ok msse "messages stream"
post mwhole /proxy/acme/v1/messages \
    '{"model":"chat","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}'
check "messages: a Cube-Receipt header" grep -qi '^cube-receipt: v1\.' "$T_DIR/mwhole.head"
verify_ok mwhole "messages"
post rsse /proxy/acme/v1/responses '{"model":"chat","stream":true,"input":"hi"}'
check_contains "responses stream: response.completed, then the receipt" \
    "response.completed" "$(cat "$T_DIR/rsse.resp")"
verify_ok rsse "responses stream"
post otr /proxy/acme/api/chat '{"model":"chat","messages":[{"role":"user","content":"hi"}]}'
check_contains "translated ollama stream: the done line carries the receipt" \
    '"cube_receipt":"v1.' "$(tail -n 1 "$T_DIR/otr.resp")"
verify_ok otr "translated ollama stream"

# --- embeddings -----------------------------------------------------------------
post emb /proxy/acme/v1/embeddings '{"model":"embed","input":"hello"}'
check "embeddings: a Cube-Receipt header" grep -qi '^cube-receipt: v1\.' "$T_DIR/emb.head"
verify_ok emb "embeddings"
verify --receipt "$T_DIR/emb.head" --request "$T_DIR/emb.req" \
    --response "$T_DIR/chat.resp" --key "$KEY"
check_eq "embeddings: another answer's body fails" 1 "$RC"

# --- errors after routing carry a receipt over the error body ------------------
ctl guardrail create -d acme nosecret --kind keywords --action block \
    --words classified >/dev/null
ctl model deploy -d acme --provider fake --name Guarded --key guarded \
    --model-id fake-chat --guard-in nosecret >/dev/null
ctl model deploy -d acme --provider fake --name Broken --key broken \
    --model-id 'fake-chat;status=500' >/dev/null
ctl model deploy -d acme --provider fake --name Cut --key cut \
    --model-id 'fake-chat;chunks=6;reset_after=2' >/dev/null
ctl model deploy -d acme --provider fake --name Long --key long \
    --model-id 'fake-chat;chunks=40;chunk_delay_ms=200' >/dev/null
ctl model deploy -d acme --provider local --name Obroken --key obroken \
    --model-id 'fake-chat;status=500' --force >/dev/null
ONE=$(ctl -o json token create -d acme --name one --rpm 1 | json token)

# err_ok NAME PATH BODY STATUS CODE: an error reply, signed, verifiable.
err_ok() {
	post "$1" "$2" "$3"
	check_eq "$1: HTTP $4" "$4" "$(sed -n '1s/^HTTP\/1.1 \([0-9]*\).*/\1/p' "$T_DIR/$1.head")"
	check_contains "$1: the error body says $5" "$5" "$(cat "$T_DIR/$1.resp")"
	check "$1: a Cube-Receipt header" grep -qi '^cube-receipt: v1\.' "$T_DIR/$1.head"
	verify_ok "$1" "$1"
}
err_ok guard /proxy/acme/v1/chat/completions \
    '{"model":"guarded","messages":[{"role":"user","content":"classified"}]}' \
    400 guardrail_violation
err_ok broken /proxy/acme/v1/chat/completions \
    '{"model":"broken","messages":[{"role":"user","content":"hi"}]}' \
    502 upstream_error
err_ok obroken /proxy/acme/api/chat \
    '{"model":"obroken","stream":false,"messages":[{"role":"user","content":"hi"}]}' \
    502 error
TOKEN_SAVED=$TOKEN TOKEN=$ONE
post limit1 /proxy/acme/v1/chat/completions "$(cat "$T_DIR/chat.req")"
err_ok limit /proxy/acme/v1/chat/completions "$(cat "$T_DIR/chat.req")" \
    429 rate_limit_exceeded
TOKEN=$TOKEN_SAVED
verify --receipt "$T_DIR/guard.head" --request "$T_DIR/guard.req" \
    --response "$T_DIR/broken.resp" --key "$KEY"
check_eq "an error receipt with another error's body: fails" 1 "$RC"
cp "$T_DIR/broken.resp" "$T_DIR/broken-flip.resp"
python3 - "$T_DIR/broken-flip.resp" <<'EOF2'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 1
open(p, "wb").write(b)
EOF2
verify --receipt "$T_DIR/broken.head" --request "$T_DIR/broken.req" \
    --response "$T_DIR/broken-flip.resp" --key "$KEY"
check_eq "an error reply with a flipped byte: fails" 1 "$RC"
check_contains "  naming the response body" "response body" "$(cat "$T_DIR/err")"
verify --receipt "$T_DIR/guard.head" --request "$T_DIR/guard.req" \
    --response "$T_DIR/guard.resp" --key "$KEY" -o json
check_eq "the error's receipt id is its x-request-id" \
    "$(sed -n 's/^x-request-id: *\([0-9a-f]*\).*/\1/Ip' "$T_DIR/guard.head" | tr -d '\r')" \
    "$(json id <"$T_DIR/out")"

# --- refusals before routing: an id, never a receipt ---------------------------
no_receipt() {	# NAME STATUS
	check_eq "$1: HTTP $2" "$2" "$(sed -n '1s/^HTTP\/1.1 \([0-9]*\).*/\1/p' "$T_DIR/$1.head")"
	check "$1: no receipt (nothing was routed)" \
	    bash -c "! grep -qi '^cube-receipt:' '$T_DIR/$1.head'"
	check "$1: an x-request-id all the same" \
	    grep -Eqi '^x-request-id: [0-9a-f]{32}'$'\r''?$' "$T_DIR/$1.head"
}
post unknown /proxy/acme/v1/chat/completions '{"model":"nope","messages":[]}'
no_receipt unknown 404
post malformed /proxy/acme/v1/chat/completions '{"model":'
no_receipt malformed 400
TOKEN_SAVED=$TOKEN TOKEN=cube_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
post unauth /proxy/acme/v1/chat/completions "$(cat "$T_DIR/chat.req")"
TOKEN=$TOKEN_SAVED
no_receipt unauth 401

# --- a stream the backend cut: the receipt still ends it -----------------------
post cut /proxy/acme/v1/chat/completions \
    '{"model":"cut","stream":true,"messages":[{"role":"user","content":"hi"}]}'
check_contains "cut stream: ends with an error event" upstream_error "$(cat "$T_DIR/cut.resp")"
verify_ok cut "cut stream"

# --- a stream the client abandoned: its receipt is in the trace ----------------
# Read three content events, then hang up; keep the body exactly as received.
printf '%s' '{"model":"long","stream":true,"messages":[{"role":"user","content":"hi"}]}' \
    >"$T_DIR/gone.req"
python3 - "$AGENT_URL" "$TOKEN" "$T_DIR/gone.req" "$T_DIR/gone.resp" \
    "$T_DIR/gone.id" <<'EOF2'
import socket, sys, time
url, token, reqf, respf, idf = sys.argv[1:]
host, port = url[len("http://"):].split(":")
body = open(reqf, "rb").read()
s = socket.create_connection((host, int(port)))
s.sendall(("POST /proxy/acme/v1/chat/completions HTTP/1.1\r\nHost: a\r\n"
           "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
           "Content-Length: %d\r\n\r\n" % (token, len(body))).encode() + body)
data = b""
def parse(data):
    """The head, the dechunked body so far, and whether it ends a chunk."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None, b"", False
    head, rest, out = data[:end], data[end + 4:], b""
    while True:
        nl = rest.find(b"\r\n")
        if nl < 0:
            return head, out, rest == b""
        n = int(rest[:nl], 16)
        if len(rest) < nl + 2 + n + 2:
            return head, out, False
        out += rest[nl + 2:nl + 2 + n]
        rest = rest[nl + 2 + n + 2:]
deadline = time.monotonic() + 20
while time.monotonic() < deadline:
    data += s.recv(65536)
    head, out, whole = parse(data)
    if out.count(b'"content":"') >= 4 and whole:
        break
s.close()
open(respf, "wb").write(out)
for l in head.decode("latin-1").split("\r\n"):
    if l.lower().startswith("x-request-id:"):
        open(idf, "w").write(l.split(":", 1)[1].strip())
EOF2
gone_id=$(cat "$T_DIR/gone.id" 2>/dev/null)
check "abandoned stream: its head had an x-request-id" test -n "$gone_id"
gone_trace() {	# found with logs --request-id, as an operator would
	ctl -o json logs -d acme --request-id "$1" | python3 -c 'import json,sys
t = json.load(sys.stdin)
if len(t) != 1 or t[0].get("request_id") != sys.argv[1] or not t[0]["receipt"]:
    sys.exit(1)
print(t[0]["receipt"], str(t[0]["cancelled"]).lower())' "$1" >"$T_DIR/gone.trace"
}
check "abandoned stream: its trace (by request_id) has a receipt" \
    t_until 10 gone_trace "$gone_id"
check_eq "  and says the client hung up" true "$(cut -d' ' -f2 "$T_DIR/gone.trace")"
check_eq "logs --request-id: an id no request had finds nothing" "[]" \
    "$(ctl -o json logs --request-id "$(printf '0%.0s' {1..32})" | tr -d ' \n')"
ctl -o json domain create elsewhere >/dev/null
check_eq "  nor does another domain's filter" "[]" \
    "$(ctl -o json logs -d elsewhere --request-id "$gone_id" | tr -d ' \n')"
ctl logs --request-id "${gone_id^^}" >/dev/null 2>&1
check_eq "  an id in capitals is a usage error" 2 "$?"
ctl logs -f --request-id "$gone_id" >/dev/null 2>&1
check_eq "  and so is -f with it" 2 "$?"
verify --receipt "$(cut -d' ' -f1 "$T_DIR/gone.trace")" \
    --request "$T_DIR/gone.req" --response "$T_DIR/gone.resp" --key "$KEY"
check_eq "  which verifies over the bytes the client got" 0 "$RC"
check "  (the client got part of the answer only)" \
    bash -c "! grep -q 'DONE' '$T_DIR/gone.resp'"

# --- the OpenAI SDK reads a stream that ends with the receipt -------------------
if sdk_install; then
	out=$(cd "$SDK_DIR" && AGENT_URL=$AGENT_URL TOKEN=$TOKEN timeout 30 node \
	    --input-type=module -e '
import OpenAI from "openai";
const c = new OpenAI({ baseURL: process.env.AGENT_URL + "/proxy/acme/v1",
    apiKey: process.env.TOKEN });
const s = await c.chat.completions.create({ model: "chat", stream: true,
    messages: [{ role: "user", content: "hi" }] });
let text = "", n = 0;
for await (const ch of s) { n++; text += ch.choices[0]?.delta?.content ?? ""; }
console.log(n > 0 && text.length > 0 ? "parsed" : "empty");' 2>&1)
	check_eq "the OpenAI SDK parses a stream with the receipt line" parsed "$out"
else
	echo "# SKIP receipt: the OpenAI SDK check did NOT run: $SDK_WHY"
fi

# --- batches: replies that finish together share one signature -----------------
# burst N PREFIX: N requests at once (every third a stream), each kept as
# PREFIX-i.req/.head/.resp; prints how many receipts were v1 and v2.
burst() {
	python3 - "$AGENT_URL" "$TOKEN" "$1" "$T_DIR/$2" <<'EOF2'
import http.client, sys, threading
url, token, n, prefix = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
host, port = url[len("http://"):].split(":")
go = threading.Barrier(n)
def one(i):
    body = ('{"model":"chat","stream":%s,"messages":[{"role":"user",'
            '"content":"burst %d"}]}' % ("true" if i % 3 == 0 else "false", i))
    open("%s-%d.req" % (prefix, i), "w").write(body)
    c = http.client.HTTPConnection(host, int(port), timeout=20)
    c.connect()
    go.wait()
    c.request("POST", "/proxy/acme/v1/chat/completions", body,
              {"Authorization": "Bearer " + token,
               "Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    open("%s-%d.head" % (prefix, i), "w").write(
        "".join("%s: %s\n" % (k, v) for k, v in r.getheaders()))
    open("%s-%d.resp" % (prefix, i), "wb").write(data)
ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
for t in ts: t.start()
for t in ts: t.join()
EOF2
	local i v1=0 v2=0 f
	for ((i = 0; i < $1; i++)); do
		f=$T_DIR/$2-$i
		if grep -qi '^cube-receipt: v2\.' "$f.head" ||
		    grep -q '^: cube-receipt v2\.' "$f.resp"; then
			v2=$((v2 + 1))
		else
			v1=$((v1 + 1))
		fi
	done
	echo "$v1 $v2"
}
# burst_until_batch PREFIX: bursts of 24 until one has v2 receipts, at
# most 20 (whether replies finish together is up to the scheduler);
# sets round (the last burst's number) and counts (its "v1 v2").
burst_until_batch() {
	round=0
	while ((round < 20)); do
		counts=$(burst 24 "$1$round")
		[ "${counts#* }" -gt 0 ] && return
		round=$((round + 1))
	done
}
burst_until_batch b
check "a burst of 24 requests: some replies share a signature (v2)" \
    test "${counts#* }" -gt 0
bad=0
for ((i = 0; i < 24; i++)); do
	src=$T_DIR/b$round-$i.head
	grep -qi '^cube-receipt:' "$src" || src=$T_DIR/b$round-$i.resp
	verify --receipt "$src" --request "$T_DIR/b$round-$i.req" \
	    --response "$T_DIR/b$round-$i.resp" --key "$KEY"
	[ "$RC" = 0 ] || bad=$((bad + 1))
done
check_eq "every receipt of the burst verifies, v1 or v2" 0 "$bad"
# The first v2 of the burst, and another of the same signature.
first=
for ((i = 0; i < 24; i++)); do
	f=$T_DIR/b$round-$i
	r=$(sed -n 's/^cube-receipt: \(v2\.[^[:space:]]*\).*/\1/Ip' "$f.head")
	[ -n "$r" ] || r=$(sed -n 's/^: cube-receipt \(v2\.[^[:space:]]*\).*/\1/p' "$f.resp")
	[ -n "$r" ] || continue
	if [ -z "$first" ]; then
		first=$i FIRST_RC=$r
	elif [ "$(cut -d. -f3 <<<"$r")" = "$(cut -d. -f3 <<<"$FIRST_RC")" ]; then
		second=$i SECOND_RC=$r
		break
	fi
done
check "  two of them under one signature" test -n "${second:-}"
verify --receipt "$FIRST_RC" --request "$T_DIR/b$round-$first.req" \
    --response "$T_DIR/b$round-$first.resp" --key "$KEY" -o json
check_eq "  cubectl says v2" 2 "$(json version <"$T_DIR/out")"
check "  and its place in the batch" \
    grep -Eq '^leaf [0-9]+ of [0-9]+$' <(json batch <"$T_DIR/out")
# One receipt's proof on another's payload: the signature fails.
swapped="$(cut -d. -f1-3 <<<"$FIRST_RC").$(cut -d. -f4 <<<"$SECOND_RC")"
verify --receipt "$swapped" --request "$T_DIR/b$round-$first.req" \
    --response "$T_DIR/b$round-$first.resp" --key "$KEY"
check_eq "  another leaf's proof: fails" 1 "$RC"
check_contains "  naming the signature" "signature" "$(cat "$T_DIR/err")"
# Without cubectl, as docs/admin-api.md says: Python's hashlib for the tree
# (RFC 9162), OpenSSL for Ed25519.
python3 - "$FIRST_RC" "$KEY" "$T_DIR/b$round-$first.req" \
    "$T_DIR/b$round-$first.resp" "$T_DIR/indep" <<'EOF2'
import base64, hashlib, sys
rc, key, reqf, respf, out = sys.argv[1:]
def b64(s): return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
ver, payload, sig, proof = rc.split(".")
payload, sig, proof = b64(payload), b64(sig), b64(proof)
assert ver == "v2" and payload[:16] == b"cube receipt v2\0"
index, size = int.from_bytes(proof[0:2], "big"), int.from_bytes(proof[2:4], "big")
path = [proof[i:i + 32] for i in range(4, len(proof), 32)]
h = lambda b: hashlib.sha256(b).digest()
r, fn, sn = h(b"\0" + payload), index, size - 1
for p in path:
    assert sn != 0
    if fn & 1 or fn == sn:
        r = h(b"\1" + p + r)
        while not fn & 1 and fn != 0:
            fn >>= 1; sn >>= 1
    else:
        r = h(b"\1" + r + p)
    fn >>= 1; sn >>= 1
assert sn == 0
open(out + ".msg", "wb").write(b"cube receipt batch v2\0" + size.to_bytes(2, "big") + r)
open(out + ".sig", "wb").write(sig)
der = bytes.fromhex("302a300506032b6570032100" + key)
open(out + ".pem", "w").write("-----BEGIN PUBLIC KEY-----\n%s\n-----END PUBLIC KEY-----\n"
                              % base64.b64encode(der).decode())
body = open(respf, "rb").read()
at = body.rfind(b": cube-receipt ")
if at >= 0:
    body = body[:at]
ok = payload[40:72] == h(open(reqf, "rb").read()) and payload[72:104] == h(body)
open(out + ".hashes", "w").write("match" if ok else "differ")
EOF2
check_eq "  the tree recomputed without cubectl" 0 "$?"
openssl pkeyutl -verify -pubin -inkey "$T_DIR/indep.pem" -rawin \
    -in "$T_DIR/indep.msg" -sigfile "$T_DIR/indep.sig" >"$T_DIR/indep.out" 2>&1
check_eq "  its signature verifies with openssl" 0 "$?"
check_eq "  and its body hashes are the bodies'" match "$(cat "$T_DIR/indep.hashes")"

# --- clients that leave while their reply waits for its batch's signature ---
# The backend answers after 40 ms; each client hangs up (RST) 36 to 50 ms
# after its request, so some leave while their finished reply waits for
# its batch: the reply was held for the signature, the trace gets it (499,
# cancelled, with a receipt). Rounds of 20 until that happened.
ctl model deploy -d acme --provider fake --name Slow --key slow \
    --model-id 'fake-chat;first_byte_delay_ms=40' >/dev/null 2>&1
leave_round() {
	python3 - "$AGENT_URL" "$TOKEN" <<'EOF2'
import random, socket, struct, sys, threading, time
url, token = sys.argv[1:]
host, port = url[len("http://"):].split(":")
body = b'{"model":"slow","messages":[{"role":"user","content":"hi"}]}'
req = ("POST /proxy/acme/v1/chat/completions HTTP/1.1\r\nHost: a\r\n"
       "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
       "Content-Length: %d\r\n\r\n" % (token, len(body))).encode() + body
def one():
    s = socket.create_connection((host, int(port)))
    s.sendall(req)
    time.sleep(random.uniform(0.036, 0.050))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
ts = [threading.Thread(target=one) for _ in range(20)]
for t in ts: t.start()
for t in ts: t.join()
EOF2
}
# left_waiting: how many traces of the slow model are such replies.
left_waiting() {
	ctl -o json logs -d acme --model slow -n 1000 2>/dev/null |
	    python3 -c 'import json,sys
print(sum(1 for t in json.load(sys.stdin)
          if t["status"] == 499 and t["cancelled"] and t["receipt"]))' \
	    2>/dev/null || echo 0
}
slow_traced() {	# at least N traces of the slow model
	[ "$(ctl -o json logs -d acme --model slow -n 1000 |
	    python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" -ge "$1" ]
}
round=0
while ((round < 40)) && kill -0 "$AGENT_PID" 2>/dev/null; do
	leave_round
	round=$((round + 1))
	t_until 5 slow_traced $((round * 20))
	[ "$(left_waiting)" -gt 0 ] && break
done
check "the agent is still up after $round rounds" kill -0 "$AGENT_PID"
if [ "$(left_waiting)" -gt 0 ]; then
	check "clients that left while their reply waited: traced, 499, with the receipt" \
	    test "$(left_waiting)" -gt 0
else
	echo "# SKIP receipt: no client left while its reply waited, in $round rounds"
fi
post after /proxy/acme/v1/chat/completions \
    '{"model":"chat","messages":[{"role":"user","content":"still there?"}]}'
verify_ok after "after the clients that left: an answer"

stop_agent
check_eq "the agent stops cleanly" 0 "$?"
check_not_contains "no sanitizer report" "ERROR: " "$(cat "$AGENT_LOG")"

# --- receipt-batch = 1: every reply signed alone (v1), as verifiers of v1 need
printf 'receipt-batch = 1\n' >"$T_DIR/alone.conf"
METRICS_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start_agent --tee sim -c "$T_DIR/alone.conf" --metrics-listen "127.0.0.1:$METRICS_PORT"
signed() {	# "receipts signatures" on /metrics
	curl -sS -m 5 "http://127.0.0.1:$METRICS_PORT/metrics" | awk '
	    $1 == "cube_receipts_signed_total" { r = $2 }
	    $1 == "cube_receipt_signatures_total" { s = $2 }
	    END { print r, s }'
}
before=$(signed)
counts=$(burst 24 alone)
check_eq "receipt-batch = 1: a burst of 24 gets 24 v1 receipts" "24 0" "$counts"
after=$(signed)
check_eq "  /metrics: 24 more receipts, under 24 more signatures" "24 24" \
    "$(( ${after% *} - ${before% *} )) $(( ${after#* } - ${before#* } ))"
verify_ok alone-1 "  one of them"
# SIGHUP applies it: back to batches.
printf 'receipt-batch = 64\nreceipt-wait-us = 250\n' >"$T_DIR/alone.conf"
kill -HUP "$AGENT_PID"
check "SIGHUP with receipt-batch = 64: reloaded" \
    t_until 10 grep -q 'SIGHUP: configuration reloaded' "$AGENT_LOG"
before=$(signed)
burst_until_batch hup
check "  and replies share a signature again" test "${counts#* }" -gt 0
after=$(signed)
r=$(( ${after% *} - ${before% *} )) s=$(( ${after#* } - ${before#* } ))
check "  /metrics: $r more receipts under $s signatures, fewer" \
    test "$r" -eq $((24 * (round + 1))) -a "$s" -lt "$r"
check_eq "  status: the same counts, receipt-batch and -wait-us as reloaded" \
    "$(signed) 64 250" "$(ctl -o json status | python3 -c 'import json,sys
r = json.load(sys.stdin)["receipts"]
print(r["signed"], r["signatures"], r["batch_max"], r["wait_us"])')"
check_contains "  cubectl status shows them" "receipts signed" "$(ctl status)"

stop_agent
check_eq "the agent stops cleanly" 0 "$?"
check_not_contains "no sanitizer report" "ERROR: " "$(cat "$AGENT_LOG")"

t_done
