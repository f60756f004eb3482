#!/usr/bin/env bash
# cube-tui's header at 80x24: a long domain name is cut before the
# figures are; the attestation verdict is renewed at once when the
# host's status says it is another agent (not a minute later).
. "$(dirname "$0")/../lib.sh"

command -v tmux >/dev/null || { echo "# SKIP tmux is not installed"; exit 0; }
locale -a 2>/dev/null | grep -qix 'c.utf-\?8' ||
    { echo "# SKIP no C.UTF-8 locale"; exit 0; }
# tmux reads what send-keys -l is given, and the pane, as UTF-8.
export LC_ALL=C.UTF-8

# The simulated TEE measures the running binary: agent A, a copy with a
# byte more, does not match the policy; the real one, B, does.
mkdir -p "$T_DIR/bin-a"
cp "$CUBE_BIN/cube-agent" "$T_DIR/bin-a/cube-agent"
printf '\0' >>"$T_DIR/bin-a/cube-agent"
for p in cubectl cube-tui fake-llm; do ln -s "$CUBE_BIN/$p" "$T_DIR/bin-a/$p"; done
MEASURED=$(sha384sum "$CUBE_BIN/cube-agent" | cut -c1-96)
printf '{"version": 1, "tee": "sev-snp", "allow_simulated": true, "measurement": ["%s"]}\n' \
    "$MEASURED" >"$T_DIR/sim.json"

REAL_BIN=$CUBE_BIN
CUBE_BIN="$T_DIR/bin-a" start_agent --tee sim
LONG=a-rather-long-domain-name-that-would-push-the-figures-off
ctl domain create "$LONG" >/dev/null

export HOME="$T_DIR/home"
mkdir -p "$HOME"

. "$(dirname "$0")/../tui-lib.sh"
tui_tmux tui-header

start_tui header -s "$AGENT_SOCK" --policy "$T_DIR/sim.json" local
expect "the only domain is in view, cut" "domain a-"
expect "agent A fails the policy's measurement" "[TEE sim FAIL]" 20
expect "the figures are up" "rps err"
head=$(screen | head -n 1)
check_contains "at 80 columns the long domain leaves the figures whole" \
    "0 rps err 0%" "$head"
check "the domain is cut at the right edge, with an ellipsis" \
    eval 'printf "%s" "$head" | grep -q "  domain a-r[a-z-]*…$"'
check_not_contains "not in full" "$LONG" "$head"
check_eq "the header fits 80 columns" 80 "$(printf '%s' "$head" | wc -m)"

# Agent B, the real binary, on the same socket and data: a new pid.
stop_agent
CUBE_BIN=$REAL_BIN start_agent --tee sim
expect "the verdict is asked again at once: B passes" "[TEE sim ok]" 15

keys q
t_wait_file "$T_DIR/tui.exit" 10
check_eq "q quits with 0" "0" "$(cat "$T_DIR/tui.exit" 2>/dev/null)"
check_eq "nothing on stderr" "" "$(cat "$T_DIR/tui.err")"

t_done
