#!/usr/bin/env bash
# SIGHUP reloads the config file: a reloadable key (max-body) applies to
# the next request on every worker, each change is logged, flags still win
# over the file, a broken file (a bad value, a bad line, a missing file)
# is refused whole with the reason, a restart-only key is only warned
# about, a secret never reaches the log, and 20 SIGHUPs in a row while
# requests run lose none of them.
. "$(dirname "$0")/../lib.sh"

CONF="$T_DIR/agent.conf"
# write_conf LINES...: the config file, replaced whole (rename), as an
# editor or a package upgrade would.
write_conf() {
	printf '%s\n' "$@" >"$CONF.new"
	mv "$CONF.new" "$CONF"
}
ctl_answers() { ctl status >/dev/null; }
# log_has TEXT: the agent's log holds TEXT (a fixed string).
log_has() { grep -qF -- "$1" "$AGENT_LOG"; }
# log_count TEXT: how many lines of the agent's log hold TEXT.
log_count() { grep -cF -- "$1" "$AGENT_LOG"; }
# reloads_seen: how many SIGHUPs the log answered, applied or refused.
reloads_seen() {
	echo $(( $(log_count 'SIGHUP: configuration reloaded') +
	    $(log_count 'keeping the running configuration') ))
}
more_than() {	# N COMMAND...: COMMAND prints a number above N
	[ "$("${@:2}")" -gt "$1" ]
}
# hup_and_wait: SIGHUP, then wait for its "reloaded" or "keeping" line.
hup_and_wait() {
	local n
	n=$(reloads_seen)
	kill -HUP "$AGENT_PID"
	t_until 10 more_than "$n" reloads_seen
}
# body_of_size N: a chat request of N bytes.
body_of_size() {
	python3 -c 'import sys
n = int(sys.argv[1])
head = "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\""
tail = "\"}]}"
print(head + "a" * (n - len(head) - len(tail)) + tail, end="")' "$1"
}
# status_for N: the status a chat request of N bytes gets.
status_for() {
	curl -sS -m 20 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
	    -H 'Content-Type: application/json' --data-binary @"$T_DIR/body-$1" \
	    "$AGENT_URL/v1/chat/completions"
}
# all_status S N: five requests of N bytes in a row (new connections,
# so both workers answer) all get S.
all_status() {
	local i
	for i in 1 2 3 4 5; do
		[ "$(status_for "$2")" = "$1" ] || return 1
	done
}
for n in 30000 40000 60000; do body_of_size "$n" >"$T_DIR/body-$n"; done

write_conf 'max-body = 65536' 'idle-timeout-ms = 60000' 'workers = 5'
start_backend
start_agent -c "$CONF" --workers 2
setup_domain acme chat fake-chat
check_eq "workers from the flag, not the file" 2 "$(ctl -o json status | json workers)"

# --- a reloadable key -----------------------------------------------------
check "before the reload: 60000 bytes pass (max-body 65536)" all_status 200 60000
write_conf 'max-body = 32768' 'idle-timeout-ms = 60000' 'workers = 5'
check "SIGHUP: the reload is logged" hup_and_wait
check "... the change, old and new value" log_has 'SIGHUP: max-body 65536 -> 32768'
check "... one key changed" log_has 'SIGHUP: configuration reloaded (1 key changed)'
check_eq "... idle-timeout-ms did not change: no line" 0 "$(log_count 'SIGHUP: idle-timeout-ms')"
check_eq "... the flag still wins over the file: no workers line" 0 \
    "$(log_count 'SIGHUP: workers')"
check_eq "... listen as given (port 0) is not a change" 0 "$(log_count 'SIGHUP: listen')"
check_eq "... nor --tee auto, resolved at start" 0 "$(log_count 'SIGHUP: tee')"
check "after: 40000 bytes get 413 on every worker" t_until 10 all_status 413 40000
check "... 30000 bytes still pass" all_status 200 30000

# --- a broken config is refused whole --------------------------------------
write_conf 'idle-timeout-ms = 1000' 'max-body = 12'
check "a value out of range: refused" hup_and_wait
check "... the log says where and why" log_has \
    "SIGHUP: $CONF:2: max-body: '12' is not a whole number from 1024 to 1073741824; keeping the running configuration"
check_eq "... nothing of it applied (idle-timeout-ms on line 1)" 0 \
    "$(log_count 'SIGHUP: idle-timeout-ms')"
check "... the running max-body stays: 40000 bytes get 413" all_status 413 40000
check "... 30000 bytes pass" all_status 200 30000

write_conf 'max-body = 65536' 'this line has no equals sign'
check "a line that does not parse: refused" hup_and_wait
check "... the log says where" log_has \
    "SIGHUP: $CONF:2: expected 'key = value'; keeping the running configuration"
write_conf 'max-body = 65536' 'no-such-key = 1'
check "an unknown key: refused" hup_and_wait
check "... the log names it" log_has \
    "SIGHUP: $CONF:2: unknown setting 'no-such-key'; keeping the running configuration"
mv "$CONF" "$CONF.away"
check "a missing file: refused" hup_and_wait
check "... the log says so" log_has \
    "SIGHUP: $CONF: No such file or directory; keeping the running configuration"
mkfifo "$CONF"
check "a FIFO (it would stall the main loop): refused" hup_and_wait
check "... the log says so" log_has \
    "SIGHUP: $CONF: not a regular file; keeping the running configuration"
check "... the agent still answers its admin socket" ctl_answers
rm -f "$CONF"
mv "$CONF.away" "$CONF"
check_eq "after four refusals max-body was never changed again" 1 \
    "$(log_count 'SIGHUP: max-body')"
check "... 40000 bytes still get 413" all_status 413 40000

# --- restart-only keys: a warning, the rest applies -------------------------
write_conf 'max-body = 65536' 'otlp-queue = 100' 'workers = 5' \
    'limits-redis-password = hunter2-not-logged'
check "restart-only keys changed: the reload still happens" hup_and_wait
check "... a warning names otlp-queue and the restart" log_has \
    'SIGHUP: otlp-queue 8192 -> 100 needs a restart; still running with the old value'
check "... the password is only said to have changed" log_has \
    'SIGHUP: limits-redis-password (changed) needs a restart'
check_fails "... its value is nowhere in the log" log_has 'hunter2'
check "... the reloadable key applied" log_has 'SIGHUP: max-body 32768 -> 65536'
check_eq "... two changed keys were ignored, one applied" 2 \
    "$(log_count 'SIGHUP: configuration reloaded (1 key changed)')"
check "... 60000 bytes pass again" t_until 10 all_status 200 60000
check_eq "... still 2 workers" 2 "$(ctl -o json status | json workers)"

# The same file again: nothing changed, nothing logged but the reload.
n=$(log_count 'needs a restart')
check "the same file again" hup_and_wait
check "... no key changed" log_has 'SIGHUP: configuration reloaded (0 keys changed)'
check_eq "... the restart-only keys are warned about again" $((n + 2)) \
    "$(log_count 'needs a restart')"

# --- the other parts that hold a reloadable key -------------------------------
# models_checks: how many model-list fetches (health checks) the backend saw.
models_checks() {
	backend_requests | python3 -c 'import json, sys
print(sum(1 for r in json.load(sys.stdin) if r["method"] == "GET" and "/models" in r["path"]))'
}
write_conf 'max-body = 65536' 'provider-check-interval = 0' 'trace-flush-ms = 20' \
    'trace-retention-check-s = 5' 'otlp-batch = 8' 'breaker-failures = 2' \
    'provider-attest-interval = 20'
check "intervals, batching and the breaker reload" hup_and_wait
for l in 'provider-check-interval 60 -> 0' 'trace-flush-ms 100 -> 20' \
    'trace-retention-check-s 3600 -> 5' 'otlp-batch 512 -> 8' \
    'breaker-failures 5 -> 2' 'provider-attest-interval 300 -> 20'; do
	check "... SIGHUP: $l" log_has "SIGHUP: $l"
done
check "... 6 keys changed" log_has 'SIGHUP: configuration reloaded (6 keys changed)'
curl -sS -X POST "$BACKEND_URL/_reset" >/dev/null
check_eq "checks off: the backend saw none since" 0 "$(models_checks)"
write_conf 'max-body = 65536' 'provider-check-interval = 1'
check "health checks turned on again by a reload" hup_and_wait
check "... the agent says so" log_has 'health: checking providers every 1 s'
check "... and the backend sees them within seconds" t_until 10 \
    more_than 0 models_checks
r=$(curl -sS -m 20 -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    --data-binary '{"model":"chat","messages":[{"role":"user","content":"hi"}]}' \
    -w '\n%{http_code}' "$AGENT_URL/v1/chat/completions")
check_eq "... requests still served" 200 "$(status_of "$r")"

# --- a SIGHUP storm while requests run ---------------------------------------
write_conf 'max-body = 65536'
hup_and_wait
: >"$T_DIR/storm.status"
storm_client() {	# N: N requests, one status per line
	local i
	for ((i = 0; i < $1; i++)); do
		status_for 30000 >>"$T_DIR/storm.$BASHPID"
		echo >>"$T_DIR/storm.$BASHPID"
	done
}
pids=()
for c in 1 2 3 4; do storm_client 15 & pids+=($!); done
for i in $(seq 1 20); do
	# Each one changes a key, so each reload applies something.
	write_conf 'max-body = 65536' "idle-timeout-ms = $((60000 + i))"
	kill -HUP "$AGENT_PID"
done
for p in "${pids[@]}"; do wait "$p"; done
cat "$T_DIR"/storm.[0-9]* >"$T_DIR/storm.status"
check_eq "60 requests during 20 SIGHUPs: all answered 200" 60 \
    "$(grep -c '^200$' "$T_DIR/storm.status")"
check "the last file's value is the one running" t_until 10 \
    grep -q 'SIGHUP: idle-timeout-ms [0-9]* -> 60020$' "$AGENT_LOG"
check "the agent is still up" kill -0 "$AGENT_PID"
check "the next request is served" all_status 200 30000

stop_agent
check_eq "the agent stops cleanly" 0 $?
check_fails "no sanitizer report" grep -q 'Sanitizer' "$AGENT_LOG"

# --- max-connections raised: the descriptor table grows with the reload ------
# The table is grown at start to what max-connections needs (grown on a
# worker's accept, each doubling stops it for an RCU grace period); a
# reload that raises it grows it then, on the main thread. FDSize is the
# table's size.
fdsize() { awk '/^FDSize:/ { print $2 }' "/proc/$AGENT_PID/status"; }
write_conf 'max-connections = 40'
start_agent_in "$T_DIR/fds-data" -c "$CONF"
check "max-connections 40: a small table at start ($(fdsize))" \
    test "$(fdsize)" -lt 4096
write_conf 'max-connections = 3000'
check "max-connections raised to 3000 by a reload" hup_and_wait
check "... logged" log_has 'SIGHUP: max-connections 40 -> 3000'
if [ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge 6064 ]; then
	check "... the table holds its 6064 descriptors at once ($(fdsize))" \
	    test "$(fdsize)" -ge 6064
else
	echo "# SKIP the table's growth: the hard open-file limit" \
	    "$(ulimit -Hn) is below the 6064 that 3000 connections need"
fi
stop_agent
check_eq "that agent stops cleanly too" 0 $?
check_fails "... no sanitizer report" grep -q 'Sanitizer' "$AGENT_LOG"
t_done
