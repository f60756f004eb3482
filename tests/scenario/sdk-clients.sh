#!/usr/bin/env bash
# Real clients against the real agent, pinned in tests/sdk/package.json and
# its lock file: the OpenAI Node SDK (latest and 4.x), the Vercel AI SDK,
# LangChain JS, ollama-js, @anthropic-ai/sdk and Continue's model layer
# (@continuedev/openai-adapters); one tests/sdk/*.test.mjs per family (the
# pending ones, for routes not served yet, only load: SDK_PENDING in
# tests/lib.sh). Needs node and npm; the first run installs the packages
# from the npm registry (npm ci), later runs reuse node_modules.
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

sdk_domain_setup
sdk_run_tests

check_not_contains "no sanitizer report" "Sanitizer" "$(cat "$AGENT_LOG")"
t_done
