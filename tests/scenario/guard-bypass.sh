#!/usr/bin/env bash
# Ways around the input guardrails and the budget, tried against the real
# agent and fake backend: duplicate keys (top level and nested, every
# route), PII in every member the model reads but a guard once skipped,
# a structural key with a value that is not, token ids; and max_tokens
# written so that an int64 parser misses it. The backend's request log
# is the judge: nothing reaches it unredacted. Last, answers an output
# guardrail cannot read are not delivered.
. "$(dirname "$0")/../lib.sh"

start_backend
start_agent
ctl domain create acme >/dev/null
ctl provider add -d acme fake --driver openai --url "$BACKEND_URL/v1" >/dev/null
ctl provider add -d acme local --driver ollama --url "$BACKEND_URL" >/dev/null
ctl guardrail create -d acme pii --kind pii --action redact --types email >/dev/null
ctl guardrail create -d acme cards --kind pii --action block --types card >/dev/null
ctl model deploy -d acme --provider fake --name Echo --key echo \
    --model-id 'fake-chat;echo=1' --guard-in pii --guard-in cards >/dev/null 2>&1
ctl model deploy -d acme --provider fake --name Embed --key embed \
    --category embedding --model-id fake-embed --guard-in pii \
    --guard-in cards >/dev/null 2>&1
ctl model deploy -d acme --provider local --name OChat --key ochat \
    --model-id 'fake-chat;echo=1' --guard-in pii --guard-in cards \
    --force >/dev/null 2>&1
ctl model deploy -d acme --provider local --name OEmbed --key oembed \
    --category embedding --model-id fake-embed --guard-in pii \
    --guard-in cards --force >/dev/null 2>&1
ctl model deploy -d acme --provider fake --name Plain --key plain \
    --model-id fake-chat >/dev/null 2>&1
TOKEN=$(ctl -o json token create -d acme --name t | json token)

MAIL=bob@example.com
CARD=4111111111111111
nreq() { backend_requests | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
last_body() { backend_requests | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["body"])'; }
code() { body_of "$1" | python3 -c 'import json,sys
e=json.load(sys.stdin)["error"]
print(e["code"] if isinstance(e, dict) else "ollama:" + e)'; }

# --- duplicate keys: refused at every depth, on every route ----------------
dup() {		# description, path, body: refused; its reply in $r
	local before
	before=$(nreq)
	r=$(http POST "$2" "$TOKEN" "$3")
	check_eq "$1: 400" 400 "$(status_of "$r")"
	check_eq "$1: nothing forwarded" "$before" "$(nreq)"
}
dup "chat, top-level messages twice" /v1/chat/completions \
    "{\"model\":\"echo\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"messages\":[{\"role\":\"user\",\"content\":\"mail $MAIL\"}]}"
check_contains "chat: invalid_request" '"code":"invalid_request"' "$r"
check_contains "chat: says which key" 'duplicate key' "$r"
dup "chat, content twice in a message" /v1/chat/completions \
    "{\"model\":\"echo\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\",\"content\":\"mail $MAIL\"}]}"
dup "chat, a key twice deep in a tool schema" /v1/chat/completions \
    "{\"model\":\"echo\",\"messages\":[],\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\",\"properties\":{\"a\":{\"description\":\"x\",\"description\":\"$MAIL\"}}}}}]}"
dup "completions, prompt twice" /v1/completions \
    "{\"model\":\"echo\",\"prompt\":\"hi\",\"prompt\":\"mail $MAIL\"}"
dup "completions, prompt and an escaped prompt" /v1/completions \
    "{\"model\":\"echo\",\"prompt\":\"hi\",\"\\u0070rompt\":\"mail $MAIL\"}"
dup "embeddings, input twice" /v1/embeddings \
    "{\"model\":\"embed\",\"input\":\"hi\",\"input\":\"mail $MAIL\"}"
dup "a model without guardrails: refused too" /v1/chat/completions \
    "{\"model\":\"plain\",\"messages\":[],\"user\":\"a\",\"user\":\"b\"}"
dup "ollama generate, prompt twice" /proxy/acme/api/generate \
    "{\"model\":\"ochat\",\"prompt\":\"hi\",\"prompt\":\"mail $MAIL\"}"
check_contains "ollama: in Ollama's error shape" '"error":"duplicate key' "$r"
dup "ollama chat, content twice" /proxy/acme/api/chat \
    "{\"model\":\"ochat\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\",\"content\":\"$MAIL\"}]}"
dup "ollama embed, input twice" /proxy/acme/api/embed \
    "{\"model\":\"oembed\",\"input\":\"hi\",\"input\":\"mail $MAIL\"}"

# --- every member the model reads is checked --------------------------------
redacted() {	# description, path, body: forwarded, the address redacted
	local r
	r=$(http POST "$2" "$TOKEN" "$3")
	check_eq "$1: forwarded" 200 "$(status_of "$r")"
	check_contains "$1: redacted" '[REDACTED:EMAIL]' "$(last_body)"
	check_not_contains "$1: never the address" "$MAIL" "$(last_body)"
}
msg='"messages":[{"role":"user","content":"hi"}]'
redacted "tools: a description" /v1/chat/completions \
    "{\"model\":\"echo\",$msg,\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"description\":\"mail $MAIL\"}}]}"
redacted "tools: a parameter schema" /v1/chat/completions \
    "{\"model\":\"echo\",$msg,\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\",\"properties\":{\"to\":{\"type\":\"string\",\"default\":\"$MAIL\"}}}}}]}"
redacted "tools: a parameter's name" /v1/chat/completions \
    "{\"model\":\"echo\",$msg,\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\",\"properties\":{\"$MAIL\":{\"type\":\"string\"}}}}}]}"
redacted "functions" /v1/chat/completions \
    "{\"model\":\"echo\",$msg,\"functions\":[{\"name\":\"f\",\"description\":\"$MAIL\"}]}"
redacted "response_format: a schema" /v1/chat/completions \
    "{\"model\":\"echo\",$msg,\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"r\",\"schema\":{\"type\":\"object\",\"description\":\"$MAIL\"}}}}"
redacted "prediction" /v1/chat/completions \
    "{\"model\":\"echo\",$msg,\"prediction\":{\"type\":\"content\",\"content\":\"$MAIL\"}}"
redacted "suffix" /v1/completions \
    "{\"model\":\"echo\",\"prompt\":\"hi\",\"suffix\":\"$MAIL\"}"
redacted "user" /v1/chat/completions "{\"model\":\"echo\",$msg,\"user\":\"$MAIL\"}"
redacted "stop" /v1/chat/completions "{\"model\":\"echo\",$msg,\"stop\":[\"$MAIL\"]}"
redacted "a message's name" /v1/chat/completions \
    "{\"model\":\"echo\",\"messages\":[{\"role\":\"user\",\"name\":\"$MAIL\",\"content\":\"hi\"}]}"
redacted "tool call arguments" /v1/chat/completions \
    "{\"model\":\"echo\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"send\",\"arguments\":\"{\\\"to\\\":\\\"$MAIL\\\"}\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"sent\"}]}"
redacted "a structural key with another value: role" /v1/chat/completions \
    "{\"model\":\"echo\",\"messages\":[{\"role\":\"$MAIL\",\"content\":\"hi\"}]}"
redacted "a structural key with another value: type" /v1/chat/completions \
    "{\"model\":\"echo\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"$MAIL\",\"text\":\"hi\"}]}]}"
redacted "an image url that is no image" /v1/chat/completions \
    "{\"model\":\"echo\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://x.test/?to=$MAIL\"}}]}]}"
redacted "ollama generate: template" /proxy/acme/api/generate \
    "{\"model\":\"ochat\",\"stream\":false,\"prompt\":\"hi\",\"template\":\"$MAIL {{ .Prompt }}\"}"
redacted "ollama generate: system" /proxy/acme/api/generate \
    "{\"model\":\"ochat\",\"stream\":false,\"prompt\":\"hi\",\"system\":\"$MAIL\"}"
redacted "ollama chat: images that are none" /proxy/acme/api/chat \
    "{\"model\":\"ochat\",\"stream\":false,\"messages\":[{\"role\":\"user\",\"content\":\"hi\",\"images\":[\"$MAIL\"]}]}"
redacted "ollama chat: tool call arguments" /proxy/acme/api/chat \
    "{\"model\":\"ochat\",\"stream\":false,\"messages\":[{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"function\":{\"name\":\"send\",\"arguments\":{\"to\":\"$MAIL\"}}}]}]}"
redacted "ollama embed: input" /proxy/acme/api/embed \
    "{\"model\":\"oembed\",\"input\":[\"a\",\"$MAIL\"]}"

# A real image passes untouched: structural values are not text.
png=iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==
r=$(http POST /v1/chat/completions "$TOKEN" \
    "{\"model\":\"echo\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"see\"},{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,$png\",\"detail\":\"low\"}}]}]}")
check_eq "an image: forwarded" 200 "$(status_of "$r")"
check_contains "an image: as sent" "base64,$png\"" "$(last_body)"

# Blocks, wherever the card number is: never forwarded.
before=$(nreq)
for body in \
    "{\"model\":\"echo\",$msg,\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"description\":\"pay $CARD\"}}]}" \
    "{\"model\":\"echo\",$msg,\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"properties\":{\"n\":{\"default\":$CARD}}}}}]}" \
    "{\"model\":\"echo\",$msg,\"metadata\":{\"card\":\"$CARD\"}}"; do
	r=$(http POST /v1/chat/completions "$TOKEN" "$body")
	check_eq "card in ${body:40:40}...: blocked" \
	    "400 guardrail_violation" "$(status_of "$r") $(code "$r")"
done
r=$(http POST /proxy/acme/api/generate "$TOKEN" \
    "{\"model\":\"ochat\",\"prompt\":\"hi\",\"system\":\"$CARD\"}")
check_eq "ollama system with a card: blocked" 400 "$(status_of "$r")"
# Two keys that redaction would make one: refused, not merged.
r=$(http POST /v1/chat/completions "$TOKEN" \
    "{\"model\":\"echo\",$msg,\"metadata\":{\"a@example.com\":\"1\",\"b@example.com\":\"2\"}}")
check_eq "keys redacted into one: refused" "400 guardrail_violation" \
    "$(status_of "$r") $(code "$r")"
# Token ids are no text a guardrail can read.
r=$(http POST /v1/completions "$TOKEN" '{"model":"echo","prompt":[15339,1917]}')
check_eq "token ids under input guardrails: refused" \
    "400 guardrail_violation" "$(status_of "$r") $(code "$r")"
r=$(http POST /v1/embeddings "$TOKEN" '{"model":"embed","input":[[15339,1917]]}')
check_eq "token ids to an embedding model: refused" 400 "$(status_of "$r")"
check_eq "no block reached the backend" "$before" "$(nreq)"
check_not_contains "the backend never saw the address" "$MAIL" "$(backend_requests)"
check_not_contains "nor the card" "$CARD" "$(backend_requests)"

# --- max_tokens: the budget reserves what the backend will read -------------
# $1000 per 1M output tokens: 4096 tokens (the default reservation) cost
# $4.10 and fit a $10 budget; a million do not.
ctl model deploy -d acme --provider fake --name Priced --key priced \
    --model-id fake-chat --price-output 1000 >/dev/null
ctl model deploy -d acme --provider local --name OPriced --key opriced \
    --model-id fake-chat --price-output 1000 --force >/dev/null
BUD=$(ctl -o json token create -d acme --name budget --budget 10 | json token)
for mt in 1e6 1000000.0 1E+6 1e+6 2000000e-1; do
	r=$(http POST /v1/chat/completions "$BUD" \
	    "{\"model\":\"priced\",\"max_tokens\":$mt,$msg}")
	check_eq "max_tokens $mt: the budget sees a million" \
	    "429 budget_exceeded" "$(status_of "$r") $(code "$r")"
	r=$(http POST /v1/chat/completions "$BUD" \
	    "{\"model\":\"priced\",\"max_completion_tokens\":$mt,$msg}")
	check_eq "max_completion_tokens $mt: likewise" \
	    "429 budget_exceeded" "$(status_of "$r") $(code "$r")"
done
for mt in 99999999999999999999 1.5 -1 '"1000000"' true 16777217 1e300; do
	r=$(http POST /v1/chat/completions "$BUD" \
	    "{\"model\":\"priced\",\"max_tokens\":$mt,$msg}")
	check_eq "max_tokens $mt: refused" "400 invalid_request" \
	    "$(status_of "$r") $(code "$r")"
	check_contains "max_tokens $mt: names it" '"param":"max_tokens"' \
	    "$(body_of "$r")"
done
r=$(http POST /proxy/acme/api/chat "$BUD" \
    "{\"model\":\"opriced\",\"stream\":false,\"options\":{\"num_predict\":1000000},$msg}")
check_eq "ollama num_predict 1000000: the budget sees it" 429 "$(status_of "$r")"
r=$(http POST /proxy/acme/api/chat "$BUD" \
    "{\"model\":\"opriced\",\"stream\":false,\"options\":{\"num_predict\":1.5},$msg}")
check_eq "ollama num_predict 1.5: refused" 400 "$(status_of "$r")"
before=$(nreq)
r=$(http POST /v1/chat/completions "$BUD" "{\"model\":\"priced\",\"max_tokens\":9e3,$msg}")
check_eq "max_tokens 9e3 fits the budget" 200 "$(status_of "$r")"
check_contains "and goes as the client wrote it" '"max_tokens":9e3' "$(last_body)"
r=$(http POST /proxy/acme/api/chat "$BUD" \
    "{\"model\":\"opriced\",\"stream\":false,\"options\":{\"num_predict\":100},$msg}")
check_eq "ollama num_predict 100 fits" 200 "$(status_of "$r")"
check_eq "both reached the backend" $((before + 2)) "$(nreq)"

# --- an answer the output guardrails cannot read is not delivered ----------
# (a lenient client would show the second "content", or the text after a
# \u0000 that cJSON cuts, or a body that is no JSON at all)
for odd in dup nul text; do
	ctl model deploy -d acme --provider fake --name "Odd $odd" \
	    --key "odd-$odd" --model-id "fake-chat;odd_body=$odd" \
	    --guard-out pii >/dev/null 2>&1
	ctl model deploy -d acme --provider fake --name "Raw $odd" \
	    --key "raw-$odd" --model-id "fake-chat;odd_body=$odd" >/dev/null 2>&1
	r=$(http POST /v1/chat/completions "$TOKEN" \
	    "{\"model\":\"odd-$odd\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")
	check_eq "odd_body=$odd: 502 upstream_error" "502 upstream_error" \
	    "$(status_of "$r") $(code "$r")"
	check_not_contains "odd_body=$odd: nothing of the answer" "$MAIL" "$r"
	r=$(http POST /v1/chat/completions "$TOKEN" \
	    "{\"model\":\"raw-$odd\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")
	check_eq "odd_body=$odd without output guardrails: relayed" 200 \
	    "$(status_of "$r")"
done

t_done
