#!/usr/bin/env bash
# cube-tui's Overview, Tokens, Usage and trace views in a detached 80x24
# tmux session against the real agent and the fake backend, after real
# requests (some refused, to make errors): the Overview's sparklines
# (UTF-8 blocks), top model and recent error with its code; then the same
# with NO_COLOR=1 and LANG=C (the ASCII ramp).
. "$(dirname "$0")/../lib.sh"

command -v tmux >/dev/null || { echo "# SKIP tmux is not installed"; exit 0; }

cat >"$T_DIR/agent.conf" <<CONF
trace-flush-ms = 20
CONF
start_backend
start_agent -c "$T_DIR/agent.conf"
setup_domain acme chat fake-chat
ctl model edit -d acme chat --price-input 2 --price-output 8 >/dev/null
ctl model deploy -d acme --provider fake --name broken --key broken \
    --model-id 'fake-chat;status=500' --price-input 1 --price-output 1 \
    >/dev/null

# No real ~/.ssh or hosts file may leak into what is tested.
export HOME="$T_DIR/home"
mkdir -p "$HOME"

TM=(tmux -L "cube-tui-views-$$" -f /dev/null)
tm_cleanup() { "${TM[@]}" kill-server 2>/dev/null; t_cleanup; }
trap tm_cleanup EXIT

SESSION=
screen() { "${TM[@]}" capture-pane -p -t "$SESSION" 2>/dev/null; }
on_screen() { screen | grep -qF -- "$1"; }
on_screen_re() { screen | grep -qE -- "$1"; }
off_screen() { ! on_screen "$1"; }

expect() {	# description, text [seconds]
	if t_until "${3:-10}" on_screen "$2"; then ok "$1"; else
		not_ok "$1" "expected on screen: $2"$'\n'"$(screen)"; fi
}
expect_re() {	# description, extended regex [seconds]
	if t_until "${3:-10}" on_screen_re "$2"; then ok "$1"; else
		not_ok "$1" "expected on screen: /$2/"$'\n'"$(screen)"; fi
}

keys() { "${TM[@]}" send-keys -t "$SESSION" "$@"; }
type_text() { "${TM[@]}" send-keys -t "$SESSION" -l "$1"; }

# start_tui SESSION ENV...: cube-tui on the agent in a new 80x24 session.
start_tui() {
	SESSION=$1
	shift
	rm -f "$T_DIR/tui.exit"
	"${TM[@]}" new-session -d -s "$SESSION" -x 80 -y 24 \
	    "$* $CUBE_BIN/cube-tui -s $AGENT_SOCK local 2>$T_DIR/tui.err; echo \$? >$T_DIR/tui.exit; sleep 60"
}

quit_tui() {
	keys q
	if t_until 10 test -s "$T_DIR/tui.exit"; then
		check_eq "$1: q quits with 0" 0 "$(cat "$T_DIR/tui.exit")"
	else
		not_ok "$1: q quits"
	fi
	"${TM[@]}" kill-session -t "$SESSION" 2>/dev/null
}

# --- traffic: answers, and errors of two kinds ---------------------------
chat='{"model":"chat","messages":[{"role":"user","content":"one two three"}]}'
for i in 1 2 3 4; do
	r=$(http POST /proxy/acme/v1/chat/completions "$TOKEN" "$chat")
	check_eq "chat $i: 200" 200 "$(status_of "$r")"
done
r=$(http POST /proxy/acme/v1/chat/completions "$TOKEN" \
    '{"model":"broken","messages":[{"role":"user","content":"hi"}]}')
check "broken: an error status" [ "$(status_of "$r")" -ge 500 ]
r=$(http POST /proxy/acme/v1/chat/completions "$TOKEN" \
    '{"model":"nosuch","messages":[{"role":"user","content":"hi"}]}')
check_eq "unknown model: 404" 404 "$(status_of "$r")"
counted() { [ "$(ctl -o json stats -d acme | json host.1h.requests)" = 6 ]; }
check "the agent counted every request" t_until 10 counted

# --- Overview, UTF-8 ---------------------------------------------------------
start_tui utf8 LANG=C.UTF-8
expect "Overview: the domain in view" "acme · last hour"
expect_re "Overview: a requests sparkline in blocks" "requests +[ ▁▂▃▄▅▆▇█]*[▂▃▄▅▆▇█] +6 req"
expect_re "Overview: a latency sparkline" "latency +[ ▁▂▃▄▅▆▇█]*[▁▂▃▄▅▆▇█] +p50 "
expect_re "Overview: errors, with their share" "errors +[ ▁▂▃▄▅▆▇█]*[▂▃▄▅▆▇█] +2 err, 33.3%"
expect_re "Overview: the top model first, with its calls and spend" "TOP MODELS.*SPEND TODAY"
expect_re "Overview: chat leads with 4 calls and its spend" "^ chat +4 +0% +[0-9.]+m?s +(\\\$|<\\\$)"
expect_re "Overview: the broken model's error rate" "^ broken +1 +100% "
expect_re "Overview: the recent upstream error with its code" "[0-9:]{8} +broken +50[0-9] +upstream_error"
expect_re "Overview: the unknown model's refusal" "[0-9:]{8} +nosuch +404 +model_not_found"
# Newest first: the 404 came after the 500.
errs=$(screen | grep -nE "model_not_found|upstream_error" | cut -d: -f1 | tr '\n' ' ')
check "Overview: the newest error first ($errs)" [ "$(screen | grep -nE 'model_not_found' | cut -d: -f1)" -lt "$(screen | grep -nE 'upstream_error' | cut -d: -f1)" ]
keys w
expect "w: the last five minutes" "last 5 minutes"
keys w
expect "w again: the hour" "last hour"
screen >"$T_DIR/overview.txt"; cp "$T_DIR/overview.txt" /tmp/h12o-overview.txt 2>/dev/null
quit_tui utf8

# --- Overview, NO_COLOR and LANG=C: the ASCII ramp ---------------------------
start_tui ascii NO_COLOR=1 LANG=C LC_ALL=C
expect "C locale: the domain in view" "acme - last hour"
expect_re "C locale: the requests sparkline in the ASCII ramp" "requests +[ _.=#-]*[.=#-] +6 req"
check "C locale: no UTF-8 blocks" off_screen "▁"
expect_re "C locale: the recent error" "broken +50[0-9] +upstream_error"
quit_tui ascii

check "agent still running" kill -0 "$AGENT_PID"
t_done
