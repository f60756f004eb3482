#!/usr/bin/env bash
# The systemd unit, sysusers.d and tmpfiles.d files as `make install`
# installs them: systemd-analyze verify finds nothing to say (and does on a
# broken copy), every directive issue 16 names has its exact value, the
# exposure score stays low, sysusers and tmpfiles make the user and the
# directories with the right owners and modes in a scratch root. Then the
# agent runs with the unit's command line and what of its sandbox works
# outside systemd (its own user, umask, limits, no new privileges, no W+X
# memory): a member of the socket's group runs cubectl, anyone else is
# refused with exit 4 (DESIGN.md), guardrails work without PCRE2's JIT.
. "$(dirname "$0")/../lib.sh"

command -v systemd-analyze >/dev/null 2>&1 ||
	{ echo "# SKIP systemd-analyze is missing (scripts/install-deps installs systemd)"; exit 0; }

# --- make install --------------------------------------------------------
# The build the binaries come from, so that make finds it up to date.
case $CUBE_BIN in
"$CUBE_ROOT/build/asan/bin") build=asan ;;
"$CUBE_ROOT/bin") build=release ;;
*) echo "# SKIP CUBE_BIN is neither build/asan/bin nor bin of $CUBE_ROOT: make install would build another"; exit 0 ;;
esac
dest="$T_DIR/dest"
if out=$(cd "$CUBE_ROOT" && unset MAKEFLAGS MFLAGS MAKELEVEL &&
    make -s BUILD=$build install DESTDIR="$dest" PREFIX=/usr 2>&1); then
	ok "make install DESTDIR PREFIX=/usr"
else
	not_ok "make install DESTDIR PREFIX=/usr" "$out"
fi
unit="$dest/usr/lib/systemd/system/cube-agent.service"
for f in "$unit" "$dest/usr/lib/sysusers.d/cube.conf" \
    "$dest/usr/lib/tmpfiles.d/cube.conf"; do
	check_eq "installed 0644: ${f#"$dest"}" 644 "$(stat -c %a "$f" 2>&1)"
done
check "the agent in /usr/sbin" [ -x "$dest/usr/sbin/cube-agent" ]

# --- systemd-analyze verify ----------------------------------------------
# verify checks that ExecStart's program exists: the installed one, so the
# copy points there and differs from the unit on that one line only.
mkdir -p "$T_DIR/verify" "$T_DIR/broken"
sed "s|^ExecStart=/usr/sbin/cube-agent |ExecStart=$dest/usr/sbin/cube-agent |" \
    "$unit" >"$T_DIR/verify/cube-agent.service"
check_eq "the copy differs on ExecStart alone" 1 \
    "$(diff "$unit" "$T_DIR/verify/cube-agent.service" | grep -c '^>')"
# Documentation=man: pages are looked up in the installed tree.
man=--man=no
if command -v man >/dev/null 2>&1; then man=--man=yes; fi
for page in man8/cube-agent.8 man5/cube-agent.conf.5; do
	check "Documentation names an installed page: $page" \
	    [ -f "$dest/usr/share/man/$page" ]
done
# verify exits 0 on most mistakes (an unknown key, a bad value): anything
# it prints is a failure.
verify() {	# unit file: prints what systemd-analyze says, if anything
	MANPATH="$dest/usr/share/man" systemd-analyze verify "$man" "$1" 2>&1
	echo "rc=$?"
}
check_eq "systemd-analyze verify: nothing to say" "rc=0" \
    "$(verify "$T_DIR/verify/cube-agent.service")"
# And it does see a broken unit: the check can fail.
sed 's/^ProtectSystem=strict$/ProtectSystem=strcit/' \
    "$T_DIR/verify/cube-agent.service" >"$T_DIR/broken/cube-agent.service"
check_contains "verify reports a broken directive" \
    "Failed to parse protect system value, ignoring: strcit" \
    "$(verify "$T_DIR/broken/cube-agent.service")"

# --- the directives, exact -----------------------------------------------
# Every value of KEY in the [Service] section, one a line, in order.
directive() {	# key
	awk -v key="$1" '
	/^\[/ { section = $0; next }
	section == "[Service]" && index($0, key "=") == 1 {
		print substr($0, length(key) + 2) }' "$unit"
}
while IFS='|' read -r key want; do
	check_eq "$key=" "$want" "$(directive "$key" | paste -sd '|')"
done <<'EOF'
Type|exec
User|cube
Group|cube
ExecStart|/usr/sbin/cube-agent -c /etc/cube/agent.conf --data /var/lib/cube --admin-socket /run/cube/agent.sock
ExecReload|/bin/kill -HUP $MAINPID
Restart|on-failure
StateDirectory|cube
StateDirectoryMode|0700
RuntimeDirectory|cube
RuntimeDirectoryMode|0750
UMask|0077
LimitCORE|0
NoNewPrivileges|yes
CapabilityBoundingSet|
ProtectSystem|strict
ProtectHome|yes
PrivateTmp|yes
PrivateDevices|
DevicePolicy|closed
DeviceAllow|/dev/sev-guest rw|/dev/tdx_guest rw
ReadWritePaths|-/sys/kernel/config/tsm/report
ProtectKernelTunables|yes
ProtectKernelModules|yes
ProtectKernelLogs|yes
ProtectControlGroups|yes
ProtectClock|yes
ProtectHostname|yes
RestrictNamespaces|yes
RestrictRealtime|yes
RestrictSUIDSGID|yes
LockPersonality|yes
RestrictAddressFamilies|AF_UNIX AF_INET AF_INET6
MemoryDenyWriteExecute|yes
SystemCallArchitectures|native
SystemCallFilter|@system-service|~@privileged
EOF
# Before the start, as root, where they exist: the TEE interfaces to the
# agent's user (not its group: the operators).
pre=$(directive ExecStartPre)
check_eq "ExecStartPre=" "-+/bin/sh -c 'for p in /dev/sev-guest /dev/tdx_guest /sys/kernel/config/tsm/report; do if [ -e \"\$\$p\" ]; then chown cube \"\$\$p\"; fi; done'" "$pre"
script=${pre#"-+/bin/sh -c '"}
script=${script%"'"}
check "its script is sh" sh -n -c "${script//\$\$/\$}"
check_eq "CapabilityBoundingSet= is there, empty" 1 \
    "$(grep -c '^CapabilityBoundingSet=$' "$unit")"
check_eq "no PrivateDevices= (it would hide the TEE devices)" 0 \
    "$(grep -c '^PrivateDevices=' "$unit")"
# The TEE paths are the agent's own (agent/agent.h, agent/tee-*.c).
check_contains "configfs-tsm is the agent's TEE_TSM_ROOT" \
    '#define TEE_TSM_ROOT		"/sys/kernel/config/tsm/report"' \
    "$(cat "$CUBE_ROOT/agent/agent.h")"
for dev in /dev/sev-guest /dev/tdx_guest; do
	check_contains "the agent opens $dev" "$dev" \
	    "$(cat "$CUBE_ROOT"/agent/tee-*.c "$CUBE_ROOT"/agent/agent.h)"
done
# Room for the most connections the agent sizes itself to (agent/config.c:
# config_nofile_for(CONFIG_CONNECTIONS_MAX) = 2 * max + reserved).
max=$(sed -n 's/^#define CONFIG_CONNECTIONS_MAX[[:space:]]*\([0-9]*\).*/\1/p' "$CUBE_ROOT/agent/config.c")
reserved=$(sed -n 's/^#define CONFIG_FDS_RESERVED[[:space:]]*\([0-9]*\).*/\1/p' "$CUBE_ROOT/agent/config.c")
nofile=$(directive LimitNOFILE)
need=$((2 * ${max:-0} + ${reserved:-0}))
check_eq "CONFIG_CONNECTIONS_MAX, CONFIG_FDS_RESERVED read" 16384/64 "$max/$reserved"
check "LimitNOFILE=$nofile holds config_nofile_for($max) = $need" \
    [ "${nofile:-0}" -ge "$need" ]
# Exposure (0 safe .. 10 unsafe) at most 2.0; the figure for the record.
exposure=$(systemd-analyze security --offline=yes --threshold=20 \
    "$T_DIR/verify/cube-agent.service" 2>&1)
check "systemd-analyze security: exposure at most 2.0" [ $? -eq 0 ]
echo "# $(printf '%s\n' "$exposure" | grep 'Overall exposure')"

# --- sysusers.d and tmpfiles.d in a scratch root ---------------------------
root="$T_DIR/root"
mkdir -p "$root/etc"
cp -a "$dest/usr" "$root/"
out=$(systemd-sysusers --root="$root" 2>&1)
check "systemd-sysusers --root" [ $? -eq 0 ]
check_not_contains "sysusers: no complaint" "ignoring" "$out"
uid=$(awk -F: '$1 == "cube" { print $3 }' "$root/etc/passwd")
gid=$(awk -F: '$1 == "cube" { print $3 }' "$root/etc/group")
check_eq "user cube: group cube, home, no shell" \
    "cube:x:$uid:$gid:Cube LLM gateway:/var/lib/cube:/usr/sbin/nologin" \
    "$(grep '^cube:' "$root/etc/passwd")"
check "a system uid" [ "${uid:-1000}" -lt 1000 ]
out=$(systemd-tmpfiles --create --root="$root" 2>&1)
check "systemd-tmpfiles --create --root" [ $? -eq 0 ]
check_eq "tmpfiles: no complaint" "" "$out"
check_eq "tmpfiles: directories, config, owners, modes" \
"750 0 $gid directory /etc/cube
640 0 $gid regular file /etc/cube/agent.conf
700 $uid $gid directory /var/lib/cube
750 $uid $gid directory /run/cube" \
    "$(cd "$root" && stat -c '%a %u %g %F %n' etc/cube etc/cube/agent.conf \
    var/lib/cube run/cube | sed 's/regular empty file/regular file/; s| etc/| /etc/|; s| var/| /var/|; s| run/| /run/|')"
if [ -f "$CUBE_ROOT/dist/agent.conf" ]; then
	check "make install put the default config in /etc/cube" \
	    cmp -s "$CUBE_ROOT/dist/agent.conf" "$dest/etc/cube/agent.conf"
	# Never over an operator's.
	echo "# mine" >"$dest/etc/cube/agent.conf"
	(cd "$CUBE_ROOT" && unset MAKEFLAGS MFLAGS MAKELEVEL &&
	    make -s install-config DESTDIR="$dest" >/dev/null 2>&1)
	check_eq "make install-config keeps an existing config" "# mine" \
	    "$(cat "$dest/etc/cube/agent.conf")"
fi

# --- the agent under the unit's settings, outside systemd -----------------
if [ "$(id -u)" -ne 0 ]; then
	echo "# SKIP the agent as its own user: needs root (useradd, setpriv)"
	t_done
fi
for tool in useradd userdel setpriv; do
	command -v $tool >/dev/null 2>&1 ||
		{ echo "# SKIP the agent as its own user: no $tool"; t_done; }
done
# The agent's user (its primary group is the socket's), an operator in
# that group, and a user outside it. Removed at the end if made here.
made_users=()
sd_cleanup() {
	t_cleanup
	local u
	for u in "${made_users[@]}"; do
		userdel "$u" 2>/dev/null
	done
	[ ${#made_users[@]} -eq 0 ] || groupdel cube-test 2>/dev/null
}
trap sd_cleanup EXIT
for u in cube-test cube-test-op cube-test-out; do
	getent passwd $u >/dev/null && continue
	case $u in
	cube-test) useradd --system --user-group --no-create-home \
	    --home-dir /nonexistent --shell /usr/sbin/nologin $u ;;
	cube-test-op) useradd --system --no-create-home --groups cube-test \
	    --home-dir /nonexistent --shell /usr/sbin/nologin $u ;;
	*) useradd --system --no-create-home --home-dir /nonexistent \
	    --shell /usr/sbin/nologin $u ;;
	esac || { not_ok "useradd $u"; t_done; }
	made_users+=("$u")
done
check_eq "the operator is in the socket's group" cube-test \
    "$(id -nG cube-test-op | tr ' ' '\n' | grep -x cube-test)"
check_eq "the outsider is not" "" \
    "$(id -nG cube-test-out | tr ' ' '\n' | grep -x cube-test)"

# The unit's directories, as systemd and tmpfiles.d make them, under a
# directory the agent's user can traverse.
top="$T_DIR/sys"
mkdir -p "$top/etc/cube" "$top/var/lib/cube" "$top/run/cube"
chmod 0755 "$T_DIR" "$top" "$top/etc" "$top/var" "$top/var/lib" "$top/run"
# The default config where the tree has one, else tmpfiles.d's empty one.
if [ -f "$CUBE_ROOT/dist/agent.conf" ]; then
	cp "$CUBE_ROOT/dist/agent.conf" "$top/etc/cube/agent.conf"
else
	: >"$top/etc/cube/agent.conf"
fi
chown root:cube-test "$top/etc/cube" "$top/etc/cube/agent.conf"
chmod 0750 "$top/etc/cube"
chmod 0640 "$top/etc/cube/agent.conf"
chown cube-test:cube-test "$top/var/lib/cube" "$top/run/cube"
chmod 0700 "$top/var/lib/cube"
chmod 0750 "$top/run/cube"

# The unit's ExecStart, its paths moved under $top, and a free port (the
# unit takes listen from the config).
read -r -a cmd <<<"$(directive ExecStart)"
for i in "${!cmd[@]}"; do
	case ${cmd[$i]} in
	/usr/sbin/cube-agent) cmd[$i]="$CUBE_BIN/cube-agent" ;;
	/etc/*|/var/*|/run/*) cmd[$i]="$top${cmd[$i]}" ;;
	esac
done
AGENT_SOCK="$top/run/cube/agent.sock"
AGENT_LOG="$T_DIR/agent.log"
# LimitCORE, LimitNOFILE, UMask; NoNewPrivileges, CapabilityBoundingSet=,
# User=, Group= (setpriv); MemoryDenyWriteExecute=: PR_SET_MDWE, kept
# across exec (systemd 252 denies W+X with a seccomp filter instead).
# A container may hold the hard open-file limit below the unit's: then
# that one (the agent raises its soft limit to the hard one).
limit_n=$nofile
[ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge "$nofile" ] ||
	limit_n=$(ulimit -Hn)
(
	ulimit -c 0
	ulimit -n "$limit_n"
	umask 0077
	exec python3 - "$(command -v setpriv)" --reuid=cube-test \
	    --regid=cube-test --init-groups --no-new-privs --bounding-set=-all \
	    --inh-caps=-all "${cmd[@]}" --listen 127.0.0.1:0 <<'PY'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
mdwe = libc.prctl(65, 1, 0, 0, 0) == 0   # PR_SET_MDWE, REFUSE_EXEC_GAIN
print("mdwe" if mdwe else "no mdwe: errno %d" % ctypes.get_errno(),
      file=sys.stderr, flush=True)
os.execv(sys.argv[1], sys.argv[1:])
PY
) >"$AGENT_LOG" 2>&1 &
AGENT_PID=$!
T_PIDS+=("$AGENT_PID")
t_wait_file "$AGENT_SOCK" 20 ||
	{ not_ok "the agent starts with the unit's command line" "$(cat "$AGENT_LOG")"; t_done; }
ok "the agent starts with the unit's command line"
mdwe=$(head -n 1 "$AGENT_LOG")
check_eq "the socket: the agent's, group-accessible" \
    "660 cube-test cube-test socket" "$(stat -c '%a %U %G %F' "$AGENT_SOCK")"
check_eq "what it made in its state directory is its own (UMask)" "" \
    "$(find "$top/var/lib/cube" -mindepth 1 \( -perm /077 -o ! -user cube-test \) -printf '%m %u %p\n')"
check "it made its database there" [ -s "$top/var/lib/cube/cube.db" ]
check_eq "its limits and privileges" \
    "core 0, files $limit_n, no_new_privs 1, bounding 0000000000000000" \
    "$(awk '/^Max core file size/ { c = $5 } /^Max open files/ { n = $4 }
	END { printf "core %s, files %s, ", c, n }' "/proc/$AGENT_PID/limits"
	awk '/^NoNewPrivs/ { p = $2 } /^CapBnd/ { b = $2 }
	END { printf "no_new_privs %s, bounding %s", p, b }' \
	    "/proc/$AGENT_PID/status")"

as() {	# user, command...
	local u=$1
	shift
	setpriv --reuid="$u" --regid="$u" --init-groups "$@"
}
out=$(as cube-test-op "$CUBE_BIN/cubectl" -s "$AGENT_SOCK" -o json status 2>&1)
check "a member of the socket's group runs cubectl" [ $? -eq 0 ]
check_contains "and sees the agent" '"listen"' "$out"
out=$(as cube-test-out "$CUBE_BIN/cubectl" -s "$AGENT_SOCK" status 2>&1)
check_eq "anyone else: denied (exit 4)" 4 $?
check_contains "by the directory" "permission denied" "$out"
# Past the directory and the socket's mode, the agent refuses them itself.
chmod 0755 "$top/run/cube"
chmod 0666 "$AGENT_SOCK"
out=$(as cube-test-out "$CUBE_BIN/cubectl" -s "$AGENT_SOCK" status 2>&1)
check_eq "by the agent too (SO_PEERCRED): exit 4" 4 $?
check_contains "which says who" \
    "uid $(id -u cube-test-out) may not use this agent's admin socket" "$out"
chmod 0750 "$top/run/cube"
chmod 0660 "$AGENT_SOCK"

# Guardrails without W+X memory: PCRE2's JIT is refused, the interpreter
# answers, and the agent says so once.
op() { as cube-test-op "$CUBE_BIN/cubectl" -s "$AGENT_SOCK" "$@"; }
op domain create acme >/dev/null
op guardrail create -d acme orders --kind regex --action redact \
    --pattern 'ORD-[0-9]{4}' >/dev/null
check "a regex guardrail compiles" [ $? -eq 0 ]
op guardrail create -d acme plans --kind keywords --action block \
    --words 'secret plan' >/dev/null
check "a keywords guardrail compiles" [ $? -eq 0 ]
check_eq "the regex redacts" "see [REDACTED:REGEX] now" \
    "$(op -o json guardrail test -d acme orders --text 'see ORD-1234 now' | json text)"
check_eq "the keywords block" blocked \
    "$(op -o json guardrail test -d acme plans --text 'the Secret  Plan' | json result)"
if [ "$mdwe" = mdwe ]; then
	check_eq "JIT refused: said once" 1 \
	    "$(grep -c 'guardrails: PCRE2 JIT unavailable (.*); patterns run in the interpreter' "$AGENT_LOG")"
else
	echo "# SKIP no PR_SET_MDWE here ($mdwe): the JIT was not refused"
fi

# ExecReload: SIGHUP, and the agent carries on.
kill -HUP "$AGENT_PID"
check "ExecReload's SIGHUP reloads the configuration" \
    t_until 10 grep -q 'SIGHUP: configuration reloaded' "$AGENT_LOG"
check "after it the operator still gets an answer" eval 'op status >/dev/null'
check "and the agent runs" kill -0 "$AGENT_PID"
stop_agent
check_eq "SIGTERM: a clean exit" 0 $?
check_not_contains "nothing fatal in its log" " fatal: " "$(cat "$AGENT_LOG")"
t_done
