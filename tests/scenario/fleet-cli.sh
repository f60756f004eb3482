#!/usr/bin/env bash
# cubectl over several hosts: two real OpenSSH servers on 127.0.0.1 (their
# own host keys, strict checking), each in a mount namespace of its own
# where the same socket path leads to its own agent. status, apply (with
# --dry-run and from stdin) and export (--dir and -o json) run on both;
# output comes per host in the order given, then a summary; a host
# nothing listens on, or one that never answers (--timeout), fails alone
# and the exit status says so; a hosts file names the same hosts.
# serial: unshare and two sshd; asserts a dead host fails within 4.5 s
. "$(dirname "$0")/../lib.sh"

SSHD=/usr/sbin/sshd
if [ ! -x "$SSHD" ] || ! command -v ssh-keygen >/dev/null; then
	echo "# SKIP openssh-server is not installed (scripts/install-deps)"
	exit 0
fi
# Two agents behind one socket path: each sshd sees its own through a
# bind mount in a private mount namespace.
if ! unshare -m --propagation private true 2>/dev/null; then
	echo "# SKIP no mount namespaces here (unshare -m needs CAP_SYS_ADMIN)"
	exit 0
fi

S="$T_DIR/ssh"
mkdir -p "$S" "$T_DIR/home" "$T_DIR/common"
chmod 700 "$S"
# No real ~/.ssh, ssh-agent or config may leak into what is tested.
export HOME="$T_DIR/home"
unset SSH_AUTH_SOCK CUBE_HOST CUBE_SOCKET
ssh-keygen -q -t ed25519 -N '' -C operator -f "$S/id_operator"
cp "$S/id_operator.pub" "$S/authorized_keys"
ME=$(id -un)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
hostkey() { cut -d' ' -f1,2 "$1"; }
[ "$(id -u)" -ne 0 ] || mkdir -p /run/sshd

start_backend

# start_host N: agent N in $T_DIR/hN, and an sshd on PORT_N that finds it
# at $T_DIR/common/agent.sock.
declare -A PORTS PIDS
saved=$T_DIR
start_host() {
	local n=$1 port dir=$saved/h$1
	T_DIR=$dir
	mkdir -p "$T_DIR"
	start_agent
	T_DIR=$saved
	PIDS[$n]=$AGENT_PID
	declare -g "SOCK_$n=$AGENT_SOCK"
	port=$(free_port)
	PORTS[$n]=$port
	ssh-keygen -q -t ed25519 -N '' -C "host$n" -f "$S/host_key_$n"
	cat >"$S/sshd_config_$n" <<CONF
ListenAddress 127.0.0.1
Port $port
HostKey $S/host_key_$n
PidFile $S/sshd_$n.pid
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
	unshare -m --propagation private sh -c 'mount --bind "$1" "$2" &&
	    exec "$3" -D -e -f "$4"' sh "$dir/run" "$saved/common" "$SSHD" \
	    "$S/sshd_config_$n" 2>"$S/sshd_$n.log" &
	T_PIDS+=("$!")
	if ! t_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null; then
		echo "# SKIP sshd did not start here: $(tail -n 3 "$S/sshd_$n.log" | tr '\n' ' ')"
		exit 0
	fi
	echo "[127.0.0.1]:$port $(hostkey "$S/host_key_$n.pub")" >>"$S/known_hosts"
}
start_host 1
start_host 2
DEAD=$(free_port)

cat >"$S/config" <<CONF
Host h1
	HostName 127.0.0.1
	Port ${PORTS[1]}
Host h2
	HostName 127.0.0.1
	Port ${PORTS[2]}
Host *
	User $ME
	IdentityFile $S/id_operator
	UserKnownHostsFile $S/known_hosts
	StrictHostKeyChecking yes
	ConnectTimeout 5
CONF

# cubectl on the fleet; ctl1 and ctl2 on each agent's socket directly.
fleet() { "$CUBE_BIN/cubectl" -F "$S/config" -s "$T_DIR/common/agent.sock" "$@"; }
ctl1() { "$CUBE_BIN/cubectl" -s "$SOCK_1" "$@"; }
ctl2() { "$CUBE_BIN/cubectl" -s "$SOCK_2" "$@"; }
# line_of TEXT PATTERN: the number of the first line that is PATTERN.
line_of() { printf '%s\n' "$1" | grep -n -x -m1 -- "$2" | cut -d: -f1; }

# --- status over both ---------------------------------------------------------
out=$(fleet -H h1,h2 status 2>"$T_DIR/err")
check_eq "status on two hosts: exit 0" 0 $?
check_eq "and nothing on stderr" "" "$(cat "$T_DIR/err")"
b1=$(line_of "$out" "== h1 ==")
b2=$(line_of "$out" "== h2 ==")
check_eq "a block per host, in the order given" yes \
    "$([ -n "$b1" ] && [ -n "$b2" ] && [ "$b1" -lt "$b2" ] && echo yes)"
block1=$(printf '%s\n' "$out" | sed -n "${b1},$((b2 - 1))p")
check_contains "h1's block holds agent 1's pid" "pid                ${PIDS[1]}" "$block1"
check_not_contains "and not agent 2's" "pid                ${PIDS[2]}" "$block1"
block2=$(printf '%s\n' "$out" | sed -n "${b2},/^HOST /p")
check_contains "h2's block holds agent 2's pid" "pid                ${PIDS[2]}" "$block2"
check_eq "the summary: each host ok, no error" "h1    ok      -
h2    ok      -" "$(printf '%s\n' "$out" | sed -n '/^HOST /,$p' | sed -n '2,3p' | awk '{print $1 "    " $2 "      " $4}')"
check_eq "and a count" "2 hosts: 2 ok, 0 failed" "$(printf '%s\n' "$out" | tail -n 1)"
check_contains "the summary's header" "HOST  RESULT  DURATION  ERROR" "$out"

# -H repeated, and sequentially: the same blocks in the same order.
out2=$(fleet -H h1 status --parallel 1 -H h2 2>&1)
check_eq "-H twice and --parallel 1: exit 0" 0 $?
check_eq "the same blocks" "== h1 ==,== h2 ==" "$(printf '%s\n' "$out2" | grep '^== ' | paste -sd,)"

out=$(fleet -o json -H h1,h2 status)
check_eq "-o json: exit 0" 0 $?
check_eq "-o json: an array of the hosts, in order" "h1 true 0 ${PIDS[1]},h2 true 0 ${PIDS[2]}" \
    "$(printf '%s' "$out" | python3 -c 'import json,sys
print(",".join("%s %s %d %d" % (e["host"], str(e["ok"]).lower(), e["exit"], e["result"]["pid"]) for e in json.load(sys.stdin)))')"

# --- apply one file to both ---------------------------------------------------
ctl1 domain create acme >/dev/null
ctl1 provider add -d acme fake --driver openai --url "$BACKEND_URL/v1" >/dev/null
ctl1 model deploy -d acme --provider fake --name Chat --model-id fake-chat \
    --price-input 0.5 >/dev/null
ctl1 export >"$T_DIR/acme.json"
python3 - "$T_DIR/acme.json" >"$T_DIR/doc.json" <<'PY'
import copy, json, sys
d = json.load(open(sys.argv[1]))
beta = copy.deepcopy(d["domains"][0])
beta["name"] = "beta"
beta["tokens"] = []
d["domains"].append(beta)
print(json.dumps(d, indent=1))
PY

out=$(fleet -H h1,h2 apply --dry-run -f "$T_DIR/doc.json" 2>&1)
check_eq "apply --dry-run on both: exit 0" 0 $?
b2=$(line_of "$out" "== h2 ==")
check_eq "h1 would get beta only" "unchanged  domain     acme
to create  domain     beta" "$(printf '%s\n' "$out" | sed -n "1,${b2}p" | grep ' domain ')"
check_eq "h2 would get both" "to create  domain     acme
to create  domain     beta" "$(printf '%s\n' "$out" | sed -n "${b2},\$p" | grep ' domain ')"
check_eq "a dry run changes nothing" "[]" "$(ctl2 -o json domain list | tr -d ' \n\t')"

out=$(fleet -H h1,h2 apply -f "$T_DIR/doc.json" 2>&1)
check_eq "apply on both: exit 0" 0 $?
check_contains "h1: beta's three objects" "3 created, 0 changed, 3 unchanged" "$out"
check_contains "h2: all six" "6 created, 0 changed, 0 unchanged" "$out"
check_eq "and the count" "2 hosts: 2 ok, 0 failed" "$(printf '%s\n' "$out" | tail -n 1)"
check_eq "agent 2 has both domains" "acme beta" "$(ctl2 -o json domain list | python3 -c 'import json,sys; print(" ".join(sorted(d["name"] for d in json.load(sys.stdin))))')"

# The document once from stdin, for every host.
out=$(fleet -H h1,h2 apply -f - <"$T_DIR/doc.json" 2>&1)
check_eq "apply -f - on both: exit 0" 0 $?
check_eq "nothing to change on either" 2 "$(printf '%s\n' "$out" | grep -c "^nothing to change: the agent matches -$")"

# --- export from both and compare ---------------------------------------------
mkdir "$T_DIR/out"
out=$(fleet -H h1,h2 export --dir "$T_DIR/out" 2>&1)
check_eq "export --dir from both: exit 0" 0 $?
check_contains "h1's file" "wrote $T_DIR/out/h1.json" "$out"
check_contains "h2's file" "wrote $T_DIR/out/h2.json" "$out"
check_eq "only the two files, no temporary ones" "h1.json h2.json" "$(ls -A "$T_DIR/out" | xargs)"
check "the two hosts export the same document" cmp -s "$T_DIR/out/h1.json" "$T_DIR/out/h2.json"
ctl2 export >"$T_DIR/h2-direct.json"
check "the same bytes as export on the host itself" cmp -s "$T_DIR/out/h2.json" "$T_DIR/h2-direct.json"
check_eq "the files are the operator's only" 600 "$(stat -c %a "$T_DIR/out/h1.json")"

out=$(fleet -o json -H h1,h2 export)
check_eq "export -o json from both: exit 0" 0 $?
check_eq "one array, each host's document as its result" "h1 acme,beta; h2 acme,beta; same" \
    "$(printf '%s' "$out" | python3 -c 'import json,sys
a = json.load(sys.stdin)
print("; ".join("%s %s" % (e["host"], ",".join(d["name"] for d in e["result"]["domains"])) for e in a) + "; " + ("same" if a[0]["result"] == a[1]["result"] else "differ"))')"

# --- one host down --------------------------------------------------------------
out=$(fleet -H "h1,$ME@127.0.0.1:$DEAD,h2" status 2>"$T_DIR/err")
check_eq "a host nothing listens on: exit 5 (unreachable)" 5 $?
check_eq "every host still has its block, in order" "== h1 ==,== $ME@127.0.0.1:$DEAD ==,== h2 ==" \
    "$(printf '%s\n' "$out" | grep '^== ' | paste -sd,)"
check_contains "h2 after it was still done" "pid                ${PIDS[2]}" "$out"
check_contains "the summary names the failure" \
    "$ME@127.0.0.1:$DEAD  unreachable" "$out"
check_contains "and why" "cannot connect to 127.0.0.1 port $DEAD" \
    "$(printf '%s\n' "$out" | grep "^$ME@127.0.0.1:$DEAD ")"
check_eq "and the count" "3 hosts: 2 ok, 1 failed" "$(printf '%s\n' "$out" | tail -n 1)"
check_contains "its error on stderr names the host" \
    "cubectl: $ME@127.0.0.1:$DEAD: cannot reach the agent on $ME@127.0.0.1:$DEAD" "$(cat "$T_DIR/err")"

ctl1 domain delete beta >/dev/null
ctl2 domain delete beta >/dev/null
out=$(fleet -o json -H "$ME@127.0.0.1:$DEAD,h1,h2" apply -f "$T_DIR/doc.json" 2>/dev/null)
check_eq "apply with a host down: exit 5" 5 $?
check_eq "the others were applied all the same" "$ME@127.0.0.1:$DEAD false 5 err; h1 true 0 3; h2 true 0 3" \
    "$(printf '%s' "$out" | python3 -c 'import json,sys
print("; ".join("%s %s %d %s" % (e["host"], str(e["ok"]).lower(), e["exit"], "err" if "error" in e else sum(s["action"] == "created" for s in e["result"])) for e in json.load(sys.stdin)))')"
check_eq "beta is back on agent 2" beta "$(ctl2 -o json domain list | json 1.name)"

# --- a host that never answers: --timeout stops it ------------------------------
SILENT=$(free_port)
python3 -c 'import socket,sys,time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
c = []
while True: c.append(s.accept()[0])' "$SILENT" &
T_PIDS+=("$!")
t_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$SILENT" 2>/dev/null
start=$(date +%s%N)
out=$(fleet --timeout 1s -H "h1,127.0.0.1:$SILENT" status 2>&1)
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
check_eq "a silent host: exit 5" 5 "$rc"
check_contains "it timed out" "127.0.0.1:$SILENT  timed out" "$out"
check_contains "after the deadline, not ssh's own 5 s" "no result within 1s; stopped" "$out"
check "well before ssh would have given up" [ "$ms" -lt 4500 ]
check_contains "h1 is done all the same" "pid                ${PIDS[1]}" "$out"

# --- a hosts file -------------------------------------------------------------------
printf '# the fleet\nh1\n\n  h2   # rack 2\n' >"$T_DIR/hosts"
out=$(fleet --hosts-file "$T_DIR/hosts" status 2>&1)
check_eq "--hosts-file: exit 0" 0 $?
check_eq "its hosts, in its order" "== h1 ==,== h2 ==" "$(printf '%s\n' "$out" | grep '^== ' | paste -sd,)"
printf 'h1\n' >"$T_DIR/hosts1"
out=$(fleet --hosts-file "$T_DIR/hosts1" -o json status)
check_eq "a hosts file of one host is still a fleet run" "h1 ${PIDS[1]}" \
    "$(printf '%s' "$out" | python3 -c 'import json,sys; e=json.load(sys.stdin); print(len(e) == 1 and "%s %d" % (e[0]["host"], e[0]["result"]["pid"]))')"
printf 'h1\nh2 h3\n' >"$T_DIR/hosts-bad"
out=$(fleet --hosts-file "$T_DIR/hosts-bad" status 2>&1)
check_eq "a bad hosts file: exit 2, file and line named" "2 cubectl: $T_DIR/hosts-bad: line 2: not a host name" \
    "$? $(printf '%s\n' "$out" | head -n 1)"
out=$(fleet --hosts-file "$T_DIR/hosts" -H h1 status 2>&1)
check_eq "a host named twice: exit 2" "2 cubectl: -H: h1 is named twice" \
    "$? $(printf '%s\n' "$out" | head -n 1)"

# --- what several hosts refuse --------------------------------------------------------
out=$(fleet -H h1,h2 domain list 2>&1)
check_eq "other commands: exit 2" "2 cubectl: several hosts (-H HOST,HOST or --hosts-file) work with these commands only: status export apply" \
    "$? $(printf '%s\n' "$out" | head -n 1)"
out=$(fleet -H h1,h2 export 2>&1)
check_eq "export to the terminal: exit 2" "2 cubectl: export over several hosts: --dir DIR writes DIR/HOST.json for each, or -o json prints one array" \
    "$? $(printf '%s\n' "$out" | head -n 1)"
out=$(fleet -H h1,h2 apply -f "$T_DIR/nope.json" 2>&1)
check_eq "a missing document: exit 2 before any host" "2 cubectl: -f: $T_DIR/nope.json: No such file or directory" "$? $out"
out=$(fleet -H 'h1,,h2' status 2>&1)
check_eq "an empty host: exit 2" "2 cubectl: -H: '' is not a host ([USER@]HOST[:PORT] or local, comma-separated)" \
    "$? $(printf '%s\n' "$out" | head -n 1)"
out=$(fleet -H h1 --parallel 2 status 2>&1)
check_eq "--parallel with one host: exit 2" "2 cubectl: --parallel and --timeout are for several hosts (-H HOST,HOST or --hosts-file)" \
    "$? $(printf '%s\n' "$out" | head -n 1)"
out=$(CUBE_HOST=h1,h2 fleet -o json status | python3 -c 'import json,sys; print(",".join(e["host"] for e in json.load(sys.stdin)))')
check_eq "\$CUBE_HOST may name several" "h1,h2" "$out"
# One host is the single-host cubectl of before.
check_eq "-H with one host prints the status alone" "${PIDS[2]}" "$(fleet -H h2 -o json status | json pid)"

check "sshd 1 authenticated the operator's key" grep -q "Accepted publickey for $ME" "$S/sshd_1.log"
check "sshd 2 authenticated the operator's key" grep -q "Accepted publickey for $ME" "$S/sshd_2.log"
t_done
