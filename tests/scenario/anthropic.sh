#!/usr/bin/env bash
# Anthropic's Messages API end to end: the real agent translating
# /v1/messages and /v1/messages/count_tokens to chat completions for the
# fake OpenAI backend, with the same auth, guardrails and usage as every
# route; answers, streams and errors in Anthropic's shapes.
. "$(dirname "$0")/../lib.sh"

start_backend
start_agent
ctl domain create acme >/dev/null
ctl provider add -d acme fake --driver openai --url "$BACKEND_URL/v1" >/dev/null
ctl guardrail create -d acme forbid --kind regex --action block \
    --pattern 'FORBIDDEN-[0-9]+' >/dev/null
ctl model deploy -d acme --provider fake --name Chat --key chat \
    --model-id 'fake-chat;text=Hello_there_friend;chunks=3;cached=2' >/dev/null
ctl model deploy -d acme --provider fake --name Block --key block \
    --model-id 'fake-chat;text=hello_FORBIDDEN-42_world;chunks=5' \
    --guard-out forbid >/dev/null
TOKEN=$(ctl -o json token create -d acme --name t | json token)
last_body() { backend_requests | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["body"])'; }
last_path() { backend_requests | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["path"])'; }

MSG='{"model":"chat","max_tokens":50,"system":[{"type":"text","text":"Be brief."}],"messages":[{"role":"user","content":[{"type":"text","text":"Say hello"}]}]}'
r=$(http POST /proxy/acme/v1/messages "$TOKEN" "$MSG")

# --- a whole answer ------------------------------------------------------------
check_eq "messages: 200" 200 "$(status_of "$r")"
b=$(body_of "$r")
check_eq "messages: a message" message "$(printf '%s' "$b" | json type)"
check_eq "messages: the assistant's" assistant "$(printf '%s' "$b" | json role)"
check_eq "messages: the key asked for, not the backend's id" chat \
    "$(printf '%s' "$b" | json model)"
check_eq "messages: the text as one block" \
    '[{"type": "text", "text": "Hello there friend"}]' \
    "$(printf '%s' "$b" | json content)"
check_eq "messages: end_turn" end_turn "$(printf '%s' "$b" | json stop_reason)"
check "messages: msg_ and the request id" \
    grep -Eq '^msg_[0-9a-f]{32}$' <<<"$(printf '%s' "$b" | json id)"
check_eq "messages: cache reads in usage" 2 \
    "$(printf '%s' "$b" | json usage.cache_read_input_tokens)"
check_eq "messages: output tokens in usage" 3 \
    "$(printf '%s' "$b" | json usage.output_tokens)"
check_eq "messages: the backend got chat completions" /v1/chat/completions \
    "$(last_path)"
sent=$(last_body)
check_eq "messages: the system prompt first" \
    '{"role": "system", "content": "Be brief."}' \
    "$(printf '%s' "$sent" | json messages.0)"
check_eq "messages: max_tokens passed on" 50 \
    "$(printf '%s' "$sent" | json max_tokens)"

# Prompt tokens as chat completions counts them for the same prompt.
r=$(http POST /proxy/acme/v1/chat/completions "$TOKEN" \
    '{"model":"chat","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Say hello"}]}')
prompt=$(body_of "$r" | json usage.prompt_tokens)
check_eq "messages: input_tokens are the prompt's, less the cached" \
    "$((prompt - 2))" "$(printf '%s' "$b" | json usage.input_tokens)"

# x-api-key is the token on these routes; anthropic-version is tolerated.
r=$(http POST /proxy/acme/v1/messages "" "$MSG" -H "x-api-key: $TOKEN" \
    -H 'anthropic-version: 2023-06-01')
check_eq "messages: x-api-key accepted" 200 "$(status_of "$r")"

# --- a stream ------------------------------------------------------------------
SMSG='{"model":"chat","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"Say hello"}]}'
r=$(http POST /proxy/acme/v1/messages "$TOKEN" "$SMSG" -D "$T_DIR/h")
check_eq "stream: 200" 200 "$(status_of "$r")"
check "stream: text/event-stream" grep -qi '^content-type: text/event-stream' "$T_DIR/h"
events=$(body_of "$r" | sed -n 's/^event: //p' | uniq | tr '\n' ' ')
check_eq "stream: Anthropic's event sequence" \
    "message_start content_block_start content_block_delta content_block_stop message_delta message_stop " \
    "$events"
text=$(body_of "$r" | sed -n 's/^data: //p' | python3 -c 'import json,sys
print("".join(e["delta"]["text"] for e in map(json.loads, sys.stdin)
    if e["type"] == "content_block_delta"))')
check_eq "stream: the text, whole" "Hello there friend" "$text"
delta=$(body_of "$r" | sed -n 's/^data: //p' | grep '"message_delta"')
check_eq "stream: end_turn" end_turn "$(printf '%s' "$delta" | json delta.stop_reason)"
check_eq "stream: output tokens in message_delta" 3 \
    "$(printf '%s' "$delta" | json usage.output_tokens)"
check_eq "stream: the backend was asked for usage" true \
    "$(last_body | json stream_options.include_usage)"

# The output guardrail's block: a refusal, nothing of the match.
r=$(http POST /proxy/acme/v1/messages "$TOKEN" \
    '{"model":"block","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"x"}]}')
check_not_contains "blocked stream: nothing of the match" FORBIDDEN "$(body_of "$r")"
delta=$(body_of "$r" | sed -n 's/^data: //p' | grep '"message_delta"')
check_eq "blocked stream: stop_reason refusal" refusal \
    "$(printf '%s' "$delta" | json delta.stop_reason)"
check_eq "blocked stream: ends with message_stop" message_stop \
    "$(body_of "$r" | sed -n 's/^event: //p' | tail -n 1)"
r=$(http POST /proxy/acme/v1/messages "$TOKEN" \
    '{"model":"block","max_tokens":50,"messages":[{"role":"user","content":"x"}]}')
check_not_contains "blocked answer: nothing of the match" FORBIDDEN "$(body_of "$r")"
check_eq "blocked answer: stop_reason refusal" refusal \
    "$(body_of "$r" | json stop_reason)"

# --- count_tokens --------------------------------------------------------------
r=$(http POST /proxy/acme/v1/messages/count_tokens "$TOKEN" \
    '{"model":"chat","messages":[{"role":"user","content":"count these words please"}]}')
check_eq "count_tokens: 200" 200 "$(status_of "$r")"
check "count_tokens: a positive input_tokens" python3 -c '
import json,sys
o = json.loads(sys.argv[1])
sys.exit(not (list(o) == ["input_tokens"] and isinstance(o["input_tokens"], int)
    and o["input_tokens"] > 0))' "$(body_of "$r")"

# --- errors in Anthropic's shape -----------------------------------------------
err_is() {	# description status type message response
	check_eq "$1: $2" "$2" "$(status_of "$5")"
	check_eq "$1: Anthropic's error shape" "error $3" \
	    "$(body_of "$5" | python3 -c 'import json,sys
o = json.load(sys.stdin)
print(o["type"], o["error"]["type"])')"
	[ -z "$4" ] || check_eq "$1: the message" "$4" \
	    "$(body_of "$5" | json error.message)"
}
err_is "no max_tokens" 400 invalid_request_error "max_tokens: Field required" \
    "$(http POST /proxy/acme/v1/messages "$TOKEN" '{"model":"chat","messages":[]}')"
err_is "a document block" 400 invalid_request_error \
    "messages.0.content.0.type: 'document' blocks are not supported by this gateway" \
    "$(http POST /proxy/acme/v1/messages "$TOKEN" '{"model":"chat","max_tokens":5,"messages":[{"role":"user","content":[{"type":"document","source":{}}]}]}')"
err_is "a server tool" 400 invalid_request_error \
    "tools.0.type: server tool 'web_search_20250305' is not supported by this gateway" \
    "$(http POST /proxy/acme/v1/messages "$TOKEN" '{"model":"chat","max_tokens":5,"messages":[],"tools":[{"type":"web_search_20250305","name":"web_search"}]}')"
err_is "not JSON" 400 invalid_request_error "" \
    "$(http POST /proxy/acme/v1/messages "$TOKEN" '{"model":')"
err_is "no token" 401 authentication_error "" \
    "$(http POST /proxy/acme/v1/messages "" "$MSG")"
err_is "an unknown model" 404 not_found_error "" \
    "$(http POST /proxy/acme/v1/messages "$TOKEN" '{"model":"nope","max_tokens":5,"messages":[]}')"

check "the agent is still up" kill -0 "$AGENT_PID"
t_done
