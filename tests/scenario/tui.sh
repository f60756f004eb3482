#!/usr/bin/env bash
# cube-tui in a detached 80x24 tmux session against the real agent and the
# fake backend: the header, every view, a model listed, deployed through
# the form and its checklist, disabled after a confirmation; an unreachable
# host next to a working one; resize; q quits with 0.
# serial: asserts the local host answers keys within a second
. "$(dirname "$0")/../lib.sh"

command -v tmux >/dev/null || { echo "# SKIP tmux is not installed"; exit 0; }

start_backend
start_agent
setup_domain acme chat demo-model
ctl guardrail create -d acme pii --kind pii --action redact >/dev/null

# No real ~/.ssh or hosts file may leak into what is tested.
export HOME="$T_DIR/home"
mkdir -p "$HOME"
CLOSED=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$T_DIR/ssh_config" <<CONF
Host nowhere
	HostName 127.0.0.1
	Port $CLOSED
	User nobody
Host a-host-name-longer-than-any-column
	HostName 127.0.0.1
	Port $CLOSED
	User nobody
CONF

TM=(tmux -L "cube-tui-test-$$" -f /dev/null)
tm_cleanup() { "${TM[@]}" kill-server 2>/dev/null; t_cleanup; }
trap tm_cleanup EXIT

SESSION=
screen() { "${TM[@]}" capture-pane -p -t "$SESSION" 2>/dev/null; }

# wait_for TEXT [SECONDS]: poll the screen until TEXT shows; 0 when it does.
wait_for() {
	local i
	for ((i = 0; i < ${2:-10} * 20; i++)); do
		screen | grep -qF -- "$1" && return 0
		sleep 0.05
	done
	return 1
}

expect() {	# description, text [seconds]
	if wait_for "$2" "${3:-10}"; then ok "$1"; else
		not_ok "$1" "expected on screen: $2"$'\n'"$(screen)"; fi
}

keys() { "${TM[@]}" send-keys -t "$SESSION" "$@"; }
type_text() { "${TM[@]}" send-keys -t "$SESSION" -l "$1"; }

# start_tui SESSION ARGS...: cube-tui in a new 80x24 session (each run has
# its own, so the server never runs out of sessions between them).
start_tui() {
	SESSION=$1
	shift
	rm -f "$T_DIR/tui.exit"
	"${TM[@]}" new-session -d -s "$SESSION" -x 80 -y 24 \
	    "LANG=C.UTF-8 ${TUI_ENV:-} $CUBE_BIN/cube-tui $* 2>$T_DIR/tui.err; echo \$? >$T_DIR/tui.exit; sleep 60"
}

# --- one host: header, views, models -------------------------------------

start_tui one -s "$AGENT_SOCK" local
expect "header shows the host" "cube-tui  local"
expect "header shows the TEE badge" "[no TEE]"
expect "header shows health" "ok, up"
expect "the only domain is in view" "domain acme"
expect "the overview shows the domain's figures" "acme · last hour"

names=(Fleet Overview Models Providers Guardrails Tokens Logs Usage Attest)
for i in 1 2 3 4 5 6 7 8 9; do
	keys "$i"
	case $i in
	1) want="local *" ;;
	2) want="TOP MODELS" ;;
	3) want="chat     chat   fake" ;;
	4) want="$BACKEND_URL/v1" ;;
	5) want="pii  pii   redact" ;;
	6) want="test" ;;
	7) want="TIME" ;;
	8) want="by model (g)" ;;
	9) want="without a TEE" ;;
	esac
	expect "view $i (${names[$((i - 1))]}) shows" "$want"
done

# Logs follows the agent's traces live; Usage reads the rollup.
keys 7
r=$(http POST /proxy/acme/v1/chat/completions "$TOKEN" \
    '{"model":"chat","messages":[{"role":"user","content":"tail me"}]}')
check_eq "a request to trace" 200 "$(status_of "$r")"
expect "Logs shows the new trace without a refresh" " chat   200 " 5
keys 8
expect "Usage shows the model's request" " chat " 5
expect "Usage shows its cost" '$' 5

keys 3
expect "Models lists the deployed model" "chat     chat   fake     llm  active"

# --- deploy through the form ----------------------------------------------

keys n
expect "n opens the deploy form" "deploy a model"
expect "checklist: the provider is active" "fake is active"
expect "checklist: a missing model id fails" "[FAIL] model served"
keys Tab
type_text "Second Model"
keys Tab
type_text "no-such-model"
expect "checklist: an id the backend does not list warns" "[warn] model served     no-such-model is not in the backend's list"
keys BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace
type_text "fake-chat"
expect "checklist: a listed id passes" "the backend serves fake-chat"
expect "checklist: the derived key is free" "second-model is free"
keys Tab
type_text "chat"
expect "checklist: a taken key fails" "chat is taken"
keys BSpace BSpace BSpace BSpace
keys Tab Tab Tab Tab Enter
expect "Enter with a failing check refuses" "not every check passes"
expect "checklist: pricing unset fails" "set a price, or mark it free"
keys Up Up Up
type_text "0.5"
expect "checklist: a price passes" "[ok  ] pricing"
keys Down Down Down Enter
expect "the model is deployed" "deployed second-model"
got=$(ctl -o json model show -d acme second-model | json pricing.input)
check_eq "cubectl sees the deployed model's price" "0.5" "$got"
got=$(ctl -o json model show -d acme second-model | json model_id)
check_eq "cubectl sees the deployed model's id" "fake-chat" "$got"

# --- disable with confirmation --------------------------------------------

keys g
expect "the first model is selected" "chat"
keys d
expect "d asks first" "Disable model chat?"
keys n
asked() { screen | grep -qF "Disable model chat?"; }
check "n closes the question" t_until 5 eval '! asked'
check_eq "n leaves the model active" "active" "$(ctl -o json model show -d acme chat | json status)"
keys d
expect "d asks again" "Disable model chat?"
keys y
expect "the model is disabled" "model disabled"
check_eq "cubectl sees the model inactive" "inactive" "$(ctl -o json model show -d acme chat | json status)"

# --- filter, help, resize, quit -------------------------------------------

keys / s e c
expect "/ filters" "/sec_"
keys Enter
if screen | grep -q " chat     chat "; then not_ok "the filter hides other rows" "$(screen)"; else ok "the filter hides other rows"; fi
keys ?
expect "? shows the keys" "this help"
keys x
"${TM[@]}" resize-window -t "$SESSION" -x 100 -y 30
# The domain ends at the header's right edge: column 69 at 80, 89 at 100.
for _ in $(seq 40); do
	head=$(screen | head -n 1)
	[ "${head:89:11}" = "domain acme" ] && break
	sleep 0.05
done
check_eq "a resize redraws at the new width" "domain acme" "${head:89:11}"
check_contains "the status line moves to the new last row" "filter: sec" "$(screen | sed -n 30p)"
"${TM[@]}" resize-window -t "$SESSION" -x 80 -y 24
keys q
t_wait_file "$T_DIR/tui.exit" 10
check_eq "q quits with 0" "0" "$(cat "$T_DIR/tui.exit" 2>/dev/null)"
check_eq "nothing on stderr" "" "$(cat "$T_DIR/tui.err")"

# --- an unreachable host next to a working one ----------------------------

start_tui two -s "$AGENT_SOCK" -F "$T_DIR/ssh_config" local nowhere
expect "the fleet lists the working host" "local *"
expect "the unreachable host says so" "unreachable:"
t0=$(date +%s%N)
keys 3
expect "the local host answers keys within a second" "chat     chat   fake" 1
t1=$(date +%s%N)
echo "# view switch took $(((t1 - t0) / 1000000)) ms"
keys H
expect "the header names the unreachable host" "cube-tui  nowhere"
expect "its header says unreachable" "unreachable"
keys H 2
expect "back on the local host" "cube-tui  local"
keys q
t_wait_file "$T_DIR/tui.exit" 10
check_eq "q quits with 0 with a host down" "0" "$(cat "$T_DIR/tui.exit" 2>/dev/null)"


# --- live figures, the Fleet's columns, a stopped agent turns stale -------

screen_re() { screen | grep -qE -- "$1"; }
# The column where text starts on the screen's line matching pattern.
column_of() {	# pattern, text
	screen | grep -E -m1 -- "$1" | python3 -c '
import sys; print(sys.stdin.read().find(sys.argv[1]))' "$2"
}

# One answer and two refusals, in the minute the header counts.
r=$(http POST /proxy/acme/v1/chat/completions "$TOKEN" \
    '{"model":"second-model","messages":[{"role":"user","content":"hi"}]}')
check_eq "a request that is answered" 200 "$(status_of "$r")"
r=$(http POST /proxy/acme/v1/chat/completions "$TOKEN" \
    '{"model":"no-such-key","messages":[{"role":"user","content":"hi"}]}')
check_eq "a request that is refused" 404 "$(status_of "$r")"

start_tui live -s "$AGENT_SOCK" local
check "the header shows requests a second and a non-zero error rate" \
    t_until 10 screen_re '(0\.[0-9]*[1-9]|[1-9][0-9.]*) rps err ([1-9][0-9.]*|0\.[0-9]*[1-9]|<0\.1)%'
check "the header says the uptime in days, hours, minutes, seconds" \
    screen_re 'ok, up ([0-9]+[dhms])( [0-9]+[dhms])?  '
keys 7
check "Logs at 80x24: the refusal's whole error code, the time of day" \
    t_until 10 screen_re '^ [0-2][0-9]:[0-5][0-9]:[0-5][0-9] +no-such-key +404 .*model_not_found *$'
keys 1
check "Fleet at 80x24: health, TEE, verdict, rps, p50, p99, error %, spend" \
    t_until 10 screen_re '^ HOST +HEALTH +TEE +VERDICT +RPS +P50 +P99 +ERR% +SPEND +ERROR'
check "Fleet: the host's figures in those columns" t_until 10 screen_re \
    '^ local \* +ok +none +[0-9.]+ +[0-9.]+m?s +[0-9.]+m?s +[0-9.<]+% +<?\$[0-9]+\.[0-9][0-9] *$'

# SIGSTOP: the agent holds its socket but answers nothing.
kill -STOP "$AGENT_PID"
check "a stopped agent turns stale in the header within seconds" \
    t_until 12 screen_re 'STALE, updated [0-9]+s ago'
check "... and in the Fleet" screen_re '^ local \* +STALE [0-9]+s '
check_fails "... never ok" screen_re '^ local \* +ok '
kill -CONT "$AGENT_PID"
check "it answers again: ok" t_until 20 screen_re 'ok, up [0-9]'
check "... in the Fleet too" t_until 10 screen_re '^ local \* +ok '
keys q
t_wait_file "$T_DIR/tui.exit" 10
check_eq "nothing on stderr (live)" "" "$(cat "$T_DIR/tui.err")"

# Without colour the stale data still says so, in words and dimmed.
TUI_ENV="NO_COLOR=1" start_tui mono -s "$AGENT_SOCK" local
expect "NO_COLOR: the header is up" "ok, up"
kill -STOP "$AGENT_PID"
check "NO_COLOR: a stopped agent says STALE" t_until 12 screen_re 'STALE, updated [0-9]+s ago'
check "NO_COLOR: its badge is dimmed" t_until 2 eval \
    '"${TM[@]}" capture-pane -e -p -t mono | head -n 1 | grep -qF $'"'"'\e[2m[no TEE]'"'"
kill -CONT "$AGENT_PID"
check "NO_COLOR: ok again" t_until 20 screen_re 'ok, up [0-9]'
keys q
t_wait_file "$T_DIR/tui.exit" 10

# A long host name is cut, and the next column placed by the cut width.
start_tui long -s "$AGENT_SOCK" -F "$T_DIR/ssh_config" local \
    a-host-name-longer-than-any-column
expect "the long-named host is down" "a-host-name-longer-than-any-column: unreachable:"
want=$(column_of '^ HOST' HEALTH)
check_eq "its health sits under HEALTH" "$want" \
    "$(column_of '^ a-host-name' down)"
check_eq "the local host's too" "$want" "$(column_of '^ local' ok)"
check "its error in the ERROR column, after SPEND's" screen_re \
    '^ a-host-name\S* +down +\S'
keys q
t_wait_file "$T_DIR/tui.exit" 10

t_done
