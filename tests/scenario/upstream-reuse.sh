#!/usr/bin/env bash
# Connections to the backend: kept alive and reused one request after
# another; one each for streams open at once, and those reused once they
# end, also past one shard (a multi handle of 256 transfers, upstream.c). The agent counts the connections libcurl holds to skip its search
# for an idle one when none can be idle (upstream.c): that count must
# never stop a reuse that could happen. fake-llm records each request's
# client port, one per connection.
. "$(dirname "$0")/../lib.sh"

LOAD="$CUBE_BIN/cube-stream-load"
[ -x "$LOAD" ] || { echo "# SKIP cube-stream-load not built ($LOAD)"; exit 0; }

start_backend
start_agent
setup_domain acme chat fake-chat
ctl model deploy -d acme --provider fake --name Stream --key stream \
    --model-id 'fake-chat;chunks=10;chunk_delay_ms=100' >/dev/null
# 3 s streams for the big bursts: all open at once on a loaded machine.
ctl model deploy -d acme --provider fake --name Long --key long \
    --model-id 'fake-chat;chunks=10;chunk_delay_ms=300' >/dev/null
body='{"model":"chat","messages":[{"role":"user","content":"hi"}]}'

# ports [FIRST_SEQ]: the client ports of the chat requests fake-llm got
# from sequence FIRST_SEQ on, one per line in order.
ports() {
	backend_requests | python3 -c 'import json,sys
for r in json.load(sys.stdin):
    if r["path"] == "/v1/chat/completions" and r["seq"] >= int(sys.argv[1]):
        print(r["peer_port"])' "${1:-0}"
}
next_seq() {
	backend_requests | python3 -c 'import json,sys
a = json.load(sys.stdin); print(a[-1]["seq"] + 1 if a else 0)'
}

# --- one after another: one connection ------------------------------------
ok=0
for _ in $(seq 20); do
	[ "$(status_of "$(http POST /proxy/acme/v1/chat/completions "$TOKEN" "$body")")" = 200 ] &&
	    ok=$((ok + 1))
done
check_eq "20 requests one after another answered" 20 "$ok"
check_eq "the backend saw 20 of them" 20 "$(ports | wc -l)"
check_eq "all 20 on one kept-alive connection" 1 "$(ports | sort -u | wc -l)"

# --- 30 streams at once: 30 connections, each one new but the idle one ----
seq0=$(next_seq)
"$LOAD" -u "$AGENT_URL/proxy/acme/v1/chat/completions" -t "$TOKEN" \
    -m stream --plain-model -n 30 -p 30 -c 10 -d 100 --timeout 60 \
    --ready-file "$T_DIR/ready" >"$T_DIR/burst.out" 2>"$T_DIR/burst.err"
check_eq "30 streams completed" 0 $?
check_eq "all 30 were open at once" 30 "$(cat "$T_DIR/ready" 2>/dev/null)"
ports "$seq0" >"$T_DIR/burst.ports"
check_eq "the backend saw 30 streams" 30 "$(wc -l <"$T_DIR/burst.ports")"
check_eq "on 30 connections" 30 "$(sort -u "$T_DIR/burst.ports" | wc -l)"
ports >"$T_DIR/all.ports"
check "the first reused the idle connection" \
    grep -qx "$(head -n 1 "$T_DIR/all.ports")" "$T_DIR/burst.ports"

# --- after the burst: its idle connections serve the next ones ------------
seq1=$(next_seq)
"$LOAD" -u "$AGENT_URL/proxy/acme/v1/chat/completions" -t "$TOKEN" \
    -m stream --plain-model -n 10 -p 10 -c 3 -d 50 --timeout 60 \
    >"$T_DIR/again.out" 2>"$T_DIR/again.err"
check_eq "10 more streams completed" 0 $?
ports "$seq1" >"$T_DIR/again.ports"
check_eq "the backend saw 10 more" 10 "$(wc -l <"$T_DIR/again.ports")"
new=$(sort -u "$T_DIR/again.ports" | while read -r p; do
	grep -qx "$p" "$T_DIR/burst.ports" || echo "$p"; done | wc -l)
check_eq "no new connection while 30 were idle" 0 "$new"
check_eq "then one after another again: no new connection" 200 \
    "$(status_of "$(http POST /proxy/acme/v1/chat/completions "$TOKEN" "$body")")"
ports >"$T_DIR/all.ports"
check "  (the same port as one of the burst)" \
    grep -qx "$(tail -n 1 "$T_DIR/all.ports")" "$T_DIR/burst.ports"


# --- 600 streams at once: three shards; then no connection is new -------
# Counted in /proc/net/tcp (fake-llm keeps only its last 256 requests):
# established connections whose far end is the backend's port.
bport=${BACKEND_URL##*:}
bport=${bport%%/*}
backend_conns() {
	python3 -c 'import sys
n = 0
for line in open("/proc/net/tcp").readlines()[1:]:
    f = line.split()
    if int(f[2].split(":")[1], 16) == int(sys.argv[1]) and f[3] == "01":
        n += 1
print(n)' "$bport"
}
need=$((2 * 600 + 64))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$need" ] &&
    ! ulimit -n "$need" 2>/dev/null; then
	echo "# SKIP 600 streams: the open-file limit $(ulimit -n) is below $need"
	t_done
fi
stop_agent
cat >"$T_DIR/agent.conf" <<CONF
max-connections = 700
max-connections-per-address = 700
CONF
start_agent -c "$T_DIR/agent.conf"
"$LOAD" -u "$AGENT_URL/proxy/acme/v1/chat/completions" -t "$TOKEN" \
    -m long --plain-model -n 600 -p 300 -c 10 -d 300 --timeout 120 \
    --ready-file "$T_DIR/ready600" >"$T_DIR/big.out" 2>"$T_DIR/big.err"
check_eq "600 streams completed" 0 $?
check_eq "all 600 were open at once" 600 "$(cat "$T_DIR/ready600" 2>/dev/null)"
check_eq "600 connections to the backend stay open, idle" 600 "$(backend_conns)"
"$LOAD" -u "$AGENT_URL/proxy/acme/v1/chat/completions" -t "$TOKEN" \
    -m long --plain-model -n 400 -p 200 -c 10 -d 300 --timeout 60 \
    --ready-file "$T_DIR/ready400" >"$T_DIR/after.out" 2>"$T_DIR/after.err"
check_eq "400 more streams completed" 0 $?
check_eq "all 400 open at once, over two shards" 400 \
    "$(cat "$T_DIR/ready400" 2>/dev/null)"
check_eq "on those 600: none new" 600 "$(backend_conns)"

t_done
