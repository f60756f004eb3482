#!/usr/bin/env bash
# cube-tui's forms in a detached 80x24 tmux session against the real agent
# and the fake backend: a guardrail made in the editor, its live test box
# showing a redaction before it is saved, then bound and applied to a
# request through the gateway; domain edit changes the retention; provider
# edit keeps the name; a bracketed paste of UTF-8 with a newline into a
# field; the filter with a multi-byte character.
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
tui_tmux tui-forms

start_tui forms -s "$AGENT_SOCK" local
expect "the only domain is in view" "domain acme"

# --- the guardrail editor and its live test box ----------------------------

keys 5
expect "Guardrails is shown, empty" " none" 10
keys n
expect "n opens the editor" "new guardrail"
type_text "orders"
keys Tab Right
expect "kind is a choice" "< regex >"
keys Tab Tab Tab
type_text "ORD-[0-9]+"
# To the test box: pattern 2..4, words, max chars, max messages,
# description, test text.
keys Down Down Down Down Down Down Down Down
type_text "ship ORD-42 now"
expect "the test box shows the result before saving" "result: redacted"
expect "and the text with the match marked" "ship [REDACTED:REGEX] now"
expect "and the hits" "hits: regex x1"
check_eq "nothing is stored yet" "[]" "$(ctl -o json guardrail list -d acme | tr -d ' \n')"
# Editing the spec tests again: an action of log, a pattern that misses.
keys Up Up Up Up Up Up Up Up
keys BSpace BSpace BSpace BSpace BSpace BSpace
type_text "XYZ-[0-9]+"
expect "a changed pattern is tested again" "result: pass"
keys C-u
type_text "ORD-[0-9]+"
expect "and again" "result: redacted"
keys Down Down Down Down Down Down Down Down Enter
expect "Enter on the last field saves" "guardrail orders saved"
check_eq "the guardrail is stored as edited" '["ORD-[0-9]+"]' \
    "$(ctl -o json guardrail show -d acme orders | json patterns)"
ctl model edit -d acme chat --guard-in orders >/dev/null
out=$(http POST /proxy/acme/v1/chat/completions "$TOKEN" \
    '{"model":"chat","messages":[{"role":"user","content":"where is ORD-9917?"}]}')
check_eq "the bound guardrail serves" 200 "$(status_of "$out")"
check_contains "the backend saw the redaction" "where is [REDACTED:REGEX]?" \
    "$(backend_requests)"
check_not_contains "and not the order number" "ORD-9917" "$(backend_requests)"

# e edits it: the key is in the title, not a field.
expect "the list shows it" "orders"
keys e
expect "e opens the editor on it" "edit guardrail orders"
check_not_contains "its key is not a field" "│  key " "$(screen)"
keys Escape
check "Esc closes the editor" t_until 5 eval '! screen | grep -qF "edit guardrail orders"'

# --- bracketed paste: text into the field in focus, never keys --------------

"${TM[@]}" set-buffer -b p1 "$(printf 'naïve café\n東京 line')"
keys n
expect "n opens the editor" "new guardrail"
type_text "pasted"
keys Down Down Down Down Down Down Down Down Down Down Down
"${TM[@]}" paste-buffer -p -b p1 -t "$SESSION"
expect "the paste arrives as text, its newline a space" "naïve café 東京 line_"
check_contains "the newline did not submit or move on" "new guardrail" "$(screen)"
check_eq "nothing was saved by it" "" "$(ctl -o json guardrail list -d acme | grep -o pasted)"
keys Enter Enter
expect "the guardrail is saved" "guardrail pasted saved"
check_eq "with the pasted description" "naïve café 東京 line" \
    "$(ctl -o json guardrail show -d acme pasted | json description)"
"${TM[@]}" set-buffer -b p2 "$(printf 'models\nq\n')"
keys :
"${TM[@]}" paste-buffer -p -b p2 -t "$SESSION"
expect "a paste into : is typed, not run" ":models q_"
keys Escape
check "Esc closes the prompt" t_until 5 eval '! screen | grep -qF ":models q"'
check "cube-tui still runs" [ ! -e "$T_DIR/tui.exit" ]

# --- the filter: UTF-8, and its scroll ---------------------------------------

for i in $(seq -w 1 30); do
	ctl guardrail create -d acme "g$i" --kind pii --action log \
	    --description "filler $i" >/dev/null
done
keys r
expect "the list has the fillers" "g01"
keys G
expect "G goes to the last row" "g30"
keys /
type_text "東京"
expect "the filter takes a multi-byte character" "/東京_"
expect "and matches on it" "pasted"
check_not_contains "rows without it are hidden" "filler" "$(screen)"
keys BSpace
expect "Backspace takes the whole character" "/東_"
keys C-u
type_text "filler 0"
expect "filtering from the bottom shows the first matches" "g01"
check_contains "and the rest that fit" "g09" "$(screen)"
keys Enter
expect "Enter keeps the filter" "filter: filler 0"
keys /
keys Escape
check "Esc clears it" t_until 5 eval '! screen | grep -qF "filter: filler 0"'

# --- the domain form --------------------------------------------------------

# domfield NAME FIELD: a field of a domain, as cubectl domain list has it.
domfield() {
	ctl -o json domain list | python3 -c 'import json,sys
d=[d for d in json.load(sys.stdin) if d["name"]==sys.argv[1]][0][sys.argv[2]]
print(str(d).lower() if isinstance(d,bool) else d)' "$1" "$2"
}

keys :
type_text "edit-domain"
keys Enter
expect ":edit-domain opens the form on the domain in view" "edit domain acme"
keys Space Down C-u
type_text "abc"
keys Down Enter
expect "a retention that is not a number is refused" "retention days: 1 to 3650"
keys Up C-u
type_text "7"
keys Down
type_text "https://a.example,HTTPS://B"
keys Enter
expect "an origin the agent refuses is named" "cors_origins[1]: must be"
keys C-u
type_text "https://a.example http://localhost:5173"
keys Enter
expect "the domain is saved" "domain acme saved: traces kept 7 days, with their text"
check_eq "cubectl domain list: the origins" \
    "['https://a.example', 'http://localhost:5173']" "$(domfield acme cors_origins)"
keys :
type_text "edit-domain"
keys Enter
expect "the form shows the origins again" "https://a.example http://localhost:5173"
keys Escape
check_eq "cubectl domain list: retention" 7 \
    "$(domfield acme trace_retention_days)"
check_eq "cubectl domain list: content logged" true \
    "$(domfield acme log_content)"
keys :
type_text "new-domain"
keys Enter
expect ":new-domain opens the form" "new domain"
type_text "beta"
keys Down Down C-u
type_text "90"
keys Down Enter
expect "the new domain is saved" "domain beta saved: traces kept 90 days"
check_eq "cubectl domain list: the new domain's retention" 90 \
    "$(domfield beta trace_retention_days)"
check_eq "cubectl domain list: no content by default" false \
    "$(domfield beta log_content)"
check_eq "cubectl domain list: no origins by default" "[]" \
    "$(domfield beta cors_origins)"

# The same forms from the Overview: e edits the domain in view, n makes one.
keys 2
expect "the Overview of acme" "domain acme"
keys e
expect "e in the Overview edits the domain in view" "edit domain acme"
keys Escape
check "Esc closes it" t_until 5 eval '! screen | grep -qF "edit domain acme"'
keys n
expect "n in the Overview makes a domain" "new domain"
keys Escape
check "... and that one too" t_until 5 eval '! screen | grep -qF "new domain"'

# --- provider edit keeps the name -------------------------------------------

keys 4
expect "Providers lists the provider" "fake"
keys e
expect "e opens the edit form, its name in the title" "edit provider fake"
check_not_contains "the name is not a field" "│ name " "$(screen)"
keys C-u
type_text "http://127.0.0.1:9/v1"
keys Enter Enter
expect "the provider is saved" "provider saved"
check_eq "the url changed" "http://127.0.0.1:9/v1" \
    "$(ctl -o json provider list -d acme | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["url"])')"
check_eq "the name did not" "fake" \
    "$(ctl -o json provider list -d acme | python3 -c 'import json,sys; print(" ".join(p["name"] for p in json.load(sys.stdin)))')"

# --- token create with limits -----------------------------------------------

keys 6
expect "Tokens lists the token" " test "
keys n
expect "n opens the token form" "create a token"
expect "with its limits" "budget resets"
type_text "limited"
keys Down Down
type_text "2x"
keys Enter Enter Enter Enter Enter
expect "a limit that is not a number is refused" "requests/min: a whole number"
keys Up Up Up Up BSpace
keys Down Down
type_text "5.50"
keys Down Right Down
type_text "chat, "
keys Enter
expect "the secret is shown once" "shown this once"
keys Enter
tok=$(ctl -o json token list -d acme | python3 -c 'import json,sys
t=[t for t in json.load(sys.stdin) if t.get("name")=="limited"][0]
print(t.get("rpm"), t.get("budget"), t.get("budget_period"), t.get("models"))')
check_eq "the token has its limits" "2 5.5 day ['chat']" "$tok"

keys q
t_wait_file "$T_DIR/tui.exit" 10
check_eq "q quits with 0" "0" "$(cat "$T_DIR/tui.exit" 2>/dev/null)"
check_eq "nothing on stderr" "" "$(cat "$T_DIR/tui.err")"

t_done
