#!/usr/bin/env bash
# The request path's allocations: the agent with one worker runs under
# tests/tools/alloc-count.c, which counts the worker thread's heap
# allocations (its own and its libraries'); a plain non-stream chat, one
# with guardrails, token limits and tracing, and that as a stream must
# stay within the budgets below.
. "$(dirname "$0")/../lib.sh"

# Allocations per request on the worker thread (the agent's own, libcurl's,
# libevent's, cJSON's...), averaged over $N requests on one keep-alive
# connection after a warm-up. Measured on Debian 12 when they were set
# (issue 15), the AddressSanitizer and the release build: plain 43-47,
# with an input and output guardrail, limits and tracing 117-120, that as
# a stream 90; runs vary by a few (how reads and writes split). Lower them
# when the path allocates less; raise one only with a reason in the commit.
# +2 each since the receipt hashes moved to OpenSSL (sha256.c): each
# EVP_DigestInit_ex2 allocates its context, twice a routed request.
# Guarded 124 -> 60 since the output guardrail reads a whole answer with
# jscan instead of cJSON (guard_answer_body): measured 56-57.
# Plain 50 -> 10, guarded 60 -> 22, stream 95 -> 55 since a backend named
# by its address is reached by the agent's own HTTP/1.1 client instead of
# libcurl (upstream-h1.c): measured 9, 19 and 51 in both builds. 10 is
# issue 15's target for a plain request.
# Plain 10 -> 9, guarded 22 -> 20, stream 55 -> 53 since a reply's head
# is composed in the server's own buffer and written with its body in one
# writev, not through an evbuffer's chains: measured 8, 17 and 50 (9, 19
# and 51 before).
# Guarded 20 -> 18, stream 53 -> 52 since a regex scan's match data is
# one a thread, not one a scan (guard.c): measured 15 and 49.
PLAIN_BUDGET=${CUBE_ALLOC_PLAIN_BUDGET:-9}
GUARDED_BUDGET=${CUBE_ALLOC_GUARDED_BUDGET:-18}
STREAM_BUDGET=${CUBE_ALLOC_STREAM_BUDGET:-52}
N=100

cc=${CC:-cc}
command -v "$cc" >/dev/null 2>&1 || { echo "# SKIP no C compiler ($cc) to build tests/tools/alloc-count.c"; exit 0; }
# An AddressSanitizer agent owns malloc: count through its hook instead.
variant=()
if ldd "$CUBE_BIN/cube-agent" 2>/dev/null | grep -q libasan; then
	variant=(-DALLOC_COUNT_HOOKS)
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
elif nm -D "$CUBE_BIN/cube-agent" 2>/dev/null | grep -q __asan_init; then
	echo "# SKIP a statically sanitized agent: no hook to count through"
	exit 0
fi
"$cc" -O2 -shared -fPIC "${variant[@]}" -o "$T_DIR/alloc-count.so" \
    "$CUBE_ROOT/tests/tools/alloc-count.c" -pthread ||
	{ echo "# SKIP tests/tools/alloc-count.c does not build here"; exit 0; }
COUNTS="$T_DIR/alloc-counts"

cat >"$T_DIR/agent.conf" <<CONF
trace-flush-ms = 50
CONF
start_backend
ALLOC_COUNT_FILE=$COUNTS ALLOC_COUNT_COMM=cube-agent \
    LD_PRELOAD="$T_DIR/alloc-count.so" start_agent -c "$T_DIR/agent.conf" --workers 1
setup_domain acme chat fake-chat
ctl domain create guarded >/dev/null
ctl provider add -d guarded fake --driver openai --url "$BACKEND_URL/v1" >/dev/null
ctl guardrail create -d guarded pii --kind pii --action redact >/dev/null
ctl model deploy -d guarded --provider fake --name chat --key chat \
    --model-id fake-chat --price-output 1000 --guard-in pii --guard-out pii >/dev/null
GUARDED_TOKEN=$(ctl -o json token create -d guarded --name limited \
    --rpm 100000 --tpm 10000000 --budget 1000 | json token)

# The worker's count now: ask the counter for its table, wait for it.
worker_count() {
	rm -f "$COUNTS"
	: >"$COUNTS.req"
	t_until 10 test ! -e "$COUNTS.req" || { echo "no counts from the agent" >&2; return 1; }
	awk '$2 == "worker_0" { print $3 }' "$COUNTS"
}

PLAIN='{"model":"chat","messages":[{"role":"user","content":"Say hello to bob@example.com"}]}'
STREAM='{"model":"chat","stream":true,"messages":[{"role":"user","content":"Say hello to bob@example.com"}]}'
body=$PLAIN

# N chat requests ($body) on one connection; every answer must be a 200.
run_requests() {	# domain token n
	local urls=() i
	for ((i = 0; i < $3; i++)); do urls+=(-o /dev/null "$AGENT_URL/proxy/$1/v1/chat/completions"); done
	curl -sS -m 60 -H "Authorization: Bearer $2" \
	    -H 'Content-Type: application/json' --data-binary "$body" \
	    -w '%{http_code}\n' "${urls[@]}" | sort | uniq -c |
	    awk '{ printf "%s:%s ", $2, $1 }'
}

# Allocations per request, rounded up; the warm-up fills pools and caches.
per_request() {		# label domain token budget
	local warm a b codes per
	warm=$(run_requests "$2" "$3" 20)
	check_eq "$1: the warm-up's answers" "200:20 " "$warm"
	a=$(worker_count)
	codes=$(run_requests "$2" "$3" "$N")
	check_eq "$1: $N answers" "200:$N " "$codes"
	b=$(worker_count)
	if [ -z "$a" ] || [ -z "$b" ]; then
		not_ok "$1: the worker's thread is counted" "before: '$a' after: '$b'"
		return
	fi
	per=$(( (b - a + N - 1) / N ))
	echo "# $1: $(( b - a )) allocations for $N requests, $per per request (budget $4)"
	check "$1: at most $4 allocations per request (now $per)" test "$per" -le "$4"
}

per_request plain acme "$TOKEN" "$PLAIN_BUDGET"
per_request "guardrail, limits, tracing" guarded "$GUARDED_TOKEN" "$GUARDED_BUDGET"
# The guardrail did read the prompt: the backend saw it redacted.
check_contains "the guarded prompt reached the backend redacted" \
    'Say hello to [REDACTED:EMAIL]' "$(backend_requests | tail -c 20000)"
body=$STREAM
per_request "a stream with guardrail, limits, tracing" guarded "$GUARDED_TOKEN" "$STREAM_BUDGET"
t_done
