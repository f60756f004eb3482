#!/usr/bin/env bash
# --log-format json: every line the agent writes to stderr, from start-up
# to exit, is one JSON object with time, level, program, pid, thread and
# msg (the worker's name on its lines, the program's on the main one's); a
# message holding a quote, a newline, control bytes and invalid UTF-8
# (a config file's name, logged by a refused SIGHUP) reads back exactly,
# the bad byte as U+FFFD. The text format stays as it was.
. "$(dirname "$0")/../lib.sh"

# A config file whose name holds what a log line must escape.
WEIRD=$T_DIR/$'we"ird\nname\x01\x7f\xff\\.conf'
printf 'max-body = 65536\n' >"$WEIRD"
start_backend
start_agent -c "$WEIRD" --log-format json -v
setup_domain acme chat fake-chat
r=$(http POST /v1/chat/completions "$TOKEN" \
    '{"model":"chat","messages":[{"role":"user","content":"hi"}]}')
check_eq "a chat completion" 200 "$(status_of "$r")"
printf 'max-body = 65536\nno-such-key = 1\n' >"$WEIRD"
kill -HUP "$AGENT_PID"
check "a refused SIGHUP is logged" t_until 10 grep -q 'keeping the running configuration' "$AGENT_LOG"
stop_agent
check_eq "the agent stops cleanly" 0 $?

# check_lines FILE: every line parses, with the fields and their types;
# prints what is wrong, nothing when all is well.
OUT=$(python3 - "$AGENT_LOG" <<'PY'
import json, re, sys
raw = open(sys.argv[1], "rb").read()
assert raw.endswith(b"\n"), "the log does not end with a newline"
lines = raw.split(b"\n")[:-1]
levels = set()
threads = set()
for i, line in enumerate(lines, 1):
    try:
        o = json.loads(line)
    except ValueError as e:
        print(f"line {i} does not parse: {e}: {line[:200]!r}")
        continue
    if not isinstance(o, dict):
        print(f"line {i} is not an object")
        continue
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", o.get("time", "")):
        print(f"line {i}: time {o.get('time')!r}")
    if o.get("level") not in ("debug", "info", "warning", "fatal"):
        print(f"line {i}: level {o.get('level')!r}")
    if o.get("program") != "cube-agent" or not isinstance(o.get("pid"), int):
        print(f"line {i}: program/pid {o.get('program')!r} {o.get('pid')!r}")
    if not isinstance(o.get("thread"), str) or not o["thread"]:
        print(f"line {i}: thread {o.get('thread')!r}")
    threads.add(o.get("thread"))
    if not isinstance(o.get("msg"), str) or not o["msg"]:
        print(f"line {i}: msg {o.get('msg')!r}")
    levels.add(o.get("level"))
print(f"lines={len(lines)} levels={','.join(sorted(levels))}")
print(f"threads={','.join(sorted(t for t in threads if isinstance(t, str)))}")
PY
)
check_eq "every line is a JSON object with time, level, program, pid, thread, msg" "" \
    "$(printf '%s\n' "$OUT" | grep -v '^lines=\|^threads=')"
check_contains "... the main thread's lines and the worker's" \
    "threads=cube-agent,worker 0" "$OUT"
check_contains "... all levels the run wrote (debug from -v)" "levels=debug,info,warning" "$OUT"
N=$(printf '%s\n' "$OUT" | sed -n 's/^lines=//p' | cut -d' ' -f1)
check "... and more than a handful of them ($N)" test "${N:-0}" -ge 10

EXPECT=$(python3 -c 'import json, sys
path = sys.argv[1].encode("utf-8", "surrogateescape").decode("utf-8", "replace")
print(json.dumps("SIGHUP: " + path + ":2: unknown setting '"'"'no-such-key'"'"'; keeping the running configuration"))' "$WEIRD")
GOT=$(python3 -c 'import json, sys
for line in open(sys.argv[1], "rb"):
    o = json.loads(line)
    if "keeping the running" in o["msg"]:
        print(json.dumps(o["msg"]))
        break' "$AGENT_LOG")
check_eq "a quote, a newline, control bytes, a backslash and a bad byte round-trip" \
    "$EXPECT" "$GOT"
check_eq "... its level" '"warning"' "$(grep -a 'keeping the running' "$AGENT_LOG" |
    python3 -c 'import json,sys; print(json.dumps(json.loads(sys.stdin.buffer.read())["level"]))')"

# The text format, unchanged: "TIME PROGRAM[PID] LEVEL: MSG".
rm -rf "$AGENT_DATA" "$T_DIR/run"
start_agent --log-format text
stop_agent
check "--log-format text: the lines are as before" grep -qE \
    '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z cube-agent\[[0-9]+\] info: stopped$' "$AGENT_LOG"
check_fails "... no JSON" grep -q '^{' "$AGENT_LOG"
OUT=$("$CUBE_BIN/cube-agent" --log-format yaml 2>&1)
check_contains "--log-format yaml is refused, naming the choices" \
    "log-format: 'yaml' is not text or json" "$OUT"
t_done
