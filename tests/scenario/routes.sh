#!/usr/bin/env bash
# The routes issue 13 adds around the dialects: GET /v1/models/KEY for keys
# with '/', the same "created" as the list; the "model" of every answer is
# the key the client asked for, never the backend's id (OpenAI answers,
# chunks, Ollama's lines); Ollama's routes at the root with the domain
# from the token; its version without a key; its error shape on /api/*.
. "$(dirname "$0")/../lib.sh"

start_backend
start_agent
ctl domain create acme >/dev/null
ctl domain create bravo >/dev/null
ctl provider add -d acme fake --driver openai --url "$BACKEND_URL/v1" >/dev/null
ctl provider add -d acme local --driver ollama --url "$BACKEND_URL" >/dev/null
ctl provider add -d bravo fake --driver openai --url "$BACKEND_URL/v1" >/dev/null
ctl model deploy -d acme --provider fake --name Org --key org/chat-7b \
    --model-id 'fake-chat;chunks=3' >/dev/null
ctl model deploy -d acme --provider fake --name Embed --key embed \
    --category embedding --model-id fake-embed >/dev/null
ctl model deploy -d acme --provider local --name Native --key native \
    --model-id 'fake-chat;chunks=3' --force >/dev/null
ctl model deploy -d bravo --provider fake --name Secret --key secret \
    --model-id fake-chat >/dev/null
A=$(ctl -o json token create -d acme --name a | json token)
B=$(ctl -o json token create -d bravo --name b | json token)

# --- one model, keys with '/' ----------------------------------------------
r=$(http GET /v1/models/org%2Fchat-7b "$A")
check_eq "models/KEY: %2F decoded, 200" 200 "$(status_of "$r")"
check_eq "models/KEY: its id" "org/chat-7b" "$(body_of "$r" | json id)"
created_one=$(body_of "$r" | json created)
r=$(http GET /proxy/acme/v1/models/org/chat-7b "$A")
check_eq "models/KEY: a bare '/' too" "org/chat-7b" "$(body_of "$r" | json id)"
created_list=$(http GET /v1/models "$A" | sed '$d' | python3 -c '
import json,sys
print([m["created"] for m in json.load(sys.stdin)["data"] if m["id"]=="org/chat-7b"][0])')
check_eq "models/KEY: created as in the list" "$created_list" "$created_one"
check "models/KEY: created is a real time" [ "${created_one:-0}" -gt 1700000000 ]
r=$(http GET /v1/models/secret "$A")
check_eq "models/KEY: another domain's is unknown" 404 "$(status_of "$r")"
r=$(http GET /v1/models/org%2 "$A")
check_eq "models/KEY: a broken escape is no route" 404 "$(status_of "$r")"

# --- "model" is the key asked for ------------------------------------------
r=$(http POST /v1/chat/completions "$A" \
    '{"model":"org/chat-7b","messages":[{"role":"user","content":"hi"}]}')
check_eq "answer: 200" 200 "$(status_of "$r")"
check_eq "answer: model is the key" "org/chat-7b" "$(body_of "$r" | json model)"
check_not_contains "answer: no backend id" "fake-chat" "$(body_of "$r")"
r=$(http POST /v1/chat/completions "$A" \
    '{"model":"org/chat-7b","stream":true,"messages":[{"role":"user","content":"hi"}]}')
models=$(body_of "$r" | sed -n 's/^data: \({.*}\)$/\1/p' | python3 -c '
import json,sys
print(sorted({json.loads(l).get("model") for l in sys.stdin}))')
check_eq "stream: every chunk's model is the key" "['org/chat-7b']" "$models"
r=$(http POST /v1/embeddings "$A" '{"model":"embed","input":"hi"}')
check_eq "embeddings: model is the key" "embed" "$(body_of "$r" | json model)"

# --- Ollama's routes at the root, the domain from the token ---------------
r=$(http GET /api/version "")
check_eq "/api/version: no key needed" 200 "$(status_of "$r")"
check "/api/version: a version" [ -n "$(body_of "$r" | json version)" ]
r=$(http GET /api/tags "$A")
names=$(body_of "$r" | python3 -c '
import json,sys
print(",".join(sorted(m["name"] for m in json.load(sys.stdin)["models"])))')
check_eq "/api/tags at the root: the token's domain" "embed,native,org/chat-7b" "$names"
r=$(http POST /api/chat "$A" \
    '{"model":"native","stream":false,"messages":[{"role":"user","content":"hi"}]}')
check_eq "/api/chat at the root: 200" 200 "$(status_of "$r")"
check_eq "/api/chat: model is the key" "native" "$(body_of "$r" | json model)"
r=$(http POST /api/chat "$A" \
    '{"model":"native","messages":[{"role":"user","content":"hi"}]}')
models=$(body_of "$r" | python3 -c '
import json,sys
print(sorted({json.loads(l).get("model") for l in sys.stdin if l.strip()}))')
check_eq "/api/chat stream: every line's model is the key" "['native']" "$models"
r=$(http POST /api/chat "$A" \
    '{"model":"secret","messages":[{"role":"user","content":"hi"}]}')
check_eq "/api/chat: another domain's model, 404" 404 "$(status_of "$r")"
check "/api/chat: Ollama's error shape" python3 -c '
import json,sys
e=json.loads(sys.argv[1])["error"]
assert isinstance(e,str) and "secret" in e' "$(body_of "$r")"
r=$(http POST /api/chat "" '{"model":"native"}')
check_eq "/api/chat: no key, 401" 401 "$(status_of "$r")"
check "/api/chat: 401 in Ollama's shape" python3 -c '
import json,sys
assert isinstance(json.loads(sys.argv[1])["error"],str)' "$(body_of "$r")"
r=$(http POST /api/tags "$A")
check_eq "/api/tags: POST is 405" 405 "$(status_of "$r")"
check "/api/tags: 405 in Ollama's shape" python3 -c '
import json,sys
assert isinstance(json.loads(sys.argv[1])["error"],str)' "$(body_of "$r")"
r=$(http POST /api/pull "$A" '{"model":"x"}')
check_eq "/api/pull: no such route, 404" 404 "$(status_of "$r")"
check "/api/pull: 404 in Ollama's shape" python3 -c '
import json,sys
assert isinstance(json.loads(sys.argv[1])["error"],str)' "$(body_of "$r")"
r=$(http GET /api/tags "$B")
check_not_contains "/api/tags: bravo's token sees bravo's only" "native" "$(body_of "$r")"

# --- Ollama's routes to a model behind an OpenAI provider: translated ----
r=$(http POST /api/chat "$A" \
    '{"model":"org/chat-7b","stream":false,"messages":[{"role":"user","content":"hi"}]}')
check_eq "translated chat: 200" 200 "$(status_of "$r")"
check "translated chat: Ollama's answer" python3 -c '
import json,sys
a=json.loads(sys.argv[1])
assert a["model"]=="org/chat-7b" and a["done"] is True, a
assert a["message"]["role"]=="assistant" and a["message"]["content"], a
assert a["eval_count"]>0 and a["prompt_eval_count"]>0, a' "$(body_of "$r")"
check_contains "translated chat: the backend got chat completions" \
    '"path":"/v1/chat/completions"' "$(backend_requests | tail -c 20000)"
r=$(curl -sS -m 20 -D "$T_DIR/h" -H "Authorization: Bearer $A" \
    --data-binary '{"model":"org/chat-7b","messages":[{"role":"user","content":"hi"}]}' \
    "$AGENT_URL/proxy/acme/api/chat")
check_contains "translated stream: NDJSON" "application/x-ndjson" "$(cat "$T_DIR/h")"
check "translated stream: pieces, then one done line with counts" python3 -c '
import json,sys
ls=[json.loads(l) for l in sys.argv[1].splitlines() if l.strip()]
assert len(ls)>=3 and all(not l["done"] for l in ls[:-1]) and ls[-1]["done"], ls
assert all(l["model"]=="org/chat-7b" for l in ls), ls
assert "".join(l["message"]["content"] for l in ls[:-1]), ls
assert ls[-1]["eval_count"]>0 and ls[-1]["done_reason"]=="stop", ls[-1]
assert ls[-1]["cube_receipt"].startswith("v1."), ls[-1]' "$r"
r=$(http POST /api/generate "$A" '{"model":"org/chat-7b","prompt":"hi","stream":false}')
check "translated generate: a response" python3 -c '
import json,sys
a=json.loads(sys.argv[1])
assert a["response"] and a["done"] and a["model"]=="org/chat-7b", a' "$(body_of "$r")"
r=$(http POST /api/embed "$A" '{"model":"embed","input":["a","b"]}')
check "translated embed: two vectors" python3 -c '
import json,sys
a=json.loads(sys.argv[1])
assert len(a["embeddings"])==2 and len(a["embeddings"][0])==8 and a["model"]=="embed", a' "$(body_of "$r")"
r=$(http POST /api/embeddings "$A" '{"model":"embed","prompt":"a"}')
check "translated embeddings (the older route): one vector" python3 -c '
import json,sys
a=json.loads(sys.argv[1])
assert len(a["embedding"])==8, a' "$(body_of "$r")"
r=$(http POST /api/show "$A" '{"model":"org/chat-7b"}')
check_eq "/api/show: 200" 200 "$(status_of "$r")"
check "/api/show: a completion model, no backend detail" python3 -c '
import json,sys
a=json.loads(sys.argv[1])
assert "completion" in a["capabilities"], a
assert "fake-chat" not in sys.argv[1], a' "$(body_of "$r")"
r=$(http POST /api/show "$A" '{"model":"secret"}')
check_eq "/api/show: another domain's model, 404" 404 "$(status_of "$r")"
r=$(http GET /api/ps "$A")
check "/api/ps: the domain's models" python3 -c '
import json,sys
n=sorted(m["name"] for m in json.loads(sys.argv[1])["models"])
assert n==["embed","native","org/chat-7b"], n' "$(body_of "$r")"
ollama_traced() {
	ctl -o json logs -d acme -n 100 | python3 -c '
import json,sys
r={t["route"] for t in json.load(sys.stdin)}
sys.exit(0 if {"ollama_chat","ollama_generate","ollama_embed"} <= r else 1)'
}
check "traces: the translated routes are ollama_*" t_until 10 ollama_traced

check_not_contains "no sanitizer report" "Sanitizer" "$(cat "$AGENT_LOG")"
t_done
