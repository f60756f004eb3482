#!/usr/bin/env bash
# The admin socket against a backend that never answers and hostile lines:
# provider test and the model deploy pre-flight probe the backend off the
# admin loop and outside SQLite's write lock, so other connections and the
# trace writer go on meanwhile; a peer that hangs up while its probe runs
# gets nothing run; SIGTERM does not wait for a probe; strings holding
# \u0000 are refused. Real agent, real fake backend, a held backend.
# serial: asserts the admin probe and SIGTERM take under 1.5 s and 3 s
. "$(dirname "$0")/../lib.sh"

cat >"$T_DIR/agent.conf" <<CONF
trace-flush-ms = 50
provider-check-interval = 0
CONF
start_backend
# Holds every request until $T_DIR/release exists.
python3 "$CUBE_ROOT/tests/tools/hold-backend.py" "$T_DIR/hold.port" \
    "$T_DIR/hold.count" "$T_DIR/release" held-model >"$T_DIR/hold.log" 2>&1 &
T_PIDS+=("$!")
t_wait_file "$T_DIR/hold.port" 10 || { echo "hold-backend did not start"; exit 1; }
HOLD_URL="http://127.0.0.1:$(cat "$T_DIR/hold.port")/v1"
start_agent -c "$T_DIR/agent.conf"

setup_domain acme chat fake-chat
ctl provider add -d acme held --driver openai --url "$HOLD_URL" >/dev/null
ctl provider add -d acme held2 --driver openai --url "$HOLD_URL" >/dev/null

now_ms() { date +%s%3N; }
held_count() { cat "$T_DIR/hold.count" 2>/dev/null || echo 0; }
# Wait until the held backend has seen n requests in all.
wait_held() {	# n
	local i
	for ((i = 0; i < 200; i++)); do
		[ "$(held_count)" -ge "$1" ] && return 0
		sleep 0.05
	done
	return 1
}
# The id of acme's newest committed trace (what cubectl logs shows).
# (sed, not python: this is polled, and python may take a second to start.)
newest_trace() {
	ctl -o json logs -d acme -n 1 | sed -n 's/^[[:space:]]*"id":[[:space:]]*"\([0-9]*\)",$/\1/p'
}
# On a connection of its own: send lines (a newline ends each), wait until
# file exists, then print n reply lines and hang up.
admin_conn() {	# lines file n
	python3 - "$AGENT_SOCK" "$@" <<'PY'
import os, socket, sys, time
path, lines, until, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
s = socket.socket(socket.AF_UNIX)
s.settimeout(20)
s.connect(path)
s.sendall(lines.encode())
while not os.path.exists(until):
    time.sleep(0.02)
buf = b""
while buf.count(b"\n") < n:
    chunk = s.recv(65536)
    if not chunk:
        break
    buf += chunk
sys.stdout.write(buf.decode())
PY
}
raw_line() { admin_conn "$1"$'\n' /dev/null 1; }

# While a probe of a backend that does not answer runs (on one connection),
# status and domain list on others answer at once, and a request on a
# healthy model has its trace committed and shown. Before, the whole admin
# loop (and, for deploy, SQLite's write lock) waited up to 5 s.
while_probing() {	# what, command...
	local what=$1 pid t0 t1 id0 n seen= running=
	shift
	id0=$(newest_trace)
	n=$(held_count)
	"$@" >"$T_DIR/bg.out" 2>&1 &
	pid=$!
	wait_held $((n + 1)) || not_ok "$what: probe reached the backend"
	t0=$(now_ms)
	ctl status >/dev/null
	t1=$(now_ms)
	check "$what: status on another connection within 1.5 s ($((t1 - t0)) ms)" \
	    [ $((t1 - t0)) -lt 1500 ]
	t0=$(now_ms)
	out=$(ctl domain list)
	t1=$(now_ms)
	check "$what: domain list within 1.5 s ($((t1 - t0)) ms)" \
	    [ $((t1 - t0)) -lt 1500 ]
	check_contains "$what: domain list answers" acme "$out"
	r=$(http POST /proxy/acme/v1/chat/completions "$TOKEN" \
	    '{"model":"chat","messages":[{"role":"user","content":"hi"}]}')
	check_eq "$what: a healthy model answers" 200 "$(status_of "$r")"
	# Until the trace shows, the probe ends, or 3 s pass.
	t0=$(now_ms)
	while kill -0 "$pid" 2>/dev/null && [ $(($(now_ms) - t0)) -lt 3000 ]; do
		if [ "$(newest_trace)" != "$id0" ]; then
			seen=1
			kill -0 "$pid" 2>/dev/null && running=1
			break
		fi
		sleep 0.05
	done
	t1=$(now_ms)
	check "$what: its trace is in the logs while the probe still runs ($((t1 - t0)) ms)" \
	    [ -n "$seen" -a -n "$running" ]
	wait "$pid"
	BG_STATUS=$?
}

# --- model deploy: the pre-flight's probe ---------------------------------
while_probing "model deploy" ctl model deploy -d acme --provider held \
    --name Held --key held --model-id held-model
check_eq "model deploy: failed when the backend did not answer" 1 "$BG_STATUS"
check_contains "model deploy: says why" "cannot ask the backend" "$(cat "$T_DIR/bg.out")"
check_not_contains "model deploy: nothing stored" '"held"' "$(ctl -o json model list -d acme)"

# --- provider test ---------------------------------------------------------
while_probing "provider test" ctl provider test -d acme held2
check_eq "provider test: exits 1, not active" 1 "$BG_STATUS"
check_contains "provider test: errored" errored "$(cat "$T_DIR/bg.out")"
# --- one connection: its later requests wait, replies stay in order ------
# provider.models waits for the held backend, status behind it; released,
# both come back, in order, the models from the probe's thread.
n=$(held_count)
admin_conn '{"jsonrpc":"2.0","id":1,"method":"provider.models","params":{"domain":"acme","name":"held2"}}
{"jsonrpc":"2.0","id":2,"method":"status"}
' "$T_DIR/release" 2 >"$T_DIR/conn.out" &
pid=$!
wait_held $((n + 1)) || not_ok "one connection: probe reached the backend"
touch "$T_DIR/release"
wait "$pid"
check_eq "one connection: replies in order" '"id":1 "id":2' \
    "$(grep -o '"id":[0-9]*' "$T_DIR/conn.out" | paste -sd ' ')"
check_contains "one connection: the models from the probe's thread" \
    '{"models":["held-model"]}' "$(head -n 1 "$T_DIR/conn.out")"

# --- a peer that hangs up while its probe runs ----------------------------
# The backend answers once released: the deploy would pass, but its peer
# is gone by then, so nothing is run for it.
rm -f "$T_DIR/release"
n=$(held_count)
admin_conn '{"jsonrpc":"2.0","id":1,"method":"model.deploy","params":{"domain":"acme","provider":"held","name":"Gone","key":"gone","model_id":"held-model"}}
' "$T_DIR/hang-up" 0 &
pid=$!
wait_held $((n + 1)) || not_ok "hung up: probe reached the backend"
touch "$T_DIR/hang-up"
wait "$pid"
touch "$T_DIR/release"
for ((i = 0; i < 100; i++)); do
	grep -q "hung up while model.deploy waited" "$AGENT_LOG" && break
	sleep 0.05
done
check_contains "hung up: logged, not run" "hung up while model.deploy waited" "$(cat "$AGENT_LOG")"
check_not_contains "hung up: not deployed" '"gone"' "$(ctl -o json model list -d acme)"
# The same deploy from a peer that stays gets its answer and the model.
out=$(ctl -o json model deploy -d acme --provider held --name Kept --key kept --model-id held-model)
check_eq "released: deployed" kept "$(printf '%s' "$out" | json key)"

# --- the provider edited while its probe runs -----------------------------
# The outcome was for the old URL: the deploy fails and stores nothing.
rm -f "$T_DIR/release"
n=$(held_count)
ctl model deploy -d acme --provider held --name Moved --key moved \
    --model-id held-model >"$T_DIR/bg.out" 2>&1 &
pid=$!
wait_held $((n + 1)) || not_ok "edited: probe reached the backend"
ctl provider edit -d acme held --url "$HOLD_URL/elsewhere" >/dev/null
touch "$T_DIR/release"
wait "$pid"
check_eq "edited meanwhile: deploy fails" 1 "$?"
check_contains "edited meanwhile: says so" "changed while it was being checked" "$(cat "$T_DIR/bg.out")"
check_not_contains "edited meanwhile: nothing stored" '"moved"' "$(ctl -o json model list -d acme)"
ctl provider edit -d acme held --url "$HOLD_URL" >/dev/null

# --- \u0000 in a raw line -------------------------------------------------
out=$(raw_line '{"jsonrpc":"2.0","id":5,"method":"domain.create","params":{"name":"ev\u0000il"}}')
check_contains "NUL: invalid params" '"code":-32602' "$out"
check_contains "NUL: says why" "NUL" "$out"
check_not_contains "NUL: no domain 'ev'" '"ev"' "$(ctl -o json domain list)"
out=$(raw_line '{"jsonrpc":"2.0","id":6,"method":"domain.create","params":{"name\u0000x":"evil"}}')
check_contains "NUL in a key: invalid params" '"code":-32602' "$out"
check_not_contains "NUL in a key: no domain 'evil'" '"evil"' "$(ctl -o json domain list)"
out=$(raw_line '{"jsonrpc":"2.0","id":7,"method":"nope\\u0000"}')
check_contains "escaped backslash: an ordinary string" '"code":-32601' "$out"

# --- at most 16 probes at once ---------------------------------------------
# Sixteen connections each wait on the held backend; a seventeenth check is
# refused at once rather than start yet another thread.
rm -f "$T_DIR/release"
n=$(held_count)
out=$(python3 - "$AGENT_SOCK" "$T_DIR/hold.count" $((n + 16)) "$T_DIR/release" <<'PY'
import json, os, socket, sys, time
path, count, want, release = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
line = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "provider.test",
                   "params": {"domain": "acme", "name": "held2"}}) + "\n"
socks = []
for i in range(17):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(20)
    s.connect(path)
    socks.append(s)
for s in socks[:16]:
    s.sendall(line.encode())
deadline = time.monotonic() + 20
while time.monotonic() < deadline:
    try:
        if int(open(count).read() or 0) >= want:
            break
    except OSError:
        pass
    time.sleep(0.05)
socks[16].sendall(line.encode())
print(socks[16].recv(65536).decode().strip())
open(release, "w").close()
for s in socks[:16]:
    s.recv(65536)
PY
)
check_contains "a 17th probe at once: refused" "backend checks are running already" "$out"
check_contains "with failed, not internal_error" '"code":-32004' "$out"

# --- SIGTERM while a probe runs -------------------------------------------
rm -f "$T_DIR/release"
n=$(held_count)
ctl provider test -d acme held2 >/dev/null 2>&1 &
wait_held $((n + 1)) || not_ok "SIGTERM: probe reached the backend"
t0=$(now_ms)
stop_agent
rc=$?
t1=$(now_ms)
check_eq "SIGTERM: clean exit (no leak)" 0 "$rc"
check "SIGTERM: within 3 s while a probe runs ($((t1 - t0)) ms)" [ $((t1 - t0)) -lt 3000 ]
t_done
