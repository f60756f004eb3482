#!/usr/bin/env bash
# Real clients against the real agent: the official OpenAI Node SDK and
# Continue's model layer (@continuedev/openai-adapters), both pinned in
# tests/sdk/package.json. Needs node and npm; the first run installs the
# packages from the npm registry (npm ci), later runs reuse node_modules.
# Without node, npm or the registry it prints "# SKIP sdk-clients: ..."
# and exits 0: the checks did not run.
. "$(dirname "$0")/../lib.sh"

skip() {
	echo "# SKIP sdk-clients: $1 (the SDK client checks did NOT run)"
	exit 0
}

sdk_install || skip "$SDK_WHY"

start_backend
start_agent

# The chat model streams its answer in 5 pieces, 100 ms apart; "long"
# streams for 8 s so a client can abort it midway; "broken" answers 500,
# "reset" drops the connection after 2 of 6 pieces.
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
ctl -o json domain create other >/dev/null
ctl provider add -d other fake --driver openai --url "$BACKEND_URL/v1" >/dev/null
ctl model deploy -d other --provider fake --name "Other Only" \
    --model-id fake-chat >/dev/null

export AGENT_URL BACKEND_URL
export CUBE_DOMAIN=$DOMAIN CUBE_TOKEN=$TOKEN
export CUBE_CHAT_MODEL=chat CUBE_EMBED_MODEL=embed CUBE_LONG_MODEL=long
export CUBE_BROKEN_MODEL=broken CUBE_RESET_MODEL=reset
export CUBE_ALL_MODELS="chat,embed,long,broken,reset"
export CUBE_FOREIGN_MODEL=other-only
export CUBE_ANSWER="Hello from fake-llm." CUBE_ANSWER_PIECES=5

# One ok / not ok per node test, from node's TAP output: top-level test
# lines start in column 0; a failure's YAML block follows it, indented.
(cd "$SDK_DIR" && timeout 120 node --test --test-reporter=tap \
    --test-timeout=30000 clients.test.mjs) >"$T_DIR/node.tap" 2>&1
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
		ok "${line#ok * - }" ;;
	"not ok "[0-9]*" - "*)
		flush
		n=$((n + 1)) failed=$((failed + 1))
		name="${line#not ok * - }" ;;
	"  "*)
		[ -z "$name" ] || detail="$detail${detail:+$'\n'}${line#  }" ;;
	*)
		flush ;;
	esac
done <"$T_DIR/node.tap"
flush
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
	not_ok "node --test clients.test.mjs exited $rc" "$(tail -n 30 "$T_DIR/node.tap")"
fi
check "node ran the client tests ($n)" [ "$n" -ge 15 ]

check_not_contains "no sanitizer report" "Sanitizer" "$(cat "$AGENT_LOG")"
t_done
