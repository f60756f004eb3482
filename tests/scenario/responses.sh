#!/usr/bin/env bash
# OpenAI's Responses API end to end: the real agent translating
# /v1/responses to chat completions for the fake OpenAI backend, with the
# same auth, guardrails and usage as every route; Response objects, the
# Responses event sequence and OpenAI's errors back. A domain that does
# not log content stores nothing (what needs a stored response is a 400
# naming the field); one that does keeps each response's conversation
# for previous_response_id, in memory, its own only.
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
ctl model deploy -d acme --provider fake --name Reset --key reset \
    --model-id 'fake-chat;chunks=6;reset_after=2' >/dev/null
TOKEN=$(ctl -o json token create -d acme --name t | json token)
last_body() { backend_requests | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["body"])'; }
last_path() { backend_requests | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["path"])'; }
# The events of a stream: their names, one line; the data of one of them.
event_names() { sed -n 's/^event: //p' | tr '\n' ' '; }
event_data() { sed -n 's/^data: //p' | grep "\"type\":\"$1\""; }

REQ='{"model":"chat","instructions":"Be brief.","input":"Say hello","max_output_tokens":50,"store":false}'
r=$(http POST /proxy/acme/v1/responses "$TOKEN" "$REQ" -D "$T_DIR/h")

# --- a whole answer ------------------------------------------------------------
check_eq "responses: 200" 200 "$(status_of "$r")"
b=$(body_of "$r")
check_eq "responses: a response" response "$(printf '%s' "$b" | json object)"
check_eq "responses: completed" completed "$(printf '%s' "$b" | json status)"
check_eq "responses: the key asked for, not the backend's id" chat \
    "$(printf '%s' "$b" | json model)"
rid=$(tr -d '\r' <"$T_DIR/h" | sed -n 's/^x-request-id: //Ip')
check_eq "responses: resp_ and the request id" "resp_$rid" \
    "$(printf '%s' "$b" | json id)"
check_eq "responses: one message item" \
    '[{"id": "msg_'"$rid"'", "type": "message", "status": "completed", "content": [{"type": "output_text", "annotations": [], "logprobs": [], "text": "Hello there friend"}], "role": "assistant"}]' \
    "$(printf '%s' "$b" | json output)"
check_eq "responses: instructions repeated" "Be brief." \
    "$(printf '%s' "$b" | json instructions)"
check_eq "responses: store false" false "$(printf '%s' "$b" | json store)"
check_eq "responses: cached tokens in usage" 2 \
    "$(printf '%s' "$b" | json usage.input_tokens_details.cached_tokens)"
check_eq "responses: output tokens in usage" 3 \
    "$(printf '%s' "$b" | json usage.output_tokens)"
check_eq "responses: the backend got chat completions" /v1/chat/completions \
    "$(last_path)"
sent=$(last_body)
check_eq "responses: instructions as the system message" \
    '{"role": "system", "content": "Be brief."}' \
    "$(printf '%s' "$sent" | json messages.0)"
check_eq "responses: input as the user message" \
    '{"role": "user", "content": "Say hello"}' \
    "$(printf '%s' "$sent" | json messages.1)"
check_eq "responses: max_output_tokens as max_tokens" 50 \
    "$(printf '%s' "$sent" | json max_tokens)"

# Prompt tokens as chat completions counts them for the same prompt.
r=$(http POST /proxy/acme/v1/chat/completions "$TOKEN" \
    '{"model":"chat","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Say hello"}]}')
check_eq "responses: input_tokens are the prompt's" \
    "$(body_of "$r" | json usage.prompt_tokens)" \
    "$(printf '%s' "$b" | json usage.input_tokens)"

# The domain from the token, as every /v1 route.
r=$(http POST /v1/responses "$TOKEN" "$REQ")
check_eq "responses: /v1/responses with the token's domain" completed \
    "$(body_of "$r" | json status)"

# --- a stream ------------------------------------------------------------------
SREQ='{"model":"chat","input":[{"role":"user","content":[{"type":"input_text","text":"Say hello"}]}],"stream":true}'
r=$(http POST /proxy/acme/v1/responses "$TOKEN" "$SREQ" -D "$T_DIR/h")
check_eq "stream: 200" 200 "$(status_of "$r")"
check "stream: text/event-stream" grep -qi '^content-type: text/event-stream' "$T_DIR/h"
check_eq "stream: the Responses event sequence" \
    "response.created response.in_progress response.output_item.added response.content_part.added response.output_text.delta response.output_text.delta response.output_text.delta response.output_text.done response.content_part.done response.output_item.done response.completed " \
    "$(body_of "$r" | event_names)"
check_eq "stream: sequence numbers count from 0" "0 1 2 3 4 5 6 7 8 9 10" \
    "$(body_of "$r" | sed -n 's/^data: //p' | python3 -c 'import json,sys
print(" ".join(str(json.loads(l)["sequence_number"]) for l in sys.stdin))')"
text=$(body_of "$r" | sed -n 's/^data: //p' | python3 -c 'import json,sys
print("".join(e["delta"] for e in map(json.loads, sys.stdin)
    if e["type"] == "response.output_text.delta"))')
check_eq "stream: the text, whole" "Hello there friend" "$text"
done_=$(body_of "$r" | event_data response.completed)
check_eq "stream: completed with the text" "Hello there friend" \
    "$(printf '%s' "$done_" | json response.output.0.content.0.text)"
check_eq "stream: the key asked for" chat \
    "$(printf '%s' "$done_" | json response.model)"
check_eq "stream: output tokens in usage" 3 \
    "$(printf '%s' "$done_" | json response.usage.output_tokens)"
check_eq "stream: the backend was asked for usage" true \
    "$(last_body | json stream_options.include_usage)"

# The output guardrail's block: incomplete, nothing of the match.
r=$(http POST /proxy/acme/v1/responses "$TOKEN" \
    '{"model":"block","input":"x","stream":true}')
check_not_contains "blocked stream: nothing of the match" FORBIDDEN "$(body_of "$r")"
check_eq "blocked stream: ends with response.incomplete" response.incomplete \
    "$(body_of "$r" | sed -n 's/^event: //p' | tail -n 1)"
check_eq "blocked stream: content_filter" content_filter \
    "$(body_of "$r" | event_data response.incomplete | json response.incomplete_details.reason)"
r=$(http POST /proxy/acme/v1/responses "$TOKEN" '{"model":"block","input":"x"}')
check_not_contains "blocked answer: nothing of the match" FORBIDDEN "$(body_of "$r")"
check_eq "blocked answer: incomplete" incomplete "$(body_of "$r" | json status)"
check_eq "blocked answer: content_filter" content_filter \
    "$(body_of "$r" | json incomplete_details.reason)"

# A backend that breaks mid-stream: an error event, then response.failed.
r=$(http POST /proxy/acme/v1/responses "$TOKEN" \
    '{"model":"reset","input":"x","stream":true}')
check_eq "broken stream: error, then response.failed" "error response.failed" \
    "$(body_of "$r" | sed -n 's/^event: //p' | tail -n 2 | xargs)"
check_eq "broken stream: failed" failed \
    "$(body_of "$r" | event_data response.failed | json response.status)"

# --- errors in OpenAI's shape ------------------------------------------------
err_is() {	# description status code param message-part response
	check_eq "$1: $2" "$2" "$(status_of "$6")"
	check_eq "$1: OpenAI's error shape" "$3 $4" \
	    "$(body_of "$6" | python3 -c 'import json,sys
e = json.load(sys.stdin)["error"]
print(e["code"], e["param"])')"
	[ -z "$5" ] || check_contains "$1: the message" "$5" \
	    "$(body_of "$6" | json error.message)"
}
err_is "store: true" 400 invalid_request store "does not store responses" \
    "$(http POST /proxy/acme/v1/responses "$TOKEN" '{"model":"chat","input":"x","store":true}')"
err_is "previous_response_id" 400 invalid_request previous_response_id \
    "does not store responses" \
    "$(http POST /proxy/acme/v1/responses "$TOKEN" '{"model":"chat","input":"x","previous_response_id":"resp_1"}')"
err_is "a built-in tool" 400 invalid_request tools "web_search" \
    "$(http POST /proxy/acme/v1/responses "$TOKEN" '{"model":"chat","input":"x","tools":[{"type":"web_search"}]}')"
err_is "a wrong type" 400 invalid_request input "input[0].content must be" \
    "$(http POST /proxy/acme/v1/responses "$TOKEN" '{"model":"chat","input":[{"role":"user","content":7}]}')"
err_is "not JSON" 400 invalid_request None "" \
    "$(http POST /proxy/acme/v1/responses "$TOKEN" '{"model":')"
err_is "no token" 401 invalid_api_key None "" \
    "$(http POST /proxy/acme/v1/responses "" "$REQ")"
err_is "an unknown model" 404 model_not_found model "" \
    "$(http POST /proxy/acme/v1/responses "$TOKEN" '{"model":"nope","input":"x"}')"

# --- stored responses: a domain that logs content ---------------------------
ctl domain create keeper >/dev/null
ctl domain edit keeper --log-content on >/dev/null
ctl provider add -d keeper fake --driver openai --url "$BACKEND_URL/v1" >/dev/null
ctl model deploy -d keeper --provider fake --name Echo --key echo \
    --model-id 'fake-chat;echo=1;chunks=2' >/dev/null
KTOKEN=$(ctl -o json token create -d keeper --name k | json token)
r=$(http POST /v1/responses "$KTOKEN" \
    '{"model":"echo","instructions":"Be brief.","input":"first-turn-alpha"}')
check_eq "stored: 200" 200 "$(status_of "$r")"
check_eq "stored: store is true" true "$(body_of "$r" | json store)"
first=$(body_of "$r" | json id)
r=$(http POST /v1/responses "$KTOKEN" \
    "{\"model\":\"echo\",\"stream\":true,\"previous_response_id\":\"$first\",\"input\":\"second-turn-beta\"}")
check_eq "continued stream: 200" 200 "$(status_of "$r")"
check_eq "continued stream: previous_response_id echoed" "$first" \
    "$(body_of "$r" | event_data response.completed | python3 -c '
import json,sys; print(json.loads(sys.stdin.read())["response"]["previous_response_id"])')"
second=$(body_of "$r" | event_data response.completed | python3 -c '
import json,sys; print(json.loads(sys.stdin.read())["response"]["id"])')
check "continued: the backend got the first turn, its answer, then the second" \
    python3 -c '
import json,sys
m=json.loads(sys.argv[1])["messages"]
roles=[x["role"] for x in m]
assert roles==["user","assistant","user"], roles
assert "first-turn-alpha" in json.dumps(m[0]) and "second-turn-beta" in json.dumps(m[2]), m
assert m[1]["content"], m' "$(last_body)"
r=$(http POST /v1/responses "$KTOKEN" \
    "{\"model\":\"echo\",\"instructions\":\"New rules.\",\"previous_response_id\":\"$second\",\"input\":\"third\",\"store\":false}")
check_eq "a third turn on the streamed one: 200" 200 "$(status_of "$r")"
check "third: every turn so far, the new instructions first, the old ones not" \
    python3 -c '
import json,sys
m=json.loads(sys.argv[1])["messages"]
roles=[x["role"] for x in m]
assert roles==["system","user","assistant","user","assistant","user"], roles
assert m[0]["content"]=="New rules." and "Be brief." not in json.dumps(m), m' "$(last_body)"
check_eq "store: false is not stored" false "$(body_of "$r" | json store)"
third=$(body_of "$r" | json id)
err_is "store: false leaves nothing to continue" 400 invalid_request \
    previous_response_id "not found" \
    "$(http POST /v1/responses "$KTOKEN" "{\"model\":\"echo\",\"previous_response_id\":\"$third\",\"input\":\"x\"}")"
err_is "another domain cannot continue it" 400 invalid_request \
    previous_response_id "does not store responses" \
    "$(http POST /v1/responses "$TOKEN" "{\"model\":\"chat\",\"previous_response_id\":\"$first\",\"input\":\"x\"}")"
ctl domain create keeper2 >/dev/null
ctl domain edit keeper2 --log-content on >/dev/null
ctl provider add -d keeper2 fake --driver openai --url "$BACKEND_URL/v1" >/dev/null
ctl model deploy -d keeper2 --provider fake --name Echo --key echo \
    --model-id 'fake-chat;echo=1' >/dev/null
K2TOKEN=$(ctl -o json token create -d keeper2 --name k | json token)
err_is "a domain that keeps its own cannot see another's" 400 invalid_request \
    previous_response_id "not found" \
    "$(http POST /v1/responses "$K2TOKEN" "{\"model\":\"echo\",\"previous_response_id\":\"$first\",\"input\":\"x\"}")"

check "the agent is still up" kill -0 "$AGENT_PID"
t_done
