# Scenario test helpers: start the real fake backend and the real agent on
# loopback with their own temporary directories, drive them, stop them by
# PID. Source it from tests/scenario/*.sh; CUBE_BIN names the binaries.
set -u

: "${CUBE_BIN:=$PWD/build/asan/bin}"
: "${CUBE_ROOT:=$PWD}"
T_FAILED=0
T_COUNT=0
T_DIR=$(mktemp -d /tmp/cube-scenario.XXXXXX)
T_PIDS=()

t_cleanup() {
	[ -z "${T_KEEP_LOG:-}" ] || cp "$T_DIR/agent.log" "$T_KEEP_LOG" 2>/dev/null
	local pid
	for pid in "${T_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${T_PIDS[@]}"; do
		t_wait_exit "$pid" 10 || kill -KILL "$pid" 2>/dev/null
	done
	rm -rf "$T_DIR"
}
trap t_cleanup EXIT

ok() {		# description
	T_COUNT=$((T_COUNT + 1))
	echo "ok $T_COUNT - $1"
}

not_ok() {	# description [detail]
	T_COUNT=$((T_COUNT + 1))
	T_FAILED=$((T_FAILED + 1))
	echo "not ok $T_COUNT - $1"
	[ $# -lt 2 ] || printf '%s\n' "$2" | sed 's/^/#   /' | head -n 30
}

check() {	# description, command...: ok when the command succeeds
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

check_fails() {	# description, command...: ok when the command fails
	local desc=$1
	shift
	if "$@"; then not_ok "$desc"; else ok "$desc"; fi
}

check_eq() {	# description, expected, actual
	if [ "$2" = "$3" ]; then ok "$1"; else
		not_ok "$1" "expected: $2"$'\n'"actual:   $3"; fi
}

check_contains() {	# description, needle, haystack
	case "$3" in
	*"$2"*) ok "$1" ;;
	*) not_ok "$1" "expected to contain: $2"$'\n'"actual: $(printf '%s' "$3" | head -c 600)" ;;
	esac
}

check_not_contains() {	# description, needle, haystack
	case "$3" in
	*"$2"*) not_ok "$1" "must not contain: $2" ;;
	*) ok "$1" ;;
	esac
}

t_done() {
	echo "# $((T_COUNT - T_FAILED)) of $T_COUNT checks passed"
	[ "$T_FAILED" -eq 0 ]
	exit $?
}

t_wait_exit() {	# pid, seconds: wait for a process to end
	local i
	for ((i = 0; i < $2 * 20; i++)); do
		kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null; return 0; }
		sleep 0.05
	done
	return 1
}

# t_until SECONDS COMMAND...: run COMMAND every 50 ms until it succeeds;
# fails (1) when it still does not after SECONDS. Wait for a condition
# this way, never with a fixed sleep.
t_until() {
	local i n=$(($1 * 20))
	shift
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	"$@"
}

# The backend's record of its last request says the client hung up.
backend_saw_hangup() {
	[ "$(backend_requests | python3 -c 'import json,sys
r=json.load(sys.stdin)
print(bool(r) and r[-1]["client_hung_up"])')" = True ]
}

t_wait_file() {	# path, seconds
	local i
	for ((i = 0; i < $2 * 20; i++)); do
		[ -e "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

# Start fake-llm on a free port; sets BACKEND_PID, BACKEND_PORT, BACKEND_URL.
start_backend() {
	local pf="$T_DIR/backend.port"
	rm -f "$pf"
	"$CUBE_BIN/fake-llm" --listen 127.0.0.1:0 --port-file "$pf" \
	    >"$T_DIR/backend.log" 2>&1 &
	BACKEND_PID=$!
	T_PIDS+=("$BACKEND_PID")
	t_wait_file "$pf" 10 || { echo "fake-llm did not start"; cat "$T_DIR/backend.log"; exit 1; }
	BACKEND_PORT=$(cat "$pf")
	BACKEND_URL="http://127.0.0.1:$BACKEND_PORT"
}

# Start cube-agent on a free port with its own data dir and admin socket;
# sets AGENT_PID, AGENT_URL, AGENT_SOCK, AGENT_DATA, AGENT_LOG.
start_agent() {	# extra agent options...
	start_agent_in "$T_DIR/agent-data" "$@"
}
start_agent_in() {	# DATA_DIR extra agent options...
	AGENT_DATA=$1
	shift
	AGENT_SOCK="$T_DIR/run/agent.sock"
	AGENT_LOG="$T_DIR/agent.log"
	"$CUBE_BIN/cube-agent" --listen 127.0.0.1:0 --data "$AGENT_DATA" \
	    --admin-socket "$AGENT_SOCK" "$@" >"$AGENT_LOG" 2>&1 &
	AGENT_PID=$!
	T_PIDS+=("$AGENT_PID")
	t_wait_file "$AGENT_SOCK" 20 || { echo "cube-agent did not start"; cat "$AGENT_LOG"; exit 1; }
	local listen
	listen=$(ctl -o json status | sed -n 's/.*"listen":[[:space:]]*"\([^"]*\)".*/\1/p')
	[ -n "$listen" ] || { echo "no listen address in status"; cat "$AGENT_LOG"; exit 1; }
	AGENT_URL="http://$listen"
}

# Stop the agent with SIGTERM and wait; returns its exit status.
stop_agent() {
	kill -TERM "$AGENT_PID" 2>/dev/null
	local i
	for ((i = 0; i < 400; i++)); do
		kill -0 "$AGENT_PID" 2>/dev/null || break
		sleep 0.05
	done
	wait "$AGENT_PID"
}

ctl() {		# cubectl against the test agent
	"$CUBE_BIN/cubectl" -s "$AGENT_SOCK" "$@"
}

# json FIELD: read one top-level string/number field from JSON on stdin.
json() {
	python3 -c 'import json,sys
v=json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v[int(k)] if isinstance(v, list) else v.get(k)
print("" if v is None else (json.dumps(v) if isinstance(v,(dict,list)) else (str(v).lower() if isinstance(v,bool) else v)))' "$1"
}

# HTTP to the agent: prints the status code on the last line.
http() {	# METHOD PATH TOKEN [BODY] [curl options...]
	local m=$1 p=$2 tok=$3 body=${4-}
	shift 3
	[ $# -gt 0 ] && shift
	local auth=()
	[ -z "$tok" ] || auth=(-H "Authorization: Bearer $tok")
	if [ -n "$body" ]; then
		curl -sS -m 20 -X "$m" "${auth[@]}" -H 'Content-Type: application/json' \
		    --data-binary "$body" -w '\n%{http_code}' "$@" "$AGENT_URL$p"
	else
		curl -sS -m 20 -X "$m" "${auth[@]}" -w '\n%{http_code}' "$@" "$AGENT_URL$p"
	fi
}

status_of() { printf '%s' "$1" | tail -n 1; }
body_of() { printf '%s' "$1" | sed '$d'; }

# A domain with a provider on the fake backend, a model and a token.
# setup_domain NAME MODEL_KEY MODEL_ID: sets TOKEN (and DOMAIN_ID).
setup_domain() {
	local name=$1 key=$2 id=$3
	DOMAIN_ID=$(ctl -o json domain create "$name" | json id)
	ctl provider add -d "$name" fake --driver openai --url "$BACKEND_URL/v1" >/dev/null
	ctl model deploy -d "$name" --provider fake --name "$key" --key "$key" \
	    --model-id "$id" >/dev/null
	TOKEN=$(ctl -o json token create -d "$name" --name test | json token)
}

backend_requests() { curl -sS "$BACKEND_URL/_requests"; }
# The Authorization the backend got last (the provider key the agent sent).
backend_last_auth() { backend_requests | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["authorization"])'; }

# The test-only secret of token NAME in tests/fixtures/schema (README.md):
# "cube_", then "fixture-test-only-NAME" padded with x to 43 characters.
fixture_secret() { printf 'cube_%s' "$(printf '%-43s' "fixture-test-only-$1" | tr ' ' x)"; }

# The npm SDKs of tests/sdk, installed from its lock file (npm ci) when
# node_modules is missing or older than it; npm records what it installed
# in node_modules/.package-lock.json. Returns 1 with the reason in SDK_WHY
# when it cannot (no node 20, no npm, no registry), in seconds.
SDK_DIR="$CUBE_ROOT/tests/sdk"
sdk_install() {
	local major reason
	SDK_WHY=""
	command -v node >/dev/null 2>&1 || { SDK_WHY="node is not installed"; return 1; }
	command -v npm >/dev/null 2>&1 || { SDK_WHY="npm is not installed"; return 1; }
	major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null)
	[ "${major:-0}" -ge 20 ] 2>/dev/null ||
	    { SDK_WHY="node 20 or later needed, found $(node --version 2>&1)"; return 1; }
	[ -f "$SDK_DIR/node_modules/.package-lock.json" ] &&
	    [ ! "$SDK_DIR/package-lock.json" -nt "$SDK_DIR/node_modules/.package-lock.json" ] &&
	    [ ! "$SDK_DIR/package.json" -nt "$SDK_DIR/node_modules/.package-lock.json" ] &&
	    return 0
	# Short retries: an unreachable registry should skip in seconds.
	if ! (cd "$SDK_DIR" && timeout 300 npm ci --no-audit --no-fund \
	    --loglevel=error --fetch-retries=2 --fetch-retry-mintimeout=1000 \
	    --fetch-retry-maxtimeout=5000 --fetch-timeout=60000 \
	    >"$T_DIR/npm.log" 2>&1); then
		reason=$(grep -m 1 -E 'npm (ERR|error)' "$T_DIR/npm.log" | cut -c 1-200)
		SDK_WHY="npm ci in tests/sdk failed: ${reason:-see npm output}"
		return 1
	fi
}

# The domain and models tests/sdk/*.test.mjs expect, on the fake backend,
# and their environment (AGENT_URL as the clients are to reach it); see
# tests/sdk/common.mjs for what each variable means.
sdk_domain_setup() {
	# The chat model streams its answer in 5 pieces, 100 ms apart; "long"
	# streams for 8 s so a client can abort it midway; "broken" answers 500,
	# "reset" drops the connection after 2 of 6 pieces; "tool" calls
	# get_weather when offered it, its arguments in 4 deltas.
	DOMAIN=sdk
	setup_domain "$DOMAIN" chat 'fake-chat;chunks=5;chunk_delay_ms=100'
	ctl model deploy -d "$DOMAIN" --provider fake --name Embed --key embed \
	    --category embedding --model-id fake-embed >/dev/null
	ctl model deploy -d "$DOMAIN" --provider fake --name Long --key long \
	    --model-id 'fake-chat;chunks=40;chunk_delay_ms=200' >/dev/null
	ctl model deploy -d "$DOMAIN" --provider fake --name Broken --key broken \
	    --model-id 'fake-chat;status=500' >/dev/null
	ctl model deploy -d "$DOMAIN" --provider fake --name Reset --key reset \
	    --model-id 'fake-chat;chunks=6;reset_after=2' >/dev/null
	ctl model deploy -d "$DOMAIN" --provider fake --name Tool --key tool \
	    --tools --model-id 'fake-chat;tool=get_weather;chunks=4' >/dev/null
	ctl model deploy -d "$DOMAIN" --provider fake --name Json --key json \
	    --model-id 'fake-chat;text={"city":"Paris","unit":"celsius"}' \
	    >/dev/null
	ctl model deploy -d "$DOMAIN" --provider fake --name Fim --key fim \
	    --model-id 'fake-chat;echo=1;chunks=3' >/dev/null
	# A reranker is an embedding model to the agent, as to vLLM.
	ctl model deploy -d "$DOMAIN" --provider fake --name Rerank \
	    --key rerank --category embedding --model-id fake-rerank >/dev/null
	ctl model deploy -d "$DOMAIN" --provider fake --name "Org Chat" \
	    --key org/chat --model-id 'fake-chat;chunks=2' >/dev/null
	# Ollama's native API: fake-llm speaks it on /api.
	ctl provider add -d "$DOMAIN" local --driver ollama --url "$BACKEND_URL" \
	    >/dev/null
	ctl model deploy -d "$DOMAIN" --provider local --name "Ollama Chat" \
	    --key ollama-chat --model-id 'fake-chat;chunks=3' --force >/dev/null
	ctl model deploy -d "$DOMAIN" --provider local --name "Ollama Embed" \
	    --key ollama-embed --category embedding --model-id fake-embed \
	    >/dev/null
	# A provider that serves /v1/responses itself: passed through.
	ctl provider add -d "$DOMAIN" native --driver openai \
	    --url "$BACKEND_URL/v1" --responses-api >/dev/null
	ctl model deploy -d "$DOMAIN" --provider native --name Native \
	    --key native --model-id 'fake-chat;chunks=5' >/dev/null
	LIMITED_TOKEN=$(ctl -o json token create -d "$DOMAIN" --name limited \
	    --rpm 1000 --tpm 1000000 | json token)
	ctl -o json domain create other >/dev/null
	ctl provider add -d other fake --driver openai --url "$BACKEND_URL/v1" >/dev/null
	ctl model deploy -d other --provider fake --name "Other Only" \
	    --model-id fake-chat >/dev/null

	export AGENT_URL BACKEND_URL
	export CUBE_DOMAIN=$DOMAIN CUBE_TOKEN=$TOKEN
	export CUBE_LIMITED_TOKEN=$LIMITED_TOKEN CUBE_LIMITED_RPM=1000
	export CUBE_LIMITED_TPM=1000000
	export CUBE_CHAT_MODEL=chat CUBE_EMBED_MODEL=embed CUBE_LONG_MODEL=long
	export CUBE_BROKEN_MODEL=broken CUBE_RESET_MODEL=reset
	export CUBE_TOOL_MODEL=tool CUBE_TOOL_PIECES=4
	export CUBE_TOOL_ARGS='{"city":"Paris","unit":"celsius"}'
	export CUBE_JSON_MODEL=json
	export CUBE_JSON_ANSWER='{"city":"Paris","unit":"celsius"}'
	export CUBE_FIM_MODEL=fim CUBE_RERANK_MODEL=rerank
	export CUBE_SLASH_MODEL=org/chat
	export CUBE_OLLAMA_CHAT=ollama-chat CUBE_OLLAMA_EMBED=ollama-embed
	export CUBE_NATIVE_MODEL=native
	export CUBE_ALL_MODELS="chat,embed,long,broken,reset,tool,json,fim,rerank,org/chat,ollama-chat,ollama-embed,native"
	export CUBE_FOREIGN_MODEL=other-only
	export CUBE_ANSWER="Hello from fake-llm." CUBE_ANSWER_PIECES=5
}

# Test files of tests/sdk for what is not served yet: each must load (its
# imports resolve; node --test with a name pattern no test has skips them
# all), none runs. The lead takes a file off as its part lands.
SDK_PENDING=""

# Run each tests/sdk/*.test.mjs (or only the FILEs named) but the pending
# ones, one file at a time: one ok / not ok per node test, named
# "FILE: TEST" (FILE without .test.mjs), after PREFIX.
sdk_run_tests() {	# [PREFIX [FILE...]]
	local prefix=${1-} f base total=0 files=() min=40
	[ $# -gt 0 ] && shift
	if [ $# -gt 0 ]; then
		for f in "$@"; do files+=("$SDK_DIR/$f"); done
		min=$#
	else
		files=("$SDK_DIR"/*.test.mjs)
	fi
	for f in "${files[@]}"; do
		base=${f##*/}
		case " $(echo $SDK_PENDING) " in
		*" $base "*)
			if sdk_loads "$base"; then
				ok "${prefix}${base%.test.mjs}: pending, but loads"
			else
				not_ok "${prefix}${base%.test.mjs}: pending, but loads" \
				    "$(grep -v "^ *# *at " "$T_DIR/node-load.out" | head -n 20)"
			fi
			continue ;;
		esac
		sdk_run_file "$base" "$prefix${base%.test.mjs}: "
		total=$((total + SDK_RAN))
	done
	check "${prefix}node ran the client tests ($total)" [ "$total" -ge "$min" ]
}

# Whether a tests/sdk file loads: its imports resolve, its top level runs.
sdk_loads() {	# FILE
	(cd "$SDK_DIR" && timeout 60 node --test --test-name-pattern='^$' \
	    "$1") >"$T_DIR/node-load.out" 2>&1
}

# Run one tests/sdk file with node --test; sets SDK_RAN to its test count.
sdk_run_file() {	# FILE PREFIX
	local file=$1 prefix=$2 rc n failed name detail line
	local tap="$T_DIR/node-${file%.test.mjs}.tap"
	# One ok / not ok per node test, from node's TAP output: top-level test
	# lines start in column 0; a failure's YAML block follows it, indented.
	(cd "$SDK_DIR" && timeout 120 node --test --test-reporter=tap \
	    --test-timeout=30000 "$file") >"$tap" 2>&1
	rc=$?
	n=0 failed=0 name="" detail=""
	flush() {
		[ -n "$name" ] || return 0
		not_ok "$name" "$detail"
		name="" detail=""
	}
	while IFS= read -r line; do
		case "$line" in
		"ok "[0-9]*" - "*)
			flush
			n=$((n + 1))
			ok "$prefix${line#ok * - }" ;;
		"not ok "[0-9]*" - "*)
			flush
			n=$((n + 1)) failed=$((failed + 1))
			name="$prefix${line#not ok * - }" ;;
		"  "*)
			[ -z "$name" ] || detail="$detail${detail:+$'\n'}${line#  }" ;;
		*)
			flush ;;
		esac
	done <"$tap"
	flush
	if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
		not_ok "${prefix}node --test $file exited $rc" "$(tail -n 30 "$tap")"
	fi
	check "${prefix}ran tests ($n)" [ "$n" -ge 1 ]
	SDK_RAN=$n
}
