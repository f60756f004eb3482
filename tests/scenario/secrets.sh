#!/usr/bin/env bash
# Secrets out of reach of a crash: the agent makes no core dumps (unless
# asked, with a warning), is not dumpable, and after creating a token and
# serving requests with it and a sealed provider key, neither is left in
# what a core dump would hold (tests/tools/memscan.py reads that from
# /proc/PID/mem).
. "$(dirname "$0")/../lib.sh"

start_backend
start_agent

# --- no core dumps, not dumpable ------------------------------------------
limits=$(grep '^Max core file size' "/proc/$AGENT_PID/limits")
check_eq "core file size limit is 0, soft and hard" "0 0" \
    "$(echo "$limits" | awk '{print $5, $6}')"

# A process that is not dumpable has its /proc files owned by root. Seen
# only when the agent is not root itself: as root, run one as nobody.
as_user=()
[ "$(id -u)" -ne 0 ] || as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
user_agent() {	# DIR [agent options]: start an agent as that user; sets UPID
	local dir=$1
	shift
	mkdir -p "$dir"
	[ "$(id -u)" -ne 0 ] || chown 65534:65534 "$dir"
	"${as_user[@]}" "$CUBE_BIN/cube-agent" --listen 127.0.0.1:0 \
	    --data "$dir/data" --admin-socket "$dir/agent.sock" "$@" \
	    >"$dir/log" 2>&1 &
	UPID=$!
	T_PIDS+=("$UPID")
	t_wait_file "$dir/agent.sock" 20
}
chmod 755 "$T_DIR"
uid=$([ "$(id -u)" -ne 0 ] && id -u || echo 65534)
user_agent "$T_DIR/u1"
check_eq "the agent is not dumpable (/proc/PID is root's)" 0 \
    "$(stat -c %u "/proc/$UPID/environ")"
user_agent "$T_DIR/u2" --allow-core-dumps
check_eq "--allow-core-dumps leaves it dumpable" "$uid" \
    "$(stat -c %u "/proc/$UPID/environ")"
check_contains "and says what a dump would hold" "core dumps allowed" \
    "$(cat "$T_DIR/u2/log")"
echo "core-dumps = maybe" >"$T_DIR/bad.conf"
out=$("$CUBE_BIN/cube-agent" -c "$T_DIR/bad.conf" --help 2>&1)
check_contains "core-dumps takes on or off" "is not on or off" "$out"

# --- no secret left in the heap after it is used --------------------------
PROVIDER_KEY="sk-test-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s\n' "$PROVIDER_KEY" >"$T_DIR/provider.key"
ctl domain create acme >/dev/null
ctl provider add -d acme fake --driver openai --url "$BACKEND_URL/v1" \
    --api-key-file "$T_DIR/provider.key" >/dev/null
ctl model deploy -d acme --provider fake --name Chat --model-id fake-chat \
    >/dev/null 2>&1
TOKEN=$(ctl -o json token create -d acme --name a | json token)
chat='{"model":"chat","messages":[{"role":"user","content":"hi"}]}'
for i in 1 2 3; do
	r=$(http POST /proxy/acme/v1/chat/completions "$TOKEN" "$chat")
	check_eq "request $i with the token and the provider key" 200 \
	    "$(status_of "$r")"
done
check_eq "the backend got the provider key" "Bearer $PROVIDER_KEY" \
    "$(backend_requests | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["authorization"])')"
if [ "$(id -u)" -ne 0 ]; then
	echo "# SKIP reading another process's memory needs root"
	t_done
fi
counts=$(python3 "$CUBE_ROOT/tests/tools/memscan.py" "$AGENT_PID" \
    "$PROVIDER_KEY" "$TOKEN" "$AGENT_DATA")
check "the scan finds what is there (the data directory's name)" \
    [ "$(echo "$counts" | awk '$2 == 2 {print $1}')" -ge 1 ]
check_eq "the provider key is in no dumpable memory" 0 \
    "$(echo "$counts" | awk '$2 == 0 {print $1}')"
check_eq "nor the client's token" 0 \
    "$(echo "$counts" | awk '$2 == 1 {print $1}')"

t_done
