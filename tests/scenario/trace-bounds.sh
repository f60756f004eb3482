#!/usr/bin/env bash
# Trace memory is bounded in bytes, and cut between characters: the prompt
# a domain that logs content keeps is at most 64 KiB of the body, even when
# that limit falls inside a character.
. "$(dirname "$0")/../lib.sh"

cat >"$T_DIR/agent.conf" <<CONF
trace-flush-ms = 50
CONF
start_backend
start_agent -c "$T_DIR/agent.conf"
ctl domain create acme >/dev/null
ctl domain edit acme --log-content on >/dev/null
ctl provider add -d acme fake --driver openai --url "$BACKEND_URL/v1" >/dev/null
ctl model deploy -d acme --provider fake --name Chat --key chat \
    --model-id fake-chat >/dev/null 2>&1
TOK=$(ctl -o json token create -d acme --name t | json token)

# A 70 KB body of two-byte characters whose 65,536th byte is the first
# half of one.
python3 - "$T_DIR/body" <<'PY'
import sys
head = '{"model":"chat","messages":[{"role":"user","content":"'
if (65536 - len(head)) % 2 == 0:
    head += "x"
body = head + "\u00e9" * 35000 + '"}]}'
open(sys.argv[1], "wb").write(body.encode())
PY
r=$(curl -sS -m 20 -H "Authorization: Bearer $TOK" -H 'Content-Type: application/json' \
    --data-binary @"$T_DIR/body" -w '\n%{http_code}' "$AGENT_URL/v1/chat/completions")
check_eq "a 70 KB prompt: 200" 200 "$(status_of "$r")"
kept() {
	ctl -o json logs -d acme -n 1 >"$T_DIR/logs" 2>/dev/null &&
	    python3 - "$T_DIR/logs" "$T_DIR/body" <<'PY'
import json, sys
raw = open(sys.argv[1], "rb").read()
t = json.loads(raw.decode("utf-8"))
body = open(sys.argv[2], "rb").read()
if not t or not t[0].get("prompt"):
    sys.exit(1)
p = t[0]["prompt"].encode("utf-8")
print(len(p), body.startswith(p))
PY
}
t_until 10 kept >/dev/null
check_eq "the prompt kept: 65,535 bytes of it, whole characters" \
    "65535 True" "$(kept 2>&1 | tail -n 1)"

t_done
