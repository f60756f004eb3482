#!/usr/bin/env bash
# Several worker loops share the port; every one of them sees an admin
# change on its very next request (one snapshot, swapped for all). A
# backend that goes silent mid-stream is cut by the idle timeout.
. "$(dirname "$0")/../lib.sh"

cat >"$T_DIR/agent.conf" <<CONF
idle-timeout-ms = 800
CONF
start_backend
start_agent --workers 3 -c "$T_DIR/agent.conf"
setup_domain acme chat fake-chat
ctl model deploy -d acme --provider fake --name Stall --key stall \
    --model-id 'fake-chat;chunks=3;chunk_delay_ms=3000' >/dev/null
check_eq "status shows three workers" 3 "$(ctl -o json status | json workers)"

body='{"model":"chat","messages":[{"role":"user","content":"hi"}]}'
run_many() {	# N: N requests, 8 at a time, fresh connections; prints the status codes
	seq "$1" | xargs -P 8 -I{} curl -sS -m 10 -o /dev/null -w '%{http_code}\n' \
	    -H "Authorization: Bearer $TOKEN" -d "$body" \
	    "$AGENT_URL/proxy/acme/v1/chat/completions" | sort | uniq -c | awk '{ print $2 "x" $1 }'
}
check_eq "60 parallel requests across the workers all succeed" "200x60" "$(run_many 60)"
ctl model disable -d acme chat >/dev/null
check_eq "after disable, every worker refuses at once" "403x60" "$(run_many 60)"
ctl model enable -d acme chat >/dev/null
check_eq "after enable, every worker serves again" "200x60" "$(run_many 60)"

out=$(curl -sS -N -m 10 "$AGENT_URL/proxy/acme/v1/chat/completions" \
    -H "Authorization: Bearer $TOKEN" -d '{"model":"stall","stream":true,"messages":[]}')
check_contains "a backend silent mid-stream is cut by the idle timeout" '"upstream_timeout"' "$out"
check "agent stops cleanly" stop_agent
t_done
