#!/usr/bin/env bash
# cube-tui's Overview, Tokens, Usage and trace views in a detached 80x24
# tmux session against the real agent and the fake backend, after real
# requests (some refused, to make errors): the Overview's sparklines
# (UTF-8 blocks), top model and recent errors with their codes; Tokens'
# limits and budget bar with what a stream in flight holds; Usage's
# totals, names and ranges; the trace view's fields and its m, t, p jumps
# (the row selected); then the Overview with NO_COLOR=1 and LANG=C (the
# ASCII ramp), and against an agent from before stats.get's series.
. "$(dirname "$0")/../lib.sh"

command -v tmux >/dev/null || { echo "# SKIP tmux is not installed"; exit 0; }

cat >"$T_DIR/agent.conf" <<CONF
trace-flush-ms = 20
CONF
start_backend
start_agent -c "$T_DIR/agent.conf"
setup_domain acme chat fake-chat
ctl model edit -d acme chat --price-input 2 --price-output 8 >/dev/null
ctl domain edit acme --log-content on >/dev/null
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
# The text of the selected (reverse video) rows.
selected() {
	"${TM[@]}" capture-pane -e -p -t "$SESSION" 2>/dev/null |
	    grep -F $'\e[7m' | sed 's/\x1b\[[0-9;]*m//g'
}
selected_has() { selected | grep -qE -- "$1"; }
expect_selected() {	# description, extended regex
	if t_until 10 selected_has "$2"; then ok "$1"; else
		not_ok "$1" "expected selected: /$2/"$'\n'"$(selected)"$'\n'"$(screen)"; fi
}
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
	check_eq "$1: nothing on stderr" "" "$(cat "$T_DIR/tui.err")"
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
expect_re "Overview: a requests sparkline in blocks" "requests +[ ▁▂▃▄▅▆▇█]*[▂▃▄▅▆▇█][ ▁▂▃▄▅▆▇█]* +6 req"
expect_re "Overview: a latency sparkline" "latency +[ ▁▂▃▄▅▆▇█]*[▁▂▃▄▅▆▇█] *p50 "
expect_re "Overview: errors, with their share" "errors +[ ▁▂▃▄▅▆▇█]*[▂▃▄▅▆▇█][ ▁▂▃▄▅▆▇█]* +2 err, 33.3%"
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
keys j Enter
expect_re "j Enter: the older error's trace" "trace [0-9]+ · broken"
expect_re "its status and code" "status 50[0-9] · error upstream_error · rejected at upstream"
keys Escape
expect "Esc: back to the Overview" "TOP MODELS"

# --- Tokens: limits, spend against the budget, what is held in flight -------
BUDGET_TOK=$(ctl -o json token create -d acme --name ci --rpm 60 \
    --tpm 20000 --budget 1 | json token)
for i in 1 2; do
	r=$(http POST /proxy/acme/v1/chat/completions "$BUDGET_TOK" "$chat")
	check_eq "budget token $i: 200" 200 "$(status_of "$r")"
done
keys 6
expect_re "Tokens: the budget token's limits" "ci +active +60/20k "
expect_re "Tokens: its spend of the budget, and a bar" "ci .*<\\\$0\.01/\\\$1\.00 +#\.{4,}"
expect_re "Tokens: a token without a budget shows no bar" "test +active +-/- +\\\$0\.00 *$"
# A slow stream holds its most possible cost until it ends.
ctl model deploy -d acme --provider fake --name slow --key slow \
    --model-id 'fake-chat;chunks=60;chunk_delay_ms=250' --price-input 2 \
    --price-output 8 >/dev/null
curl -sS -N -m 30 -o /dev/null -H "Authorization: Bearer $BUDGET_TOK" \
    -H 'Content-Type: application/json' --data-binary \
    '{"model":"slow","stream":true,"messages":[{"role":"user","content":"hold"}]}' \
    "$AGENT_URL/proxy/acme/v1/chat/completions" &
SLOW_PID=$!
T_PIDS+=("$SLOW_PID")
held() { ctl -o json token list -d acme | python3 -c 'import json,sys
print(next(t["reserved_usd"] for t in json.load(sys.stdin) if t["name"] == "ci"))'; }
held_some() { [ "$(held)" != 0 ]; }
check "token.list: the stream holds part of the budget" t_until 10 held_some
keys r
expect_re "Tokens: what the stream holds, after the spend" "ci .*/\\\$1\.00 \+\\\$0\.0[1-9] +#\+"
kill "$SLOW_PID" 2>/dev/null
wait "$SLOW_PID" 2>/dev/null
held_none() { [ "$(held)" = 0 ]; }
check "token.list: released when the stream ends" t_until 20 held_none
# An expiring token shows how long it has left.
ctl token create -d acme --name soon --expires 30d >/dev/null
keys r
expect_re "Tokens: an expiring token's time left" "soon +in 29d|soon +in 30d"

# --- the trace view: every field, and jumps ----------------------------------
keys 7
expect "Logs: the slow stream's trace" " slow "
keys / ; type_text "slow"; keys Enter
keys Enter
expect_re "Enter: the trace view, its id and model" "trace [0-9]+ · slow"
expect_re "trace: the model, jumpable, and its id" "model \\(m\\) slow · model id fake-chat;chunks=60"
expect_re "trace: the provider, the token id" "provider \\(p\\) fake · token \\(t\\) tok_[0-9a-f]{16} · route chat"
expect_re "trace: a stream the client left" "stream true · cancelled true"
expect_re "trace: tokens and cost" "cost usd [0-9.]+"
expect_re "trace: the request id" "request id [0-9a-f]{32}"
expect "trace: the prompt, logged" '"content":"hold"' 
expect_re "trace: the receipt" "receipt +(v1\\..*\\(c copies\\)|-)"
expect "trace: its key bar" "m model  t token  p provider"
keys m
expect "m: the Models view" "n deploy  e edit"
expect_selected "m: the trace's model is selected" "slow"
keys 7
expect "Logs: the one slow trace again" "1 traces, following"
keys Enter
expect_re "the trace again" "trace [0-9]+ · slow"
keys t
expect "t: the Tokens view" "n create  d revoke"
expect_selected "t: the trace's token is selected" "^ tok_[0-9a-f]+ ci "
keys 7
expect "Logs: the one slow trace again" "1 traces, following"
keys Enter
expect_re "the trace once more" "trace [0-9]+ · slow"
keys p
expect "p: the Providers view" "n add  e edit  d delete"
expect_selected "p: the trace's provider is selected" "fake"
expect_re "p: the provider's attested verdict, no policy: no" "fake +openai +active +no "
keys 7
expect "Logs: the one slow trace again" "1 traces, following"
keys Enter
expect_re "and again" "trace [0-9]+ · slow"
keys Escape
expect "Esc: back to Logs" "1 traces, following"
check "Esc: the trace is gone" off_screen "request id"

# --- Usage: totals, names not ids, the range ---------------------------------
usage_sum() {	# FIELD [ARGS...]: the sum of FIELD over cubectl usage's rows
	local f=$1
	shift
	ctl -o json usage -d acme "$@" | python3 -c 'import json,sys
print(sum(r[sys.argv[1]] for r in json.load(sys.stdin)))' "$f"
}
ctl model edit -d acme slow --name "Slow Poke" >/dev/null
keys 8
expect "Usage: the range and the grouping in the header" "last 24 hours (t) · by model (g)"
expect_re "Usage: a model by its key and display name" "^ slow \\(Slow Poke\\) +1 "
total=$(usage_sum requests --since 24h)
errs=$(usage_sum errors --since 24h)
keys r
expect_re "Usage: the totals row ($total requests, $errs errors)" "^ TOTAL +$total +$errs +[0-9]+ +\\\$0\.[0-9]+"
expect_re "Usage: a row per model" "^ chat +[0-9]+ +0 +[0-9]+ +#+ +\\\$"
keys g
expect "g: by token" "by token (g)"
expect_re "Usage: tokens by their names" "^ ci +[0-9]+ "
expect_re "Usage: the setup's token by its name" "^ test +[0-9]+ "
check "Usage: no token ids" off_screen "tok_"
keys t
expect "t: the last 7 days" "last 7 days (t)"
keys :
type_text "usage today"
keys Enter
expect ":usage today: since the day began" "today (UTC) (t)"
keys :
type_text "usage 2y"
keys Enter
expect ":usage with an unknown range says so" "usage: no range 2y"
quit_tui utf8

# --- Overview, NO_COLOR and LANG=C: the ASCII ramp ---------------------------
start_tui ascii NO_COLOR=1 LANG=C LC_ALL=C
expect "C locale: the domain in view" "acme - last hour"
expect_re "C locale: the requests sparkline in the ASCII ramp" "requests +[ _.=#-]*[.=#-][ _.=#-]* +[0-9]+ req"
check "C locale: no UTF-8 blocks" off_screen "▁"
expect_re "C locale: the recent error" "broken +50[0-9] +upstream_error"
quit_tui ascii

# --- an agent from before series: the figures, no sparklines -----------------
OLD_SOCK="$T_DIR/old-agent.sock"
python3 "$CUBE_ROOT/tests/tools/old-agent.py" "$OLD_SOCK" &
T_PIDS+=("$!")
check "the old agent listens" t_wait_file "$OLD_SOCK" 10
SESSION=old
rm -f "$T_DIR/tui.exit"
"${TM[@]}" new-session -d -s "$SESSION" -x 80 -y 24 \
    "LANG=C.UTF-8 $CUBE_BIN/cube-tui -s $OLD_SOCK local 2>$T_DIR/tui.err; echo \$? >$T_DIR/tui.exit; sleep 60"
expect "old agent: says it has no series" "this agent has no series: figures only"
expect_re "old agent: the figures without a sparkline" "^ requests +7 req"
expect_re "old agent: the top model" "^ chat +7 +14\\.3% +40ms +\\\$0\\.25"
check "old agent: no blocks" off_screen "▁"
quit_tui old

check "agent still running" kill -0 "$AGENT_PID"
t_done
