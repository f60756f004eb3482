#!/usr/bin/env bash
# cube-tui's Models view and model page in a detached 80x24 tmux session
# against the real agent and the fake backend: the figure columns show the
# calls and spend of real requests, s/S sort (the mark readable without
# colour), Enter opens the page with a curl line for the model and domain,
# Configure changes a price and a guardrail binding that cubectl then sees
# and the gateway then applies, Logs and Usage show the model's requests,
# E disables and enables it, :model KEY opens the page (Tab completes).
# Run once in colour and once with NO_COLOR=1.
. "$(dirname "$0")/../lib.sh"

command -v tmux >/dev/null || { echo "# SKIP tmux is not installed"; exit 0; }

start_backend
start_agent
# The fake backend echoes the prompt: what the guardrail did shows.
setup_domain acme chat 'fake-chat;echo=1'
ctl model edit -d acme chat --price-input 2 --price-output 4 >/dev/null
ctl model deploy -d acme --provider fake --name Zeta --key zeta \
    --model-id demo-model --price-input 1 --price-output 1 >/dev/null 2>&1
ctl guardrail create -d acme pii --kind pii --action redact >/dev/null

# No real ~/.ssh or hosts file may leak into what is tested.
export HOME="$T_DIR/home"
mkdir -p "$HOME"

TM=(tmux -L "cube-tui-model-$$" -f /dev/null)
tm_cleanup() { "${TM[@]}" kill-server 2>/dev/null; t_cleanup; }
trap tm_cleanup EXIT

SESSION=
screen() { "${TM[@]}" capture-pane -p -t "$SESSION" 2>/dev/null; }
on_screen() { screen | grep -qF -- "$1"; }
off_screen() { ! on_screen "$1"; }
row_of() { screen | grep -F -- "$1" | head -n 1; }

expect() {	# description, text [seconds]
	if t_until "${3:-10}" on_screen "$2"; then ok "$1"; else
		not_ok "$1" "expected on screen: $2"$'\n'"$(screen)"; fi
}

expect_gone() {	# description, text [seconds]
	if t_until "${3:-10}" off_screen "$2"; then ok "$1"; else
		not_ok "$1" "not expected on screen: $2"$'\n'"$(screen)"; fi
}

keys() { "${TM[@]}" send-keys -t "$SESSION" "$@"; }
type_text() { "${TM[@]}" send-keys -t "$SESSION" -l "$1"; }

# The line numbers of chat's and zeta's rows in the Models table.
line_of() { screen | grep -n -- " $1 " | head -n 1 | cut -d: -f1; }
chat_first() { local c z; c=$(line_of chat); z=$(line_of zeta); [ -n "$c" ] && [ -n "$z" ] && [ "$c" -lt "$z" ]; }
zeta_first() { local c z; c=$(line_of chat); z=$(line_of zeta); [ -n "$c" ] && [ -n "$z" ] && [ "$z" -lt "$c" ]; }

ask() {	# model content
	http POST /proxy/acme/v1/chat/completions "$TOKEN" \
	    "{\"model\":\"$1\",\"messages\":[{\"role\":\"user\",\"content\":\"$2\"}]}"
}

# Three requests to chat, one to zeta: chat has the calls and the spend.
for i in 1 2 3; do
	r=$(ask chat "hello $i")
	check_eq "request $i to chat" 200 "$(status_of "$r")"
done
r=$(ask zeta "hello")
check_eq "a request to zeta" 200 "$(status_of "$r")"

run_tui() {	# session, NO_COLOR value
	rm -f "$T_DIR/tui.exit"
	SESSION=$1
	"${TM[@]}" new-session -d -s "$SESSION" -x 80 -y 24 \
	    "NO_COLOR=$2 LANG=C.UTF-8 $CUBE_BIN/cube-tui -s $AGENT_SOCK local 2>$T_DIR/tui.err; echo \$? >$T_DIR/tui.exit; sleep 60"
	expect "[$1] the header shows the host" "cube-tui  local"
	expect "[$1] the only domain is in view" "domain acme"
}

# --- the Models view: columns, figures, sort --------------------------------

run_tui colour ""
keys 3
expect "the header has the figure columns" "CALLS"
for col in KEY NAME PROVIDER STATUS P50 ERR% SPEND IN/1M OUT/1M; do
	check_contains "the header has $col" "$col" "$(screen | sed -n 3p)"
done
calls_of() { row_of " $1 " | awk '{ for (i = 1; i <= NF; i++) if ($i == "active") { print $(i + 1); exit } }'; }
chat_calls() { [ "$(calls_of chat)" = 3 ]; }
if t_until 15 chat_calls; then ok "chat's row shows its 3 calls"; else
	not_ok "chat's row shows its 3 calls" "$(screen)"; fi
check_eq "zeta's row shows its 1 call" 1 "$(calls_of zeta)"
echo "# $(screen | sed -n 3,5p)"
check_contains "chat's row shows its spend, under a cent" '<$0.01' "$(row_of ' chat ')"
check_contains "chat's row shows its input price" ' 2 ' "$(row_of ' chat ')"
check_contains "the sort column is marked" "KEY↑" "$(screen | sed -n 3p)"
check "sorted by key: chat before zeta" chat_first

keys s
expect "s sorts by the next column" "NAME↑"
for _ in 1 2 3 4; do keys s; done
expect "s again: by calls, highest first" "CALLS↓"
check "by calls: chat (3) before zeta (1)" t_until 5 chat_first
keys S
expect "S reverses the sort" "CALLS↑"
check "reversed: zeta before chat" t_until 5 zeta_first
keys ?
expect "? lists the sort key" "sort by the next column (marked)"
keys x
for _ in 1 2 3 4 5 6; do keys s; done
expect "the sort comes round to the key again" "KEY↑"
check "by key again: chat first" t_until 5 chat_first

# The long model id is what 80 columns leave out first; 120 show it.
check_not_contains "80 columns leave the model id out" "MODEL-ID" "$(screen)"
"${TM[@]}" resize-window -t "$SESSION" -x 120 -y 30
expect "120 columns show the model id column" "MODEL-ID"
expect "with the model's id" "fake-chat;echo=1"
"${TM[@]}" resize-window -t "$SESSION" -x 80 -y 24
expect_gone "back at 80 columns it goes again" "MODEL-ID"

# --- E: disable (asks) and enable --------------------------------------------

keys g
keys E
expect "E on an active model asks first" "Disable model chat?"
keys y
expect "the model is disabled" "model disabled"
check_eq "cubectl sees it inactive" inactive "$(ctl -o json model show -d acme chat | json status)"
keys E
expect "E on an inactive model enables it" "model enabled"
check_eq "cubectl sees it active" active "$(ctl -o json model show -d acme chat | json status)"

# --- the page: Overview and its curl line -----------------------------------

keys g Enter
expect "Enter opens the model page" "[1 Overview]"
expect "the page names its tabs" "2 Configure"
expect "the Overview shows the prices" "in 2  out 4"
expect "the Overview shows the calls" "1h 3"
expect "the curl line names the domain's route" "/proxy/acme/v1/chat/completions"
expect "the curl line names the model" '{"model":"chat","messages"'
expect "the curl line has a placeholder for the token" 'Bearer $CUBE_TOKEN'
url=$(screen | grep -o "http://127.0.0.1:[0-9]*/proxy/acme/v1/chat/completions" | head -n 1)
check_eq "the curl line has the agent's address" "$AGENT_URL/proxy/acme/v1/chat/completions" "$url"
expect "the last calls are listed" "last calls"
# The line as shown runs as it is, with a real token.
line=$(screen | sed -n '/^ curl (c copies/,/^ *$/p' | sed '1d' | sed 's/^ //' | tr -d '\n')
line=$(printf '%s' "$line" | sed 's/ -H "Authorization/ -H "Authorization/')
out=$(CUBE_TOKEN=$TOKEN bash -c "$line")
check_contains "the curl line as shown gets an answer" '"object":"chat.completion"' "$out"
keys c
expect "c copies the curl line" "curl copied"

# --- Configure: a price and a guardrail binding -------------------------------

keys 2
expect "2 shows Configure" "[2 Configure]"
expect "Configure lists the settings" "price input"
keys Enter
expect "Enter opens the form" "configure chat"
# name category status price-in: the fourth field.
keys Down Down Down
keys C-u
type_text "7.5"
# price out, price cached, temperature, max tokens, system prompt, guard in
keys Down Down Down Down Down Down
keys Right
expect "the guardrail choices offer the domain's" "< pii >"
keys Down Down Down Down
expect "the last field is description" "description"
keys Enter
expect_gone "the form closes when saved" "configure chat"
expect "the save is said" "saved chat"
got=$(ctl -o json model show -d acme chat)
check_eq "cubectl sees the new price" "7.5" "$(echo "$got" | json pricing.input)"
check_eq "cubectl sees the guardrail bound" '["pii"]' "$(echo "$got" | json guardrails.input)"
check_eq "the output price, unchanged, is as it was" "4" "$(echo "$got" | json pricing.output)"
check_eq "the temperature, unchanged, stays unset" "" "$(echo "$got" | json settings.temperature)"
expect "the page shows the new price" "price input     7.5"
r=$(ask chat "mail bob@example.com")
check_eq "a request through the gateway is served" 200 "$(status_of "$r")"
check_contains "with the bound guardrail applied" "[REDACTED:EMAIL]" "$(body_of "$r")"
check_not_contains "the address never reached the backend" "bob@example.com" "$(backend_requests)"

# A bad value: the agent's error shows in the form, nothing is saved.
keys e
expect "e opens the form again" "configure chat"
keys Down Down Down Down Down Down
type_text "9"
keys Down Down Down Down Down Down Down
keys Enter
# The error row names the field; the field's own row starts with its label.
form_error() { screen | grep -F temperature | grep -vqF "│ temperature "; }
if t_until 10 form_error; then ok "a bad temperature: the agent's error shows in the form"; else
	not_ok "a bad temperature: the agent's error shows in the form" "$(screen)"; fi
echo "# $(screen | grep -F temperature | grep -vF '│ temperature ')"
check_eq "nothing was saved" "" "$(ctl -o json model show -d acme chat | json settings.temperature)"
keys Escape
expect_gone "Esc closes the form" "configure chat"

# --- Logs and Usage tabs ---------------------------------------------------

keys 3
expect "3 shows Logs" "[3 Logs]"
expect "the model's traces are listed" "STATUS"
n=$(screen | grep -c ' 200 ')
check "the Logs tab lists chat's requests ($n)" [ "$n" -ge 4 ]
keys Enter
expect "Enter shows a trace" "request id"
expect "the trace is chat's" "fake-chat;echo=1"
keys Enter
keys Tab
expect "Tab goes to Usage" "[4 Usage]"
expect "Usage shows its ranges" "last 24 hours"
usage_ok() { row_of "last 24 hours" | grep -qE ' (5|6) '; }
if t_until 10 usage_ok; then ok "Usage counts chat's requests"; else
	not_ok "Usage counts chat's requests" "$(screen)"; fi
keys BTab
expect "Shift-Tab goes back to Logs" "[3 Logs]"
keys Escape
expect "Esc goes back to Models" "CALLS"
expect_gone "the page is gone" "[3 Logs]"

# --- :model KEY --------------------------------------------------------------

keys :
type_text "model ze"
keys Tab
expect "Tab completes the model key" ":model zeta_"
keys Enter
expect ":model KEY opens its page" "[1 Overview]"
expect "the page is zeta's" '{"model":"zeta"'
keys 7
expect "a digit past the tabs switches views" "TIME"
expect_gone "and the page is left" "[1 Overview]"
keys :
type_text "logs ch"
keys Tab
expect "Tab completes :logs KEY" ":logs chat_"
keys Escape
keys :
type_text "model nosuch"
keys Enter
expect ":model of an unknown key says so" "no model nosuch"
keys Escape
keys q
t_wait_file "$T_DIR/tui.exit" 10
check_eq "q quits with 0" "0" "$(cat "$T_DIR/tui.exit" 2>/dev/null)"
check_eq "nothing on stderr" "" "$(cat "$T_DIR/tui.err")"

# --- NO_COLOR: the sort mark is text, not colour ----------------------------

"${TM[@]}" kill-session -t colour 2>/dev/null
run_tui mono 1
keys 3
expect "[mono] the key column is marked" "KEY↑"
keys s s s s s
expect "[mono] the calls column is marked" "CALLS↓"
check "[mono] by calls: chat before zeta" t_until 10 chat_first
keys q
t_wait_file "$T_DIR/tui.exit" 10
check_eq "[mono] q quits with 0" "0" "$(cat "$T_DIR/tui.exit" 2>/dev/null)"

t_done
