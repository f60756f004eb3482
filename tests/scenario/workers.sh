#!/usr/bin/env bash
# Several worker loops share the port; every one of them sees an admin
# change (a disable, a revoke) on its very next request, each worker
# holding its own reference to the snapshot. A
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

# A revoke is a security property: no worker may answer from the snapshot
# it held before, on new connections or on ones it keeps alive.
run_kept() {	# N TOKEN: N requests over 6 kept-alive connections; status codes
	local i urls=()
	for i in $(seq "$1"); do
		urls+=(-o /dev/null "$AGENT_URL/proxy/acme/v1/chat/completions")
	done
	curl -sS --no-progress-meter -m 20 --parallel --parallel-max 6 -w '%{http_code}\n' \
	    -H "Authorization: Bearer $2" -d "$body" "${urls[@]}" | sort | uniq -c |
	    awk '{ print $2 "x" $1 }'
}
created=$(ctl -o json token create -d acme --name doomed)
doomed=$(echo "$created" | json token)
doomed_id=$(echo "$created" | json id)
check_eq "a new token is served on every worker" "200x60" "$(run_kept 60 "$doomed")"
check_eq "and on new connections" "200x60" "$(TOKEN=$doomed run_many 60)"
# Connections opened and served before the revoke, then reused after it:
# each must answer 401 on the same socket (never reopened in between).
kept=$(python3 - "$AGENT_URL" "$doomed" "$body" "$CUBE_BIN/cubectl" \
    "$AGENT_SOCK" "$doomed_id" <<'PY'
import http.client, subprocess, sys, urllib.parse
url, token, body, cubectl, sock, tid = sys.argv[1:]
u = urllib.parse.urlparse(url)
hdr = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
conns = [http.client.HTTPConnection(u.hostname, u.port, timeout=10)
         for _ in range(12)]
def ask(c):	# the status, and the socket the request went out on
    c.request("POST", "/proxy/acme/v1/chat/completions", body, hdr)
    used = c.sock
    r = c.getresponse()
    r.read()
    return r.status, used
before = [ask(c) for c in conns]
subprocess.run([cubectl, "-s", sock, "token", "revoke", "-d", "acme", tid],
               check=True, stdout=subprocess.DEVNULL)
after = [ask(c) for c in conns]
same = all(a[1] is b[1] for a, b in zip(before, after))
print("before=%s after=%s same=%s" % (
      ",".join(sorted({str(a[0]) for a in before})),
      ",".join(sorted({str(a[0]) for a in after})), same))
PY
)
check_eq "after revoke, connections kept alive from before it get 401" \
    "before=200 after=401 same=True" "$kept"
check_eq "after revoke, every new connection gets 401" "401x60" "$(TOKEN=$doomed run_many 60)"
check_eq "the other token still passes" "200x60" "$(run_kept 60 "$TOKEN")"

out=$(curl -sS -N -m 10 "$AGENT_URL/proxy/acme/v1/chat/completions" \
    -H "Authorization: Bearer $TOKEN" -d '{"model":"stall","stream":true,"messages":[]}')
check_contains "a backend silent mid-stream is cut by the idle timeout" '"upstream_timeout"' "$out"
check "agent stops cleanly" stop_agent
t_done
