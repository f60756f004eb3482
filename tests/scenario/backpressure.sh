#!/usr/bin/env bash
# A slow client must slow the backend down, not fill the agent's memory:
# the stream pauses upstream while the client does not read, and resumes
# when it does, losing nothing.
. "$(dirname "$0")/../lib.sh"

start_backend
start_agent
setup_domain acme big 'fake-chat;echo=1;chunks=100000'

# 2 MB of prompt echoed in 100000 events: about 27 MB of SSE.
python3 -c 'import json; print(json.dumps({"model":"big","stream":True,
    "messages":[{"role":"user","content":"x"*2000000}]}))' >"$T_DIR/body.json"
out=$(python3 "$CUBE_ROOT/tests/tools/slow-reader.py" \
    "$AGENT_URL/proxy/acme/v1/chat/completions" "$TOKEN" "$T_DIR/body.json" "$AGENT_PID" 3)
growth=$(echo "$out" | awk '/rss_growth_kb/ { print $2 }')
bytes=$(echo "$out" | awk '/^bytes/ { print $2 }')
check "agent memory stays flat while the client does not read (grew ${growth} KB)" \
    [ "${growth:-999999}" -lt 12000 ]
check "the whole stream arrives once the client reads (${bytes} bytes)" \
    [ "${bytes:-0}" -gt 20000000 ]
check_contains "the stream ends with [DONE]" "done True" "$out"
check "agent stops cleanly" stop_agent
t_done
