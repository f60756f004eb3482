#!/usr/bin/env bash
# Provider checks (provider test, models, the deploy pre-flight) to a
# backend named by its address go through the agent's own client
# (probe-h1.c), and libcurl is loaded only when something needs it
# (curl-load.c): an agent in front of backends by address never maps it,
# one with a provider by host name loads it then and works. The probe's
# request (Host, credential) and its reading of answers no library would
# write: chunked lists, interim 100 heads, doubled lengths, cut bodies, a
# list past the 8 MiB bound. Real agent, real fake backend, a canned one.
. "$(dirname "$0")/../lib.sh"

cat >"$T_DIR/agent.conf" <<CONF
provider-check-interval = 0
CONF
start_backend
python3 "$CUBE_ROOT/tests/tools/canned-backend.py" "$T_DIR/canned.port" \
    "$T_DIR/answer" "$T_DIR/heads" >"$T_DIR/canned.log" 2>&1 &
T_PIDS+=("$!")
t_wait_file "$T_DIR/canned.port" 10 || { echo "canned-backend did not start"; exit 1; }
CANNED="127.0.0.1:$(cat "$T_DIR/canned.port")"
start_agent -c "$T_DIR/agent.conf"

curl_mapped() { grep -c 'libcurl\.so' "/proc/$1/maps" 2>/dev/null; }
answer() { printf "$1" >"$T_DIR/answer"; }	# printf escapes: \r \n
complete() {	# model: the status of a chat completion with $TOKEN
	status_of "$(http POST /v1/chat/completions "$TOKEN" \
	    '{"model":"'"$1"'","messages":[{"role":"user","content":"hi"}]}')"
}
list='{"object":"list","data":[{"id":"fake-chat","object":"model"}]}'

check_eq "at start: libcurl not mapped" 0 "$(curl_mapped "$AGENT_PID")"

# --- a real backend by address -----------------------------------------------
setup_domain acme chat fake-chat
out=$(ctl provider test -d acme fake 2>&1)
check_eq "provider test by address: active" 0 "$?"
out=$(ctl -o json provider models -d acme fake)
check_contains "provider models by address" fake-chat "$out"
out=$(ctl model deploy -d acme --provider fake --name Served --model-id fake-chat --price-input 1 2>&1)
check_eq "deploy pre-flight by address" 0 "$?"
# A model id only GET /models/{id} knows, percent-encoded on the way.
out=$(ctl model deploy -d acme --provider fake --name Odd --model-id 'fake-chat;a b/c' --price-input 1 2>&1)
check_contains "deploy of an unlisted id asks /models/{id}, encoded" \
    '"/v1/models/fake-chat%3Ba%20b%2Fc"' "$(backend_requests)"
check_eq "a completion by address" 200 "$(complete chat)"
check_eq "after checks and a completion: libcurl still not mapped" 0 \
    "$(curl_mapped "$AGENT_PID")"

# --- what the probe sends and how it reads ---------------------------------------
printf 'sk-canned-secret' >"$T_DIR/key"
ctl provider add -d acme canned --driver openai --url "http://$CANNED/v1" \
    --api-key-file "$T_DIR/key" >/dev/null
probe() { ctl provider test -d acme canned 2>&1; }

body=$list
answer "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${#body}\r\n\r\n$body"
out=$(probe)
check_eq "a plain answer: active" 0 "$?"
heads=$(cat "$T_DIR/heads")
check_contains "the request: GET the list" "GET /v1/models HTTP/1.1" "$heads"
check_contains "the request: Host is the authority" "Host: $CANNED" "$heads"
check_contains "the request: the credential" "Authorization: Bearer sk-canned-secret" "$heads"
check_contains "the request: one connection each" "Connection: close" "$heads"
check_contains "the request: no content coding" "Accept-Encoding: identity" "$heads"

answer "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n${list:0:5}\r\n$(printf '%x' $((${#list} - 5)))\r\n${list:5}\r\n0\r\n\r\n"
out=$(ctl -o json provider models -d acme canned 2>&1)
check_contains "an interim 100, then a chunked list: read whole" fake-chat "$out"

answer "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef"
out=$(probe)
check_eq "two lengths: errored" 1 "$?"
check_contains "two lengths: says the head is malformed" "head is malformed" "$out"

answer "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"data\":"
out=$(probe)
check_eq "a cut body: errored" 1 "$?"
check_contains "a cut body: says so" "closed before the answer ended" "$out"

answer "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n"
out=$(probe)
check_contains "a 401: names the credential" "HTTP 401 from /models (check the credential)" "$out"

python3 - "$T_DIR/answer" <<'PY'
import sys
# 9 MiB of a chunked list: past the probe's 8 MiB bound.
chunk = b"x" * 65536
with open(sys.argv[1], "wb") as f:
    f.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    for _ in range(9 * 16):
        f.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    f.write(b"0\r\n\r\n")
PY
out=$(probe)
check_eq "a list past 8 MiB: errored" 1 "$?"
check_contains "a list past 8 MiB: says so" "larger than 8388608 bytes" "$out"
check_eq "after every canned answer: libcurl still not mapped" 0 \
    "$(curl_mapped "$AGENT_PID")"
check_not_contains "the credential is in no log line" sk-canned-secret "$(cat "$AGENT_LOG")"

# --- localhost: the own client, 127.0.0.1 then ::1 ------------------------------
ctl provider add -d acme local --driver openai --url "http://localhost:$BACKEND_PORT/v1" >/dev/null
out=$(ctl provider test -d acme local 2>&1)
check_eq "provider test at localhost: active" 0 "$?"
ctl model deploy -d acme --provider local --name Local --key local --model-id fake-chat >/dev/null 2>&1
check_eq "a completion at localhost" 200 "$(complete local)"
# A backend on ::1 only (as a server that binds "localhost" may be): the
# connection 127.0.0.1 refuses goes to ::1, for probes and requests.
if python3 -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null; then
	"$CUBE_BIN/fake-llm" --listen '[::1]:0' --port-file "$T_DIR/six.port" \
	    >"$T_DIR/six.log" 2>&1 &
	T_PIDS+=("$!")
	t_wait_file "$T_DIR/six.port" 10 || { echo "fake-llm on ::1 did not start"; exit 1; }
	SIX=$(cat "$T_DIR/six.port")
	ctl provider add -d acme six --driver openai --url "http://localhost:$SIX/v1" >/dev/null
	out=$(ctl provider test -d acme six 2>&1)
	check_eq "localhost on ::1 only: provider test active" 0 "$?"
	out=$(ctl model deploy -d acme --provider six --name Six --key six --model-id fake-chat 2>&1)
	check_eq "localhost on ::1 only: deploy pre-flight" 0 "$?"
	for i in 1 2; do
		check_eq "localhost on ::1 only: completion $i" 200 "$(complete six)"
	done
	check_eq "localhost on ::1 only: every request reached it" 2 \
	    "$(curl -sS "http://[::1]:$SIX/_requests" | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin) if r["path"].endswith("/chat/completions")))')"
else
	echo "# SKIP localhost on ::1 only: no IPv6 loopback here"
fi
check_eq "localhost: libcurl still not mapped" 0 "$(curl_mapped "$AGENT_PID")"
ctl provider add -d acme nobody --driver openai --url "http://localhost:9/v1" >/dev/null
out=$(ctl provider test -d acme nobody 2>&1)
check_eq "localhost with nobody on either address: errored" 1 "$?"
check_contains "says the connection was refused" "Connection refused" "$out"

# --- a provider by host name: libcurl, loaded as it is added -----------------
# named.localhost: a name the own client leaves to libcurl, which resolves
# it to loopback itself (no resolver needed here).
ctl provider add -d acme named --driver openai --url "http://named.localhost:$BACKEND_PORT/v1" >/dev/null
check "a provider by host name added: libcurl loaded ahead of any request" \
    [ "$(curl_mapped "$AGENT_PID")" -gt 0 ]
check_contains "and logged" "libcurl loaded" "$(cat "$AGENT_LOG")"
out=$(ctl provider test -d acme named 2>&1)
check_eq "provider test by host name: active" 0 "$?"
ctl model deploy -d acme --provider named --name Named --key named --model-id fake-chat >/dev/null 2>&1
check_eq "a completion by host name (libcurl)" 200 "$(complete named)"
out=$(ctl provider test -d acme fake 2>&1)
check_eq "by address again, libcurl loaded: active" 0 "$?"
stop_agent
check_eq "stops cleanly with libcurl loaded (no leak)" 0 "$?"

# --- upstream-client = libcurl: probes through libcurl too -----------------------
printf 'upstream-client = libcurl\nprovider-check-interval = 0\n' >"$T_DIR/curl.conf"
start_agent_in "$T_DIR/curl-data" -c "$T_DIR/curl.conf"
check_eq "upstream-client = libcurl, no provider: not loaded" 0 "$(curl_mapped "$AGENT_PID")"
out=$(ctl -o json status)	# the agent answers without it
check_contains "upstream-client = libcurl, no provider: status answers" '"listen"' "$out"
setup_domain beta chat fake-chat
check "upstream-client = libcurl: a provider by address loads it" \
    [ "$(curl_mapped "$AGENT_PID")" -gt 0 ]
out=$(ctl provider test -d beta fake 2>&1)
check_eq "upstream-client = libcurl: provider test by address" 0 "$?"
check_eq "upstream-client = libcurl: a completion" 200 "$(complete chat)"
stop_agent
check_eq "stops cleanly (no leak)" 0 "$?"

t_done
