#!/usr/bin/env bash
# The backend's two deadlines, distinct (3 s and 1.5 s, margins of 0.5 s
# or more on a loaded machine): first-byte-timeout-ms until the
# answer starts, idle-timeout-ms between its pieces, re-armed at each
# one (libevent common timeouts); and a SIGHUP that changes the idle one
# applies to the next request. Through both of the agent's clients: its
# own (upstream-h1.c) for a backend named by its address, libcurl
# (upstream.c) for one named by a host name.
. "$(dirname "$0")/../lib.sh"

cat >"$T_DIR/agent.conf" <<CONF
first-byte-timeout-ms = 3000
idle-timeout-ms = 1500
CONF
start_backend
start_agent -c "$T_DIR/agent.conf"
setup_domain acme chat fake-chat
bport=${BACKEND_URL##*:}
bport=${bport%%/*}
ctl provider add -d acme named --driver openai \
    --url "http://named.localhost:$bport/v1" >/dev/null
deploy() {
	local p
	for p in fake named; do
		ctl model deploy -d acme --provider $p --name "$1-$p" \
		    --key "$1-$p" --model-id "$2" >/dev/null 2>&1
	done
}
deploy late 'fake-chat;first_byte_delay_ms=5000'
deploy slowstart 'fake-chat;first_byte_delay_ms=2000'
deploy gaps 'fake-chat;chunks=3;chunk_delay_ms=3000'
deploy steady 'fake-chat;chunks=6;chunk_delay_ms=600'
ask() { http POST /proxy/acme/v1/chat/completions "$TOKEN" \
    "{\"model\":\"$1\",\"stream\":$2,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"; }

for p in fake named; do
	l="own client"
	[ $p = named ] && l=libcurl
	r=$(ask late-$p false)
	check_eq "$l: no first byte in 3 s: 504 upstream_timeout" \
	    "504 upstream_timeout" \
	    "$(status_of "$r") $(body_of "$r" | json error.code)"
	r=$(ask slowstart-$p false)
	check_eq "$l: a first byte after 2 s, past the idle deadline: 200" 200 \
	    "$(status_of "$r")"
	r=$(ask steady-$p true)
	check_eq "$l: a stream with pieces 0.6 s apart: 200" 200 "$(status_of "$r")"
	check_contains "  and all of it, [DONE] included" "data: [DONE]" \
	    "$(body_of "$r")"
	check_eq "  6 pieces of content, 3.6 s in all: re-armed at each" 6 \
	    "$(body_of "$r" | grep -c '"content":"[^"]')"
	r=$(ask gaps-$p true)
	check_eq "$l: a stream that goes silent 3 s: 200 then its error event" \
	    200 "$(status_of "$r")"
	check_contains "  the error is a timeout" "upstream_timeout" \
	    "$(body_of "$r")"
	check_not_contains "  and it does not end as a whole answer" \
	    "data: [DONE]" "$(body_of "$r")"
done

# SIGHUP: idle-timeout-ms 4000, and the same stream completes.
cat >"$T_DIR/agent.conf" <<CONF
first-byte-timeout-ms = 3000
idle-timeout-ms = 4000
CONF
kill -HUP "$AGENT_PID"
t_until 10 grep -q 'SIGHUP: idle-timeout-ms 1500 -> 4000' "$AGENT_LOG"
check "the reload is logged" grep -q 'SIGHUP: idle-timeout-ms 1500 -> 4000' "$AGENT_LOG"
for p in fake named; do
	r=$(ask gaps-$p true)
	check_eq "$p: after it, pieces 3 s apart: 200" 200 "$(status_of "$r")"
	check_contains "  whole, [DONE] included" "data: [DONE]" "$(body_of "$r")"
done

t_done
