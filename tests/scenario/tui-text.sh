#!/usr/bin/env bash
# cube-tui's text fields in a detached 80x24 tmux session against the real
# agent and the fake backend: a non-ASCII model name typed into the deploy
# form, Backspace over a CJK character, cursor motion and kill keys, the
# model deployed with that name; a long paste into the edit form arrives
# whole and scrolls; the one-time token secret stays until confirmed and
# is copied with OSC 52.
. "$(dirname "$0")/../lib.sh"

command -v tmux >/dev/null || { echo "# SKIP tmux is not installed"; exit 0; }
locale -a 2>/dev/null | grep -qix 'c.utf-\?8' ||
    { echo "# SKIP no C.UTF-8 locale"; exit 0; }
# tmux reads what send-keys -l is given, and the pane, as UTF-8.
export LC_ALL=C.UTF-8

start_backend
start_agent
setup_domain acme chat demo-model

export HOME="$T_DIR/home"
mkdir -p "$HOME"

. "$(dirname "$0")/../tui-lib.sh"
tui_tmux tui-text

start_tui text -s "$AGENT_SOCK" local
expect "the only domain is in view" "domain acme"
keys 3
expect "Models lists the model" "chat     chat   fake"

# --- a non-ASCII name in the deploy form ------------------------------------

keys n
expect "n opens the deploy form" "deploy a model"
expect "the provider is known" "fake is active"
keys Tab
type_text "Modèle 日本語"
expect "the name shows as typed" "Modèle 日本語_"
keys BSpace
expect "Backspace takes the whole CJK character" "Modèle 日本_"
check_eq "no byte of it is left behind" "Modèle 日本_" "$(field name)"
# Motion: Home and a character typed at the start, Ctrl-E, Ctrl-W, Ctrl-U.
keys Home
type_text "X"
keys C-e
expect "Home inserts at the start, Ctrl-E returns to the end" "XModèle 日本_"
keys C-w
expect "Ctrl-W kills the word before the cursor" "XModèle _"
keys C-u
check "Ctrl-U kills to the start" t_until 5 eval '[ "$(field name)" = "_" ]'
type_text "Modèle 日本"
keys Left Left BSpace
expect "Left steps over wide characters; Backspace deletes before them" \
    "Modèle日本"
keys C-a Right Right Right Right Right Right
type_text " "
keys End
expect "the name is whole again" "Modèle 日本_"
keys Tab
type_text "fake-chat"
keys Tab
type_text "modele-jp"
keys Tab
type_text "0.5"
expect "the checklist passes" "[ok  ] pricing"
keys Down Down Down Enter
expect "the model is deployed" "deployed modele-jp"
check_eq "cubectl shows the name as typed" "Modèle 日本" \
    "$(ctl -o json model show -d acme modele-jp | json name)"
check_contains "cubectl model list lists it" "Modèle 日本" \
    "$(ctl model list -d acme)"
keys g j Enter
expect "the model's page shows the name" "Modèle 日本"
keys Escape
check "Esc goes back to Models" t_until 5 eval '! screen | grep -qF "Modèle 日本"'

# --- a long paste into the edit form ----------------------------------------

long=""
for i in $(seq 1 15); do long+="part $i, naïve café 東京; "; done
long+="the end"
keys g
keys e
expect "e opens the edit form" "configure chat"
# The description is the last field: Up from the first goes round to it.
keys Up
type_text "$long"
# The field scrolls: the end of what was pasted shows, with the cursor.
expect "a long value scrolls to keep the cursor in view" "the end_"
keys Enter
expect "the edit is saved" "saved chat" 10
got=$(ctl -o json model show -d acme chat | json description)
check_eq "every pasted character arrived, in order" "$long" "$got"

# --- the one-time secret ------------------------------------------------------

# tmux keeps what an application copies with OSC 52 as a paste buffer.
"${TM[@]}" set-option -s set-clipboard on
keys 6
expect "Tokens lists the token" " test "
keys n
expect "n opens the token form" "create a token"
type_text "ops"
keys Enter Enter Enter Enter Enter Enter Enter	# past the limits
expect "the secret is shown once" "shown this once"
secret=$(screen | grep -o 'cube_[A-Za-z0-9_-]*' | head -n 1)
check "the secret is on screen" test -n "$secret"
expect "it says how to copy it and close it" "c copies  Enter closes"
# Keys other than Enter leave it; c, pressed after them, copies it.
keys x j 9 q Escape Space c
expect "c copies it" "copied (OSC 52)"
check_contains "the other keys left the secret on screen" "$secret" "$(screen)"
check "the clipboard holds the secret" t_until 5 eval \
    '[ "$("${TM[@]}" show-buffer 2>/dev/null)" = "$secret" ]'
keys Enter
check "Enter closes it" t_until 5 eval '! screen | grep -qF "shown this once"'
check_not_contains "the secret is gone from the screen" "$secret" "$(screen)"
check_eq "the token works" 200 "$(status_of "$(http POST \
    /proxy/acme/v1/chat/completions "$secret" \
    '{"model":"chat","messages":[{"role":"user","content":"hi"}]}')")"

keys q
t_wait_file "$T_DIR/tui.exit" 10
check_eq "q quits with 0" "0" "$(cat "$T_DIR/tui.exit" 2>/dev/null)"
check_eq "nothing on stderr" "" "$(cat "$T_DIR/tui.err")"

t_done
