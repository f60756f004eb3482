#!/usr/bin/env bash
# TLS on the inference port: the agent with --tee sim and --tls generate
# (TLS 1.3 and 1.2 only, AEAD suites only, ALPN http/1.1), a chat over
# HTTPS with the certificate pinned, the OpenAI SDK over HTTPS, a
# handshake that never finishes, the SPKI in the evidence against the one
# the server presents; then certificate files (mode, SIGHUP reload with a
# stream open, a broken file refused, nothing reloaded with a broken
# config file) and plain HTTP (what the agent says).
. "$(dirname "$0")/../lib.sh"

command -v openssl >/dev/null 2>&1 || { echo "# SKIP tls: no openssl"; exit 0; }

hc() { python3 "$CUBE_ROOT/tests/tools/hostile-client.py" "$@"; }
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
metric() {	# NAME{LABELS}: its value on /metrics
	curl -sS -m 5 "http://127.0.0.1:$METRICS_PORT/metrics" |
	    awk -v k="$1" '$1 == k { print $2 }'
}
# hostport: HOST:PORT of the running agent
hostport() { ctl -o json status | json listen; }
# s_client ARGS...: a handshake with the agent, its transcript on stdout
s_client() { openssl s_client -connect "$(hostport)" "$@" </dev/null 2>&1; }
# served_spki_sha256: SHA-256 of the SPKI of the certificate a new
# connection is served
served_spki_sha256() {
	s_client | openssl x509 -pubkey -noout 2>/dev/null |
	    openssl pkey -pubin -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1
}
served_is() { [ "$(served_spki_sha256)" = "$1" ]; }

cat >"$T_DIR/agent.conf" <<CONF
head-timeout-ms = 1000
client-timeout-ms = 30000
CONF
start_backend
METRICS_PORT=$(free_port)
start_agent -c "$T_DIR/agent.conf" --tee sim --tls generate --workers 2 \
    --metrics-listen "127.0.0.1:$METRICS_PORT"
HP=$(hostport)
AGENT_URL="https://$HP"
check_contains "the agent says TLS is on" "TLS on the inference port (key generated in memory" \
    "$(cat "$AGENT_LOG")"

# --- protocol versions, suites, ALPN ----------------------------------------

OUT=$(s_client -tls1_3 -alpn http/1.1)
check_contains "TLS 1.3 works" "New, TLSv1.3" "$OUT"
check_contains "... ALPN http/1.1" "ALPN protocol: http/1.1" "$OUT"
OUT=$(s_client -tls1_2 -alpn http/1.1)
check_contains "TLS 1.2 works" "New, TLSv1.2, Cipher is ECDHE-ECDSA-" "$OUT"
check_contains "... an AEAD suite" "GCM" "$OUT"
OUT=$(s_client -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0')
check_contains "TLS 1.1 is refused" "Cipher is (NONE)" "$OUT"
for c in ECDHE-ECDSA-AES128-SHA256 ECDHE-ECDSA-AES256-SHA AES128-GCM-SHA256; do
	OUT=$(s_client -tls1_2 -cipher "$c")
	check_contains "a client offering only $c is refused" "Cipher is (NONE)" "$OUT"
done
OUT=$(s_client -alpn h2)
check_contains "a client offering only h2 is refused" "no application protocol" "$OUT"

# The certificate, fetched as a client would, pinned as the only CA.
s_client -showcerts | openssl x509 >"$T_DIR/agent.pem" 2>/dev/null
check "the agent presents a certificate" openssl x509 -in "$T_DIR/agent.pem" -noout
check_contains "... a P-256 key" "prime256v1" \
    "$(openssl x509 -in "$T_DIR/agent.pem" -noout -text)"
check_contains "... naming 127.0.0.1" "IP Address:127.0.0.1" \
    "$(openssl x509 -in "$T_DIR/agent.pem" -noout -text)"
check "no key file was written" test -z "$(grep -rl 'PRIVATE KEY' "$AGENT_DATA" 2>/dev/null | grep -v sim-)"

# --- HTTPS requests ------------------------------------------------------------

setup_domain acme chat fake-chat
ctl model deploy -d acme --provider fake --name Slow --key slow \
    --model-id 'fake-chat;chunks=20;chunk_delay_ms=100' >/dev/null
CHAT='{"model":"chat","messages":[{"role":"user","content":"hi"}]}'
r=$(http POST /v1/chat/completions "$TOKEN" "$CHAT" --cacert "$T_DIR/agent.pem")
check_eq "a chat completion over HTTPS, certificate pinned" 200 "$(status_of "$r")"
check_contains "... the model's answer" "Hello from fake-llm." "$(body_of "$r")"
r=$(http POST /v1/chat/completions "$TOKEN" \
    '{"model":"chat","stream":true,"messages":[{"role":"user","content":"hi"}]}' \
    --cacert "$T_DIR/agent.pem")
check_eq "a stream over HTTPS" 200 "$(status_of "$r")"
check_contains "... ends with [DONE]" "data: [DONE]" "$(body_of "$r")"
r=$(curl -sS -m 5 -o /dev/null -w '%{http_code}' "https://$HP/healthz" 2>&1)
check_contains "an unpinned client refuses the self-signed certificate" "certificate" "$r"
r=$(curl -sS -m 5 -w '%{http_code}' "http://$HP/healthz" 2>&1)
check_fails "plain HTTP to the TLS port gets no answer" test "$r" = 200
# Two requests on one connection, and a resumed session.
r=$(curl -sS -m 10 --cacert "$T_DIR/agent.pem" -o /dev/null -o /dev/null \
    -w '%{http_code} %{num_connects}\n' "https://$HP/healthz" "https://$HP/healthz")
check_eq "keep-alive over TLS" "200 1"$'\n'"200 0" "$r"
# TLS 1.3 tickets come after the handshake: make a request, then close.
printf 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
    openssl s_client -connect "$HP" -tls1_3 -sess_out "$T_DIR/sess" -ign_eof \
    >/dev/null 2>&1
OUT=$(s_client -tls1_3 -sess_in "$T_DIR/sess")
check_contains "a TLS 1.3 session resumes (ticket)" "Reused, TLSv1.3" "$OUT"
OUT=$(s_client -tls1_2 -sess_out "$T_DIR/sess12")
OUT=$(s_client -tls1_2 -sess_in "$T_DIR/sess12")
check_contains "a TLS 1.2 session resumes (ticket)" "Reused, TLSv1.2" "$OUT"

# --- the OpenAI SDK over HTTPS, the agent's certificate as an extra CA -----

SDK_DIR="$CUBE_ROOT/tests/sdk"
if command -v node >/dev/null 2>&1 && [ -d "$SDK_DIR/node_modules/openai" ]; then
	OUT=$(cd "$SDK_DIR" && NODE_EXTRA_CA_CERTS="$T_DIR/agent.pem" \
	    BASE="https://$HP/v1" TOKEN="$TOKEN" timeout 60 node --input-type=module -e '
import OpenAI from "openai";
const c = new OpenAI({ apiKey: process.env.TOKEN, baseURL: process.env.BASE, maxRetries: 0 });
const r = await c.chat.completions.create({ model: "chat", messages: [{ role: "user", content: "hi" }] });
console.log("answer", r.choices[0].message.content);
const s = await c.chat.completions.create({ model: "chat", stream: true, messages: [{ role: "user", content: "hi" }] });
let text = "";
for await (const ev of s) text += ev.choices[0]?.delta?.content ?? "";
console.log("streamed", text);
' 2>&1)
	check_contains "the OpenAI SDK over HTTPS" "answer Hello from fake-llm." "$OUT"
	check_contains "... streaming" "streamed Hello from fake-llm." "$OUT"
else
	echo "# SKIP tls: the OpenAI SDK check did NOT run (no node or tests/sdk/node_modules; run sdk-clients.sh first)"
fi

# --- a handshake that never finishes ----------------------------------------

before=$(metric 'cube_http_rejected_total{reason="tls_handshake"}')
# A ClientHello record header, then one byte every 200 ms: each byte resets
# the idle timeout, only the head deadline (1 s) ends it.
OUT=$(hc drip 127.0.0.1 "${HP##*:}" '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03' '\x00' 200 8)
check_contains "a handshake that never finishes is closed" "closed True" "$OUT"
t=$(printf '%s\n' "$OUT" | awk '$1 == "closed_after" { print $2 }')
check "... by the head deadline (1 s), though a byte came every 200 ms (${t} s)" \
    python3 -c "import sys; sys.exit(not 0.9 <= float('$t') <= 4)"
t_until 5 test "$(metric 'cube_http_rejected_total{reason="tls_handshake"}')" -gt "$before"
check "... counted as a failed handshake" test \
    "$(metric 'cube_http_rejected_total{reason="tls_handshake"}')" -gt "$before"
r=$(http GET /healthz "" "" --cacert "$T_DIR/agent.pem")
check_eq "the agent still serves" 200 "$(status_of "$r")"

# --- the evidence binds the key served ----------------------------------------

OUT=$(ctl -o json attest)
SERVED=$(served_spki_sha256)
check_eq "attest: tls_pubkey_sha256 is the served certificate's SPKI SHA-256" \
    "$SERVED" "$(printf '%s' "$OUT" | json tls_pubkey_sha256)"
check_eq "... tls_spki is that SPKI (DER, base64)" "$SERVED" \
    "$(printf '%s' "$OUT" | json tls_spki | base64 -d | sha256sum | cut -d' ' -f1)"
check_eq "... prompts_encrypted" true "$(printf '%s' "$OUT" | json prompts_encrypted)"
check_contains "cubectl status says prompts are encrypted" "prompts encrypted  yes" \
    "$(ctl status)"
check_eq "status: tls.on" true "$(ctl -o json status | json tls.on)"
check_eq "status: tls.mode" generated "$(ctl -o json status | json tls.mode)"
check_eq "status: tls.spki_sha256" "$SERVED" "$(ctl -o json status | json tls.spki_sha256)"
check_eq "status: tls.not_after is the certificate's" \
    "$(date -u -d "$(openssl x509 -in "$T_DIR/agent.pem" -noout -enddate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ)" \
    "$(ctl -o json status | json tls.not_after)"
OUT=$(ctl attest --verify --allow-simulated 2>&1)
check_contains "attest --verify --allow-simulated checks report_data with the TLS key" \
    "verified     yes" "$OUT"
r=$(http GET "/attestation?nonce=00112233445566778899aabbccddeeff" "$TOKEN" "" \
    --cacert "$T_DIR/agent.pem")
check_eq "GET /attestation over HTTPS" "$SERVED" "$(body_of "$r" | json tls_pubkey_sha256)"
check_eq "... prompts_encrypted" true "$(body_of "$r" | json prompts_encrypted)"

# --- cubectl attest --url: the evidence bound to this very connection --------

OUT=$(ctl attest --url "https://$HP" --allow-simulated \
    --root "$AGENT_DATA/sim-ark.pem" 2>&1)
check_eq "attest --url to the agent's TLS port: verified" 0 "$?"
check_contains "... tls-key ok, the served key" "tls-key" \
    "$(printf '%s\n' "$OUT" | grep -E '^tls-key +ok .*'"$SERVED")"
check_contains "... report-data ok" "report-data" \
    "$(printf '%s\n' "$OUT" | grep -E '^report-data +ok')"
# Another TLS endpoint in front of it, with its own key, forwarding over
# TLS to the agent: a terminator that would see every prompt.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj /CN=mitm -days 1 -keyout "$T_DIR/mitm.key" -out "$T_DIR/mitm.pem" \
    2>/dev/null
python3 "$CUBE_ROOT/tests/tools/tls-mitm.py" "$T_DIR/mitm.pem" \
    "$T_DIR/mitm.key" "${HP##*:}" "$T_DIR/mitm.port" --upstream-tls &
MITM_PID=$!
t_wait_file "$T_DIR/mitm.port" 10
OUT=$(ctl attest --url "https://127.0.0.1:$(cat "$T_DIR/mitm.port")" \
    --allow-simulated --root "$AGENT_DATA/sim-ark.pem" 2>&1)
check_eq "attest --url through a re-encrypting terminator fails" 1 "$?"
check_contains "... on tls-key, naming both keys" "$SERVED" \
    "$(printf '%s\n' "$OUT" | grep -E '^tls-key +FAILED')"
check_contains "... and report-data" "report-data" \
    "$(printf '%s\n' "$OUT" | grep -E '^report-data +FAILED')"
kill "$MITM_PID" 2>/dev/null
wait "$MITM_PID" 2>/dev/null

check_not_contains "no private key in the log" "PRIVATE" "$(cat "$AGENT_LOG")"
check_not_contains "no sanitizer report" "Sanitizer" "$(cat "$AGENT_LOG")"
stop_agent
check_eq "the agent stops cleanly" 0 "$?"
rm -rf "$AGENT_DATA"

# --- certificate files ----------------------------------------------------------

mkcert() {	# NAME: a P-256 key and self-signed certificate for 127.0.0.1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$T_DIR/$1.key" -out "$T_DIR/$1.crt" -days 2 -subj "/CN=$1" \
	    -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
}
spki_of() {
	openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform DER |
	    sha256sum | cut -d' ' -f1
}
mkcert one
mkcert two
cp "$T_DIR/one.crt" "$T_DIR/live.crt"
cp "$T_DIR/one.key" "$T_DIR/live.key"
chmod 644 "$T_DIR/live.key"
"$CUBE_BIN/cube-agent" --listen 127.0.0.1:0 --data "$T_DIR/d2" --admin-socket \
    "$T_DIR/run/a2.sock" --tee sim --tls-cert "$T_DIR/live.crt" \
    --tls-key "$T_DIR/live.key" >"$T_DIR/a2.log" 2>&1
check_eq "a key file readable by others is refused" 1 "$?"
check_contains "... saying so" "readable by group or others" "$(cat "$T_DIR/a2.log")"
chmod 600 "$T_DIR/live.key"
"$CUBE_BIN/cube-agent" --listen 127.0.0.1:0 --data "$T_DIR/d2" --admin-socket \
    "$T_DIR/run/a2.sock" --tee sim --tls generate --tls-cert "$T_DIR/live.crt" \
    --tls-key "$T_DIR/live.key" >"$T_DIR/a2.log" 2>&1
check_eq "--tls generate with files is refused" 1 "$?"
"$CUBE_BIN/cube-agent" --listen 127.0.0.1:0 --data "$T_DIR/d2" --admin-socket \
    "$T_DIR/run/a2.sock" --tee sim --tls-cert "$T_DIR/live.crt" >"$T_DIR/a2.log" 2>&1
check_eq "--tls-cert without --tls-key is refused" 1 "$?"

printf 'max-body = 65536\n' >"$T_DIR/files.conf"
start_agent -c "$T_DIR/files.conf" --tee sim --tls-cert "$T_DIR/live.crt" \
    --tls-key "$T_DIR/live.key"
HP=$(hostport)
AGENT_URL="https://$HP"
check_eq "files: status tls.mode" files "$(ctl -o json status | json tls.mode)"
check_eq "files: the file's key is served" "$(spki_of "$T_DIR/one.crt")" "$(served_spki_sha256)"
check_eq "... and bound in the evidence" "$(spki_of "$T_DIR/one.crt")" \
    "$(ctl -o json attest | json tls_pubkey_sha256)"
setup_domain acme chat 'fake-chat;chunks=30;chunk_delay_ms=100'

# A stream opened under the first certificate, then SIGHUP with the second.
curl -sS -m 30 -N --cacert "$T_DIR/one.crt" -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' -w '\n%{http_code}' --data-binary \
    '{"model":"chat","stream":true,"messages":[{"role":"user","content":"hi"}]}' \
    "$AGENT_URL/v1/chat/completions" >"$T_DIR/stream.out" 2>&1 &
STREAM_PID=$!
t_until 10 grep -q '^data: ' "$T_DIR/stream.out"
cp "$T_DIR/two.crt" "$T_DIR/live.crt"
cp "$T_DIR/two.key" "$T_DIR/live.key"
kill -HUP "$AGENT_PID"
check "after SIGHUP new connections get the new certificate" \
    t_until 10 served_is "$(spki_of "$T_DIR/two.crt")"
check "... while the stream opened before it is still open" kill -0 "$STREAM_PID"
check_eq "... and the evidence binds it" "$(spki_of "$T_DIR/two.crt")" \
    "$(ctl -o json attest | json tls_pubkey_sha256)"
check_contains "... and the log says so" "TLS certificate reloaded" "$(cat "$AGENT_LOG")"
wait "$STREAM_PID"
check_eq "the stream open across the reload finished" 200 "$(tail -n 1 "$T_DIR/stream.out")"
check_contains "... whole" "data: [DONE]" "$(cat "$T_DIR/stream.out")"
r=$(http POST /v1/chat/completions "$TOKEN" "$CHAT" --cacert "$T_DIR/two.crt")
check_eq "a request pinned to the new certificate" 200 "$(status_of "$r")"

# A broken config file: refused whole, the certificate files included.
cp "$T_DIR/one.crt" "$T_DIR/live.crt"
cp "$T_DIR/one.key" "$T_DIR/live.key"
printf 'max-body = 1\n' >"$T_DIR/files.conf"
kill -HUP "$AGENT_PID"
check "a broken config file is refused" t_until 10 grep -q \
    "files.conf:1: max-body: '1' is not a whole number from 1024 to 1073741824; keeping the running configuration" \
    "$AGENT_LOG"
check_eq "... and the certificate was not reloaded either" "$(spki_of "$T_DIR/two.crt")" \
    "$(served_spki_sha256)"
printf 'max-body = 65536\n' >"$T_DIR/files.conf"
kill -HUP "$AGENT_PID"
check "the config fixed: the certificate files are read again" \
    t_until 10 served_is "$(spki_of "$T_DIR/one.crt")"
cp "$T_DIR/two.crt" "$T_DIR/live.crt"
cp "$T_DIR/two.key" "$T_DIR/live.key"
kill -HUP "$AGENT_PID"
check "... and again" t_until 10 served_is "$(spki_of "$T_DIR/two.crt")"

echo garbage >"$T_DIR/live.crt"
kill -HUP "$AGENT_PID"
check "a broken certificate file is refused with a log line" \
    t_until 10 grep -q "keeping the old TLS certificate" "$AGENT_LOG"
check_eq "... and the old one still served" "$(spki_of "$T_DIR/two.crt")" "$(served_spki_sha256)"
check "... the agent is alive" kill -0 "$AGENT_PID"
check_not_contains "no sanitizer report" "Sanitizer" "$(cat "$AGENT_LOG")"
stop_agent
check_eq "the agent stops cleanly" 0 "$?"
rm -rf "$AGENT_DATA"

# --- plain HTTP: what the agent says -------------------------------------------

start_agent --tee sim
AGENT_URL="http://$(hostport)"
check_eq "tls = auto with a simulated TEE: plain HTTP" false "$(ctl -o json status | json tls.on)"
check_eq "... status prompts_encrypted false" false "$(ctl -o json status | json tls.prompts_encrypted)"
check_eq "... /attestation prompts_encrypted false" false \
    "$(ctl -o json attest | json prompts_encrypted)"
check_eq "... no TLS key bound" "" "$(ctl -o json attest | json tls_pubkey_sha256)"
check_contains "... cubectl status says so" "prompts encrypted  no" "$(ctl status)"
check_contains "... said at start" "prompts arrive unencrypted" "$(cat "$AGENT_LOG")"
stop_agent
rm -rf "$AGENT_DATA"
start_agent --tee sim --tls off --listen 0.0.0.0:0
check_contains "plain HTTP on a non-loopback address is warned about" \
    "warning: plain HTTP on 0.0.0.0" "$(cat "$AGENT_LOG")"
stop_agent

t_done
