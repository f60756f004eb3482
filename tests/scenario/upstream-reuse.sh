#!/usr/bin/env bash
# Connections to the backend, through both of the agent's clients: its
# own HTTP/1.1 one (upstream-h1.c) for a backend named by its address,
# libcurl (upstream.c) for one named by a host name (named.localhost here,
# which libcurl resolves to loopback itself; the own client takes only
# "localhost").
# Each: kept alive and reused one request after another; one each for
# streams open at once, and those reused once they end, also past 256 at
# once (libcurl's shards, multi handles of 256 transfers; the agent counts
# the connections libcurl holds to skip its search for an idle one when
# none can be idle, and that count must never stop a reuse that could
# happen); a kept-alive connection the backend drops as it is reused is
# tried again, once, on a new one. fake-llm records each request's client
# port, one per connection.
. "$(dirname "$0")/../lib.sh"

LOAD="$CUBE_BIN/cube-stream-load"
[ -x "$LOAD" ] || { echo "# SKIP cube-stream-load not built ($LOAD)"; exit 0; }

start_backend
start_agent
setup_domain acme chat fake-chat
bport=${BACKEND_URL##*:}
bport=${bport%%/*}
ctl provider add -d acme named --driver openai \
    --url "http://named.localhost:$bport/v1" >/dev/null
for p in fake named; do
	ctl model deploy -d acme --provider $p --name "Chat $p" --key "chat-$p" \
	    --model-id fake-chat >/dev/null
	ctl model deploy -d acme --provider $p --name "Stream $p" \
	    --key "stream-$p" \
	    --model-id 'fake-chat;chunks=10;chunk_delay_ms=100' >/dev/null
	# 3 s streams for the big bursts: all open at once on a loaded machine.
	ctl model deploy -d acme --provider $p --name "Long $p" --key "long-$p" \
	    --model-id 'fake-chat;chunks=10;chunk_delay_ms=300' >/dev/null
	ctl model deploy -d acme --provider $p --name "Drop $p" --key "drop-$p" \
	    --model-id 'fake-chat;drop_reused=1' >/dev/null
done

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
chat_body() { printf '{"model":"%s","messages":[{"role":"user","content":"hi"}]}' "$1"; }

# Established connections whose far end is the backend's port, from
# /proc/net/tcp (fake-llm keeps only its last 256 requests).
backend_conns() {
	python3 -c 'import sys
n = 0
for line in open("/proc/net/tcp").readlines()[1:]:
    f = line.split()
    if int(f[2].split(":")[1], 16) == int(sys.argv[1]) and f[3] == "01":
        n += 1
print(n)' "$bport"
}

reuse() {	# provider label
	local p=$1 l=$2 ok=0 seq0 seq1 seq2 new _
	seq0=$(next_seq)
	# --- one after another: one connection ----------------------------
	for _ in $(seq 20); do
		[ "$(status_of "$(http POST /proxy/acme/v1/chat/completions \
		    "$TOKEN" "$(chat_body "chat-$p")")")" = 200 ] && ok=$((ok + 1))
	done
	check_eq "$l: 20 requests one after another answered" 20 "$ok"
	check_eq "$l: the backend saw 20 of them" 20 "$(ports "$seq0" | wc -l)"
	check_eq "$l: all 20 on one kept-alive connection" 1 \
	    "$(ports "$seq0" | sort -u | wc -l)"

	# --- a connection the backend drops as it is reused: once more ----
	# (Here, while one connection is idle: libcurl tries again on another
	# idle one when there is one, and fake-llm would drop that too.)
	local seqd
	seqd=$(next_seq)
	ok=0
	for _ in 1 2 3; do
		[ "$(status_of "$(http POST /proxy/acme/v1/chat/completions \
		    "$TOKEN" "$(chat_body "drop-$p")")")" = 200 ] && ok=$((ok + 1))
	done
	check_eq "$l: 3 requests on dropped connections answered" 3 "$ok"
	check_eq "$l: each went twice, the second time on a new connection" \
	    "6 4" "$(ports "$seqd" | wc -l) $(ports "$seqd" | sort -u | wc -l)"

	# --- 30 streams at once: 30 connections, one of them the idle one --
	seq1=$(next_seq)
	"$LOAD" -u "$AGENT_URL/proxy/acme/v1/chat/completions" -t "$TOKEN" \
	    -m "stream-$p" --plain-model -n 30 -p 30 -c 10 -d 100 --timeout 60 \
	    --ready-file "$T_DIR/ready" >"$T_DIR/burst.out" 2>"$T_DIR/burst.err"
	check_eq "$l: 30 streams completed" 0 $?
	check_eq "$l: all 30 were open at once" 30 "$(cat "$T_DIR/ready" 2>/dev/null)"
	ports "$seq1" >"$T_DIR/burst.ports"
	check_eq "$l: the backend saw 30 streams" 30 "$(wc -l <"$T_DIR/burst.ports")"
	check_eq "$l: on 30 connections" 30 "$(sort -u "$T_DIR/burst.ports" | wc -l)"
	check "$l: one reused the idle connection" \
	    grep -qx "$(ports "$seq0" | tail -n 1)" "$T_DIR/burst.ports"

	# --- after the burst: its idle connections serve the next ones -----
	seq2=$(next_seq)
	"$LOAD" -u "$AGENT_URL/proxy/acme/v1/chat/completions" -t "$TOKEN" \
	    -m "stream-$p" --plain-model -n 10 -p 10 -c 3 -d 50 --timeout 60 \
	    >"$T_DIR/again.out" 2>"$T_DIR/again.err"
	check_eq "$l: 10 more streams completed" 0 $?
	ports "$seq2" >"$T_DIR/again.ports"
	check_eq "$l: the backend saw 10 more" 10 "$(wc -l <"$T_DIR/again.ports")"
	new=$(sort -u "$T_DIR/again.ports" | while read -r port; do
		grep -qx "$port" "$T_DIR/burst.ports" || echo "$port"; done | wc -l)
	check_eq "$l: no new connection while 30 were idle" 0 "$new"

}
reuse fake "own client"
reuse named libcurl
check_not_contains "upstream-client auto: no word of libcurl for all" \
    "libcurl for every one" "$(cat "$AGENT_LOG")"

# --- upstream-client = libcurl: libcurl for a backend by address too -----
printf 'upstream-client = curl\n' >"$T_DIR/bad.conf"
check_contains "upstream-client: a bad value is refused" \
    "upstream-client: 'curl' is not auto or libcurl" \
    "$("$CUBE_BIN/cube-agent" -c "$T_DIR/bad.conf" --check-config 2>&1)"
stop_agent
printf 'upstream-client = libcurl\n' >"$T_DIR/agent.conf"
start_agent -c "$T_DIR/agent.conf"
check "upstream-client = libcurl: said at start" grep -q \
    'backends: libcurl for every one (upstream-client = libcurl)' "$AGENT_LOG"
ok=0
for _ in 1 2 3; do
	[ "$(status_of "$(http POST /proxy/acme/v1/chat/completions \
	    "$TOKEN" "$(chat_body drop-fake)")")" = 200 ] && ok=$((ok + 1))
done
check_eq "libcurl for 127.0.0.1: 3 requests on dropped connections answered" \
    3 "$ok"

# --- 600 streams at once: then no connection is new -------------------
need=$((2 * 2 * 600 + 64))
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
before=0
for p in fake named; do
	l="own client"
	[ $p = named ] && l=libcurl
	"$LOAD" -u "$AGENT_URL/proxy/acme/v1/chat/completions" -t "$TOKEN" \
	    -m "long-$p" --plain-model -n 600 -p 300 -c 10 -d 300 --timeout 120 \
	    --ready-file "$T_DIR/ready600" >"$T_DIR/big.out" 2>"$T_DIR/big.err"
	check_eq "$l: 600 streams completed" 0 $?
	check_eq "$l: all 600 were open at once" 600 \
	    "$(cat "$T_DIR/ready600" 2>/dev/null)"
	check_eq "$l: 600 connections to the backend stay open, idle" \
	    $((before + 600)) "$(backend_conns)"
	"$LOAD" -u "$AGENT_URL/proxy/acme/v1/chat/completions" -t "$TOKEN" \
	    -m "long-$p" --plain-model -n 400 -p 200 -c 10 -d 300 --timeout 60 \
	    --ready-file "$T_DIR/ready400" >"$T_DIR/after.out" 2>"$T_DIR/after.err"
	check_eq "$l: 400 more streams completed" 0 $?
	check_eq "$l: all 400 open at once" 400 \
	    "$(cat "$T_DIR/ready400" 2>/dev/null)"
	check_eq "$l: on those 600: none new" $((before + 600)) "$(backend_conns)"
	before=$((before + 600))
done

t_done
