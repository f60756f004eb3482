#!/usr/bin/env bash
# cube-tui over a real sshd on 127.0.0.1 (strict host keys, its own
# authorized_keys, as in ssh.sh), in a detached 80x24 tmux session: the
# views show the agent's data through the direct-streamlocal channel, a
# SIGSTOPped agent behind the sshd shows as stale within seconds and as
# ok again when it resumes, and NO_COLOR=1 draws a few views without
# colour.
. "$(dirname "$0")/../lib.sh"

command -v tmux >/dev/null || { echo "# SKIP tmux is not installed"; exit 0; }
locale -a 2>/dev/null | grep -qix 'c.utf-\?8' ||
    { echo "# SKIP no C.UTF-8 locale"; exit 0; }
export LC_ALL=C.UTF-8

SSHD=/usr/sbin/sshd
if [ ! -x "$SSHD" ] || ! command -v ssh-keygen >/dev/null; then
	echo "# SKIP openssh-server is not installed (scripts/install-deps)"
	exit 0
fi

S="$T_DIR/ssh"
mkdir -p "$S" "$T_DIR/home"
chmod 700 "$S"
# No real ~/.ssh, ssh-agent or config may leak into what is tested.
export HOME="$T_DIR/home"
unset SSH_AUTH_SOCK CUBE_HOST CUBE_SOCKET
ssh-keygen -q -t ed25519 -N '' -C host -f "$S/host_key"
ssh-keygen -q -t ed25519 -N '' -C operator -f "$S/id_operator"
cp "$S/id_operator.pub" "$S/authorized_keys"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ME=$(id -un)

cat >"$S/sshd_config" <<CONF
ListenAddress 127.0.0.1
Port $PORT
HostKey $S/host_key
PidFile $S/sshd.pid
AuthorizedKeysFile $S/authorized_keys
# The test's files live under /tmp, which StrictModes would refuse.
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
AllowStreamLocalForwarding yes
AllowTcpForwarding local
X11Forwarding no
LogLevel VERBOSE
CONF
[ "$(id -u)" -ne 0 ] || mkdir -p /run/sshd
"$SSHD" -D -e -f "$S/sshd_config" 2>"$S/sshd.log" &
SSHD_PID=$!
T_PIDS+=("$SSHD_PID")
for _ in $(seq 100); do
	(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
	kill -0 "$SSHD_PID" 2>/dev/null || break
	sleep 0.05
done
if ! kill -0 "$SSHD_PID" 2>/dev/null; then
	echo "# SKIP sshd did not start here: $(tail -n 3 "$S/sshd.log" | tr '\n' ' ')"
	exit 0
fi

hostkey() { cut -d' ' -f1,2 "$1"; }
echo "[127.0.0.1]:$PORT $(hostkey "$S/host_key.pub")" >"$S/known_hosts"

cat >"$S/config" <<CONF
Host cube
	HostName 127.0.0.1
	Port $PORT
	User $ME
	IdentityFile $S/id_operator
	UserKnownHostsFile $S/known_hosts
	StrictHostKeyChecking yes
	ConnectTimeout 5
CONF

start_backend
start_agent
setup_domain acme chat demo-model
ctl guardrail create -d acme pii --kind pii --action redact >/dev/null

TM=(tmux -u -L "cube-tui-ssh-$$" -f /dev/null)
tm_cleanup() { "${TM[@]}" kill-server 2>/dev/null; t_cleanup; }
trap tm_cleanup EXIT

SESSION=
screen() { "${TM[@]}" capture-pane -p -t "$SESSION" 2>/dev/null; }
screen_re() { screen | grep -qE -- "$1"; }
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
start_tui() {
	SESSION=$1
	shift
	rm -f "$T_DIR/tui.exit"
	"${TM[@]}" new-session -d -s "$SESSION" -x 80 -y 24 \
	    "HOME=$HOME LANG=C.UTF-8 LC_ALL=C.UTF-8 ${TUI_ENV:-} $CUBE_BIN/cube-tui $* 2>$T_DIR/tui.err; echo \$? >$T_DIR/tui.exit; sleep 60"
}

# --- the views, through sshd --------------------------------------------------

start_tui ssh -F "$S/config" -s "$AGENT_SOCK" cube
expect "the header names the ssh host" "cube-tui  cube"
expect "it is up through sshd" "ok, up" 20
expect "the only domain is in view" "domain acme"
expect "Overview shows the domain's figures" "acme · last hour"
keys 3
expect "Models lists the model" "chat     chat   fake     llm  active"
keys 4
expect "Providers lists the provider" "fake"
keys 5
expect "Guardrails lists the guardrail" "pii"
keys 9
expect "Attestation answers (no TEE here)" "no evidence"
keys 1
expect "Fleet lists the host" "cube *"
check "sshd authenticated the operator's key" \
    grep -q "Accepted publickey for $ME" "$S/sshd.log"

# --- a SIGSTOPped agent behind the sshd ---------------------------------------

kill -STOP "$AGENT_PID"
check "a stopped agent turns stale in the header within seconds" \
    t_until 12 screen_re 'STALE, updated [0-9]+s ago'
check "... and in the Fleet" screen_re '^ cube \* +STALE [0-9]+s '
check_fails "... never ok" screen_re '^ cube \* +ok '
kill -CONT "$AGENT_PID"
check "it answers again: ok" t_until 20 screen_re 'ok, up [0-9]'
keys q
t_wait_file "$T_DIR/tui.exit" 10
check_eq "q quits with 0" "0" "$(cat "$T_DIR/tui.exit" 2>/dev/null)"
check_eq "nothing on stderr" "" "$(cat "$T_DIR/tui.err")"

# --- NO_COLOR, over ssh too ---------------------------------------------------

TUI_ENV="NO_COLOR=1" start_tui mono -F "$S/config" -s "$AGENT_SOCK" cube
expect "NO_COLOR: the header is up" "ok, up" 20
colours() {	# the pane's colour escapes (SGR 30-37, 38;, 40-47, 48;, 90-107)
	"${TM[@]}" capture-pane -e -p -t mono |
	    grep -cE $'\e\\[([0-9;]*;)?(3[0-8]|4[0-8]|9[0-7]|10[0-7])(;[0-9;]*)?m'
}
for v in 2 3 5; do
	keys "$v"
	case $v in
	2) expect "NO_COLOR: Overview shows" "acme · last hour" ;;
	3) expect "NO_COLOR: Models shows" "chat     chat   fake" ;;
	5) expect "NO_COLOR: Guardrails shows" "pii" ;;
	esac
	check_eq "NO_COLOR: view $v has no colour" 0 "$(colours)"
done
check "NO_COLOR: the selection is still marked (reverse)" eval \
    '"${TM[@]}" capture-pane -e -p -t mono | grep -qF $'"'"'\e[7m'"'"
keys q
t_wait_file "$T_DIR/tui.exit" 10
check_eq "NO_COLOR: q quits with 0" "0" "$(cat "$T_DIR/tui.exit" 2>/dev/null)"

t_done
