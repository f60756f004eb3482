#!/usr/bin/env bash
# cube-tui's `:` command line and keys in a detached 80x24 tmux session
# against the real agent and the fake backend: :models typed in Models
# opens no question, Tab completes, :logs KEY filters, :domain switches,
# unknown commands and unbound keys say so and do nothing; ? shows the
# view's keys (scrolled on a short screen), each view its key bar; Ctrl-L
# repaints over stray characters; a revoked token is not revoked again, a
# bound guardrail's delete says what to do; :q quits.
. "$(dirname "$0")/../lib.sh"

command -v tmux >/dev/null || { echo "# SKIP tmux is not installed"; exit 0; }

start_backend
start_agent
setup_domain acme chat demo-model
ctl model deploy -d acme --provider fake --name other --key other \
    --model-id demo-model >/dev/null 2>&1
ctl domain create beta >/dev/null
OLD_ID=$(ctl -o json token create -d acme --name old | json id)
ctl token revoke -d acme "$OLD_ID" >/dev/null
ctl guardrail create -d acme pii --kind pii --action redact >/dev/null
ctl model edit -d acme chat --guard-in pii >/dev/null 2>&1

# No real ~/.ssh or hosts file may leak into what is tested.
export HOME="$T_DIR/home"
mkdir -p "$HOME"

TM=(tmux -L "cube-tui-cmdline-$$" -f /dev/null)
tm_cleanup() { "${TM[@]}" kill-server 2>/dev/null; t_cleanup; }
trap tm_cleanup EXIT

SESSION=
screen() { "${TM[@]}" capture-pane -p -t "$SESSION" 2>/dev/null; }
on_screen() { screen | grep -qF -- "$1"; }
off_screen() { ! on_screen "$1"; }

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
last_row() { screen | sed -n 24p; }

rm -f "$T_DIR/tui.exit"
SESSION=cmdline
"${TM[@]}" new-session -d -s "$SESSION" -x 80 -y 24 \
    "LANG=C.UTF-8 $CUBE_BIN/cube-tui -s $AGENT_SOCK local 2>$T_DIR/tui.err; echo \$? >$T_DIR/tui.exit; sleep 60"
expect "the header shows the host" "cube-tui  local"
expect "the domains are known" "acme    off"
check "two domains: none in view" off_screen "domain acme"
keys :
type_text "domain acme"
keys Enter
expect ":domain NAME picks the domain" "domain acme"

# Two models' traces, for :logs KEY.
for m in chat other; do
	r=$(http POST /proxy/acme/v1/chat/completions "$TOKEN" \
	    "{\"model\":\"$m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")
	check_eq "a request to $m" 200 "$(status_of "$r")"
done

# --- :models in Models: the bug was "d" of "models" asking to disable ----

keys 3
expect "Models lists the model" "chat     chat   fake     llm  active"
keys :
expect "the prompt opens on the last row" ":_"
type_text "mod"
expect "the typed text shows in the prompt" ":mod_"
if on_screen "Disable model" || on_screen "Delete model"; then
	not_ok "typing :mod opens no question" "$(screen)"
else ok "typing :mod opens no question"; fi
type_text "els"
keys Enter
expect_gone "Enter closes the prompt" ":models_"
expect "still in Models" "chat     chat   fake     llm  active"
if on_screen "Disable model" || on_screen "confirm" || on_screen "any key closes"; then
	not_ok ":models in Models opens nothing" "$(screen)"
else ok ":models in Models opens nothing"; fi
check_eq "the model stays active" "active" \
    "$(ctl -o json model show -d acme chat | json status)"

# --- Tab completion, Esc, unknown commands -------------------------------

keys : 1
expect "a digit in the prompt is typed, not a view switch" ":1_"
keys Escape
expect_gone "Esc closes the prompt" ":1_"
expect "Esc leaves the view as it was" "chat     chat   fake     llm  active"
keys :
type_text "mo"
keys Tab
expect "Tab completes :mo to what :model and :models share" ":model_  model models"
type_text "s"
keys Tab
expect "Tab completes :models" ":models_"
keys C-u
type_text "d"
keys Tab
expect "Tab on :d lists what it could be" ":d_  deploy domain"
type_text "o"
keys Tab
expect "Tab completes a command taking a name, with its space" ":domain _"
type_text "b"
keys Tab
expect "Tab completes the domain name" ":domain beta_"
keys Enter
expect ":domain NAME switches the domain" "domain beta"
keys :
type_text "domain nosuch"
keys Enter
expect ":domain of an unknown domain says so" "no domain nosuch on local"
keys :
type_text "domain acme"
keys Enter
expect ":domain switches back" "domain acme"
keys :
type_text "bogus"
keys Enter
expect "an unknown command says so" "unknown command :bogus"
keys :
type_text "models x"
keys Enter
expect "a stray argument says so" ":models takes no argument"

# --- :logs KEY -------------------------------------------------------------

keys :
type_text "logs chat"
keys Enter
expect ":logs switches to Logs" "TIME"
expect ":logs KEY filters on it" "filter: chat"
expect "the chat trace shows" " chat   200 "
if on_screen " other  200 "; then not_ok ":logs chat hides other models' traces" "$(screen)"
else ok ":logs chat hides other models' traces"; fi
keys :
type_text "logs"
keys Enter
expect ":logs alone shows every model" " other  200 "

# --- unbound keys, help ---------------------------------------------------

keys 3
expect "back in Models" "chat     chat   fake     llm  active"
keys z
expect "an unbound key says so" "z: not a key of Models"
keys x
expect "another unbound key says so" "x: not a key of Models"
if on_screen "confirm" || on_screen "any key closes"; then
	not_ok "unbound keys open nothing" "$(screen)"
else ok "unbound keys open nothing"; fi
keys 9
expect "Attestation in view" "without a TEE"
keys d
expect "d is unbound in Attestation" "d: not a key of Attest"
keys ?
expect "? shows the keys" "command line"
keys x
expect_gone "any key closes the help" "command line"

# --- key bars, ? per view, scrolled ----------------------------------------

keys 3
expect "Models' key bar shows its keys" "s/S sort  n deploy  e edit  E on/off"
keys 7
expect "Logs' key bar shows its keys" "f follow  Enter trace"
keys 3
keys ?
expect "? shows the view's keys" "keys: Models"
expect "? lists what n does in Models" "deploy a model (form, pre-flight checks)"
expect "? lists the keys every view shares" "every view"
keys q
expect_gone "q closes the help, not the program" "keys: Models"
check "cube-tui still runs" test ! -e "$T_DIR/tui.exit"
"${TM[@]}" resize-window -t "$SESSION" -x 80 -y 16
keys ?
expect "a short screen: the help scrolls" "j k PgUp PgDn scroll"
check "the last keys are below" off_screen "this help"
keys NPage
expect "PgDn scrolls the help to its end" "this help"
keys Escape
expect_gone "Esc closes the help" "keys: Models"
"${TM[@]}" resize-window -t "$SESSION" -x 80 -y 24

# --- Ctrl-L repaints over what another program left on the terminal ------

keys 3
expect "Models for the repaint" "chat     chat   fake     llm  active"
tty=$("${TM[@]}" display -p -t "$SESSION" '#{pane_tty}')
# stray ROW TEXT: TEXT written onto the pane's terminal behind cube-tui's
# back until it shows: a repaint still due (the resize above) may wipe a
# first one.
stray() {
	local i
	for ((i = 0; i < 10; i++)); do
		printf '\033[%d;40H%s' "$1" "$2" >"$tty"
		t_until 1 on_screen "$2" && return 0
	done
	return 1
}
check "stray characters show" stray 18 STRAY-GARBAGE
keys C-l
expect_gone "Ctrl-L repaints them away" "STRAY-GARBAGE"
expect "the view is drawn again" "chat     chat   fake     llm  active"
if last_row | grep -q "not a key"; then not_ok "Ctrl-L is a key, not unbound" "$(screen)"
else ok "Ctrl-L is a key, not unbound"; fi
check "stray characters show again" stray 19 STRAY-BEFORE-RESIZE
"${TM[@]}" resize-window -t "$SESSION" -x 90 -y 24
expect_gone "a resize repaints them away" "STRAY-BEFORE-RESIZE"
"${TM[@]}" resize-window -t "$SESSION" -x 80 -y 24
expect "the view is drawn at 80 columns again" "chat     chat   fake     llm  active"

# --- a revoked token, a guardrail in use ----------------------------------

keys :
type_text "tokens"
keys Enter
expect ":tokens lists the revoked token" "$OLD_ID"
keys / o l d Enter
expect "the filter keeps the revoked token" "filter: old"
keys d
expect "d on a revoked token says so" "token $OLD_ID is already revoked"
if on_screen "Revoke token"; then not_ok "d on a revoked token asks nothing" "$(screen)"
else ok "d on a revoked token asks nothing"; fi
keys / Escape

keys :
type_text "guardrails"
keys Enter
expect ":guardrails lists the guardrail" "pii  pii   redact"
keys d
expect "d asks first" "Delete guardrail pii?"
keys y
expect "deleting a bound guardrail names the model" "Model chat binds it"
expect "and says what to do from the TUI" "Models (3), Enter on chat"
expect "and gives the whole command for a shell" "cubectl model edit -d acme chat"
check "the guardrail is still there" eval "ctl guardrail show -d acme pii >/dev/null"
keys x
expect_gone "any key closes it" "Model chat binds it"

# --- :q ------------------------------------------------------------------------

keys :
type_text "q"
keys Enter
t_wait_file "$T_DIR/tui.exit" 10
check_eq ":q quits with 0" "0" "$(cat "$T_DIR/tui.exit" 2>/dev/null)"
check_eq "nothing on stderr" "" "$(cat "$T_DIR/tui.err")"

t_done
