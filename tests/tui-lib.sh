# cube-tui in a detached 80x24 tmux session, for the scenario tests that
# drive it: source after lib.sh, then `tui_tmux NAME` (a tmux server of
# the test's own, killed on exit). Gives screen, wait_for, expect, keys,
# type_text, field and start_tui SESSION ARGS...

tui_tmux() {	# name: the tmux server's, unique to this test
	TM=(tmux -u -L "cube-$1-$$" -f /dev/null)
	trap tm_cleanup EXIT
}
tm_cleanup() { "${TM[@]}" kill-server 2>/dev/null; t_cleanup; }

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

# The text of the form row labelled LABEL, from the field's column on.
field() {
	screen | grep -F -- "$1" | head -n 1 |
	    sed -e "s/^.*$1 *//" -e 's/ *│ *$//' -e 's/ *| *$//'
}

start_tui() {
	SESSION=$1
	shift
	rm -f "$T_DIR/tui.exit"
	"${TM[@]}" new-session -d -s "$SESSION" -x 80 -y 24 \
	    "LANG=C.UTF-8 LC_ALL=C.UTF-8 $CUBE_BIN/cube-tui $* 2>$T_DIR/tui.err; echo \$? >$T_DIR/tui.exit; sleep 60"
}

