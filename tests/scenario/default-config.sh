#!/usr/bin/env bash
# dist/agent.conf, the packages' default config, cannot drift from the
# agent: it names every key of config_keys[] in agent/config.c once, and
# nothing else; cube-agent --check-config takes it as it is and with every
# line uncommented, and reports a bad line with file:line and exit 1.
# (test-config-dist checks its defaults against config_defaults().)
. "$(dirname "$0")/../lib.sh"
cd "$CUBE_ROOT"

conf=dist/agent.conf
keys=$(sed -n '/^} config_keys\[\] = {/,/^};/p' agent/config.c |
    sed -n 's/.*{ "\([a-z-]*\)".*/\1/p')
check "config key table read" [ "$(echo $keys | wc -w)" -ge 40 ]
for k in $keys; do
	check_eq "$conf names '$k' once" 1 \
	    "$(grep -cE "^#?$k = " "$conf")"
done
named=$(sed -n 's/^#\{0,1\}\([a-z][a-z0-9-]*\) = .*/\1/p' "$conf")
for k in $named; do
	case " $(echo $keys) " in
	*" $k "*) ;;
	*) not_ok "$conf: '$k' is a key of agent/config.c" ;;
	esac
done
check_eq "$conf sets the service's state directory" "data = /var/lib/cube" \
    "$(grep '^data' "$conf")"
check_eq "$conf sets the service's admin socket" \
    "admin-socket = /run/cube/agent.sock" "$(grep '^admin-socket' "$conf")"
check_eq "$conf sets nothing else" 2 "$(grep -c '^[a-z]' "$conf")"

out=$("$CUBE_BIN/cube-agent" -c "$conf" --check-config 2>&1)
check_eq "cube-agent --check-config takes $conf" "0 config ok" "$? $out"
sed 's/^#\([a-z][a-z0-9-]* = \)/\1/' "$conf" >"$T_DIR/all.conf"
check_eq "all.conf has every key uncommented" "$(echo $keys | wc -w)" \
    "$(grep -c '^[a-z]' "$T_DIR/all.conf")"
out=$("$CUBE_BIN/cube-agent" -n -c "$T_DIR/all.conf" 2>&1)
check_eq "... and with every value shown uncommented" "0 config ok" "$? $out"

# A bad line: its file and line, exit 1; the options are checked too.
printf 'workers = 2\n\nmax-body = 12\n' >"$T_DIR/bad.conf"
out=$("$CUBE_BIN/cube-agent" -c "$T_DIR/bad.conf" --check-config 2>&1)
rc=$?
check_eq "a bad file: exit 1" 1 "$rc"
check_contains "a bad file: its name and line" \
    "$T_DIR/bad.conf:3: max-body: '12' is not a whole number from 1024 to 1073741824" "$out"
check_not_contains "a bad file: not ok" "config ok" "$out"
out=$("$CUBE_BIN/cube-agent" -c "$conf" --seal-keys maybe -n 2>&1)
check_eq "a bad option: exit 1" 1 "$?"
check_contains "a bad option: what is wrong" \
    "--seal-keys: 'maybe' is not auto or off" "$out"
out=$("$CUBE_BIN/cube-agent" -c "$T_DIR/none.conf" -n 2>&1)
check_eq "a missing file: exit 1" 1 "$?"
check_contains "a missing file: says so" "$T_DIR/none.conf: No such file" "$out"
# It starts nothing: no state directory made, no socket.
out=$("$CUBE_BIN/cube-agent" -n --data "$T_DIR/state" \
    --admin-socket "$T_DIR/agent.sock" 2>&1)
check_eq "--check-config without a file" "0 config ok" "$? $out"
check "--check-config makes no state directory" [ ! -e "$T_DIR/state" ]
check "--check-config makes no socket" [ ! -e "$T_DIR/agent.sock" ]
check_contains "--help shows --check-config" "--check-config" \
    "$("$CUBE_BIN/cube-agent" --help)"
t_done
