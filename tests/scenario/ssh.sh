#!/usr/bin/env bash
# cubectl over SSH: a real OpenSSH server on 127.0.0.1 with its own host
# key and authorized_keys, cubectl reaching the agent's socket through a
# direct-streamlocal channel with -F. Every noun round-trips; unknown and
# changed host keys, a wrong key and a missing agent are refused with the
# step named; the sealed credential never shows in clear on the host.
. "$(dirname "$0")/../lib.sh"

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
ssh-keygen -q -t ed25519 -N '' -C other-host -f "$S/other_host_key"
ssh-keygen -q -t ed25519 -N '' -C operator -f "$S/id_operator"
ssh-keygen -q -t ed25519 -N '' -C stranger -f "$S/id_stranger"
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
echo "[127.0.0.1]:$PORT $(hostkey "$S/other_host_key.pub")" >"$S/known_hosts_changed"
: >"$S/known_hosts_empty"

# First match wins, as in ssh: the specific hosts, then the defaults.
cat >"$S/config" <<CONF
Host cube
	HostName 127.0.0.1
	Port $PORT
	User $ME
Host unknown
	HostName 127.0.0.1
	Port $PORT
	User $ME
	UserKnownHostsFile $S/known_hosts_empty
Host changed
	HostName 127.0.0.1
	Port $PORT
	User $ME
	UserKnownHostsFile $S/known_hosts_changed
Host newhost
	HostName 127.0.0.1
	Port $PORT
	User $ME
	UserKnownHostsFile $S/known_hosts_new
	StrictHostKeyChecking accept-new
Host *
	IdentityFile $S/id_operator
	UserKnownHostsFile $S/known_hosts
	StrictHostKeyChecking yes
	ConnectTimeout 5
CONF

start_backend
start_agent

# cubectl through sshd to the agent's socket.
rctl() { "$CUBE_BIN/cubectl" -F "$S/config" -H cube -s "$AGENT_SOCK" "$@"; }

# --- every noun, round trip ------------------------------------------------
out=$(rctl -o json status 2>&1)
check_eq "status over ssh" "$(ctl -o json status | json pid)" "$(printf '%s' "$out" | json pid)"
out=$(rctl -o json domain create acme 2>&1)
check_eq "domain create over ssh" acme "$(printf '%s' "$out" | json name)"
check_contains "domain list over ssh" acme "$(rctl domain list 2>&1)"
out=$(rctl -o json domain edit acme --trace-retention 7 2>&1)
check_eq "domain edit over ssh" 7 "$(printf '%s' "$out" | json trace_retention_days)"

PROVIDER_KEY="sk-ssh-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s\n' "$PROVIDER_KEY" >"$T_DIR/provider.key"
out=$(rctl -o json provider add -d acme fake --driver openai \
    --url "$BACKEND_URL/v1" --api-key-file "$T_DIR/provider.key" 2>&1)
check_eq "provider add over ssh seals the key" sealed "$(printf '%s' "$out" | json credential)"
check_contains "provider list over ssh" fake "$(rctl provider list -d acme 2>&1)"
out=$(rctl -o json provider test -d acme fake 2>&1)
check_eq "provider test over ssh" active "$(printf '%s' "$out" | json status)"
check_contains "provider models over ssh" fake-chat "$(rctl provider models -d acme fake 2>&1)"

out=$(rctl -o json model deploy -d acme --provider fake --name Chat \
    --model-id fake-chat --price-input 0.5 2>&1)
check_eq "model deploy over ssh" chat "$(printf '%s' "$out" | json key)"
check_contains "model list over ssh" chat "$(rctl model list -d acme 2>&1)"
out=$(rctl -o json model edit -d acme chat --max-tokens 99 2>&1)
check_eq "model edit over ssh" 99 "$(printf '%s' "$out" | json settings.max_tokens)"
check_eq "model disable over ssh" inactive "$(rctl -o json model disable -d acme chat | json status)"
check_eq "model enable over ssh" active "$(rctl -o json model enable -d acme chat | json status)"
check_eq "model show over ssh" fake-chat "$(rctl -o json model show -d acme chat | json model_id)"

rctl export -d acme >"$T_DIR/acme.json" 2>&1
check_eq "export over ssh" "$(ctl export -d acme)" "$(cat "$T_DIR/acme.json")"
out=$(rctl apply -f "$T_DIR/acme.json" 2>&1)
check_contains "apply over ssh: nothing to change" "nothing to change" "$out"
out=$(rctl -o json token create -d acme --name remote 2>&1)
TOKEN=$(printf '%s' "$out" | json token)
TOKEN_ID=$(printf '%s' "$out" | json id)
check_contains "token list over ssh" remote "$(rctl token list -d acme 2>&1)"
r=$(http POST /proxy/acme/v1/chat/completions "$TOKEN" \
    '{"model":"chat","messages":[{"role":"user","content":"hi"}]}')
check_eq "a token made over ssh serves requests" 200 "$(status_of "$r")"
last=$(backend_requests | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["authorization"])')
check_eq "the sealed key reached the backend" "Bearer $PROVIDER_KEY" "$last"
check_eq "token revoke over ssh" revoked "$(rctl -o json token revoke -d acme "$TOKEN_ID" | json status)"

rctl model delete -d acme chat >/dev/null 2>&1
check_eq "model delete over ssh" 0 $?
rctl provider delete -d acme fake >/dev/null 2>&1
check_eq "provider delete over ssh" 0 $?
rctl domain delete acme >/dev/null 2>&1
check_eq "domain delete over ssh" 0 $?
check_eq "the domain is gone" "[]" "$(ctl -o json domain list | tr -d ' \n')"

# The environment names the host and socket as -H and -s do.
out=$(CUBE_HOST=cube CUBE_SOCKET="$AGENT_SOCK" "$CUBE_BIN/cubectl" -F "$S/config" -o json status 2>&1)
check_eq "CUBE_HOST and CUBE_SOCKET" "$AGENT_PID" "$(printf '%s' "$out" | json pid)"
# user@host:port, with only the defaults section of the config applying.
out=$("$CUBE_BIN/cubectl" -F "$S/config" -H "$ME@127.0.0.1:$PORT" -s "$AGENT_SOCK" -o json status 2>&1)
check_eq "-H user@host:port" "$AGENT_PID" "$(printf '%s' "$out" | json pid)"
# -i picks the identity, as ssh -i does.
cat >"$S/config_bare" <<CONF
Host *
	UserKnownHostsFile $S/known_hosts
CONF
out=$("$CUBE_BIN/cubectl" -F "$S/config_bare" -i "$S/id_operator" \
    -H "$ME@127.0.0.1:$PORT" -s "$AGENT_SOCK" -o json status 2>&1)
check_eq "-i names the identity" "$AGENT_PID" "$(printf '%s' "$out" | json pid)"

# --- refusals, each naming its step -----------------------------------------
out=$("$CUBE_BIN/cubectl" -F "$S/config" -H unknown -s "$AGENT_SOCK" status 2>&1)
rc=$?
check_eq "unknown host key: exit 5" 5 "$rc"
check_contains "unknown host key: says so" "host key for unknown (127.0.0.1 port $PORT) is not known" "$out"
fp=$(ssh-keygen -l -E sha256 -f "$S/host_key.pub" | cut -d' ' -f2)
check_contains "unknown host key: names the fingerprint" "$fp" "$out"
check_contains "unknown host key: says how to trust it" "ssh-keyscan -p $PORT 127.0.0.1" "$out"
check_eq "unknown host key: not recorded" 0 "$(wc -c <"$S/known_hosts_empty")"

out=$("$CUBE_BIN/cubectl" -F "$S/config" -H changed -s "$AGENT_SOCK" status 2>&1)
rc=$?
check_eq "changed host key: exit 5" 5 "$rc"
check_contains "changed host key: says so" "host key for changed (127.0.0.1 port $PORT) has CHANGED" "$out"
check_contains "changed host key: names the new fingerprint" "$fp" "$out"

out=$("$CUBE_BIN/cubectl" -F "$S/config" -H newhost -s "$AGENT_SOCK" -o json status 2>&1)
check_eq "accept-new: an unknown key is accepted" "$AGENT_PID" "$(printf '%s' "$out" | json pid)"
check_contains "accept-new: and recorded" "$(hostkey "$S/host_key.pub" | cut -d' ' -f2)" \
    "$(cat "$S/known_hosts_new" 2>/dev/null)"
cp "$S/known_hosts_changed" "$S/known_hosts_new"
out=$("$CUBE_BIN/cubectl" -F "$S/config" -H newhost -s "$AGENT_SOCK" status 2>&1)
check_eq "accept-new: a changed key is still refused" 5 $?

# IdentityFile adds up over matching sections, so the stranger has its own.
cat >"$S/config_stranger" <<CONF
Host *
	IdentityFile $S/id_stranger
	UserKnownHostsFile $S/known_hosts
CONF
out=$("$CUBE_BIN/cubectl" -F "$S/config_stranger" -H "$ME@127.0.0.1:$PORT" \
    -s "$AGENT_SOCK" status 2>&1)
rc=$?
check_eq "wrong key: exit 4 (denied)" 4 "$rc"
check_contains "wrong key: says authentication was refused" \
    "authentication refused for $ME@127.0.0.1" "$out"

out=$("$CUBE_BIN/cubectl" -F "$S/config" -H cube -s "$T_DIR/run/nobody.sock" status 2>&1)
rc=$?
check_eq "no agent on the host: exit 5" 5 "$rc"
check_contains "no agent on the host: names the socket" "$T_DIR/run/nobody.sock" "$out"
check_contains "no agent on the host: says what to check" "is cube-agent running there" "$out"

out=$("$CUBE_BIN/cubectl" -F "$S/config" -H cube:1 -s "$AGENT_SOCK" status 2>&1)
check_eq "nobody listening: exit 5" 5 $?
check_contains "nobody listening: names the connect step" "cannot connect to" "$out"
out=$("$CUBE_BIN/cubectl" -F "$S/config" -H no-such-host.invalid status 2>&1)
check_eq "unresolvable host: exit 5" 5 $?
check_contains "unresolvable host: names the resolve step" "cannot resolve" "$out"
out=$("$CUBE_BIN/cubectl" -F "$S/nonexistent" -H cube status 2>&1)
check_eq "missing -F file: exit 5" 5 $?
check_contains "missing -F file: says so" "cannot read ssh config" "$out"
out=$("$CUBE_BIN/cubectl" -H 'user@' status 2>&1)
check_eq "empty host: exit 5" 5 $?
check_contains "empty host: says so" "empty host name" "$out"

# --- the credential never in clear on the host ------------------------------
stop_agent
leaks=$(grep -rlF "$PROVIDER_KEY" "$AGENT_DATA" "$AGENT_LOG" "$S/sshd.log" 2>/dev/null)
check_eq "the provider key is nowhere on the host's disk or logs" "" "$leaks"
t_done
