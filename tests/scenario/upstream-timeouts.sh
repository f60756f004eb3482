#!/usr/bin/env bash
# The backend's two deadlines, distinct (3 s and 1.5 s, margins of 0.5 s
# or more on a loaded machine): first-byte-timeout-ms until the
# answer starts, idle-timeout-ms between its pieces, re-armed at each
# one (libevent common timeouts, upstream.c); and a SIGHUP that changes
# the idle one applies to the next request.
. "$(dirname "$0")/../lib.sh"

cat >"$T_DIR/agent.conf" <<CONF
first-byte-timeout-ms = 3000
idle-timeout-ms = 1500
CONF
start_backend
start_agent -c "$T_DIR/agent.conf"
setup_domain acme chat fake-chat
deploy() { ctl model deploy -d acme --provider fake --name "$1" --key "$1" \
    --model-id "$2" >/dev/null 2>&1; }
deploy late 'fake-chat;first_byte_delay_ms=5000'
deploy slowstart 'fake-chat;first_byte_delay_ms=2000'
deploy gaps 'fake-chat;chunks=3;chunk_delay_ms=3000'
deploy steady 'fake-chat;chunks=6;chunk_delay_ms=600'
ask() { http POST /proxy/acme/v1/chat/completions "$TOKEN" \
    "{\"model\":\"$1\",\"stream\":$2,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"; }

r=$(ask late false)
check_eq "no first byte in 3 s: 504 upstream_timeout" "504 upstream_timeout" \
    "$(status_of "$r") $(body_of "$r" | json error.code)"
r=$(ask slowstart false)
check_eq "a first byte after 2 s, past the idle deadline: 200" 200 "$(status_of "$r")"
r=$(ask steady true)
check_eq "a stream with pieces 0.6 s apart: 200" 200 "$(status_of "$r")"
check_contains "  and all of it, [DONE] included" "data: [DONE]" "$(body_of "$r")"
check_eq "  6 pieces of content, 3.6 s in all: re-armed at each" 6 \
    "$(body_of "$r" | grep -c '"content":"[^"]')"
r=$(ask gaps true)
check_eq "a stream that goes silent 3 s: 200 then its error event" 200 \
    "$(status_of "$r")"
check_contains "  the error is a timeout" "upstream_timeout" "$(body_of "$r")"
check_not_contains "  and it does not end as a whole answer" "data: [DONE]" \
    "$(body_of "$r")"

# SIGHUP: idle-timeout-ms 4000, and the same stream completes.
cat >"$T_DIR/agent.conf" <<CONF
first-byte-timeout-ms = 3000
idle-timeout-ms = 4000
CONF
kill -HUP "$AGENT_PID"
t_until 10 grep -q 'SIGHUP: idle-timeout-ms 1500 -> 4000' "$AGENT_LOG"
check "the reload is logged" grep -q 'SIGHUP: idle-timeout-ms 1500 -> 4000' "$AGENT_LOG"
r=$(ask gaps true)
check_eq "after it, pieces 3 s apart: 200" 200 "$(status_of "$r")"
check_contains "  whole, [DONE] included" "data: [DONE]" "$(body_of "$r")"

t_done
