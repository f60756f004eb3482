#!/usr/bin/env bash
# JWTs from an identity provider as bearer tokens, against the real agent
# and fake backend: keys made by node's crypto at test time, a JWKS read
# from a file (acme) and fetched from a local HTTP server (beta); good
# RS256 and ES256 tokens pass and their traces name the subject's id;
# expired, wrong issuer, alg none, HS256 keyed with the public key and a
# wrong domain are 401 invalid_api_key with the reason in the log; a rpm
# claim is enforced per subject; /v1 routes pick the domain by issuer and
# domain claim; a new key at the URL is fetched after an unknown kid.
. "$(dirname "$0")/../lib.sh"

command -v node >/dev/null || { echo "# SKIP node is not installed (signs the test tokens)"; t_done; }
JWT="node $CUBE_ROOT/tests/tools/jwt.mjs"
ISS=https://idp.example

cat >"$T_DIR/agent.conf" <<CONF
trace-flush-ms = 50
# An unknown kid's refetch at most every 3 s (60 by default): a fast test.
jwks-kid-refresh = 3
CONF
start_backend
start_agent -c "$T_DIR/agent.conf"

# The identity provider's keys: acme's JWKS in a file, beta's served.
mkdir -p "$T_DIR/idp" "$T_DIR/www"
$JWT keys "$T_DIR/idp" rsa1 ec1
mkdir -p "$T_DIR/idp2"
$JWT keys "$T_DIR/idp2" ec2 rsa2
cp "$T_DIR/idp/jwks.json" "$T_DIR/www/jwks.json"
pf="$T_DIR/www.port"
python3 - "$T_DIR/www" "$pf" >"$T_DIR/www.log" 2>&1 <<'PY' &
import functools, http.server, os, sys
d, pf = sys.argv[1], sys.argv[2]
h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=d)
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), h)
open(pf + ".tmp", "w").write(str(s.server_address[1]))
os.rename(pf + ".tmp", pf)
s.serve_forever()
PY
T_PIDS+=($!)
t_wait_file "$pf" 10 || { echo "the JWKS server did not start"; exit 1; }
JWKS_URL="http://127.0.0.1:$(cat "$pf")/jwks.json"

setup_domain acme chat fake-chat
ACME_ID=$DOMAIN_ID
setup_domain beta chat fake-chat
BETA_ID=$DOMAIN_ID

r=$(ctl -o json domain edit acme --jwt-issuer "$ISS" --jwt-audience cube \
    --jwt-jwks-file "$T_DIR/idp/jwks.json" --jwt-alg RS256 --jwt-alg ES256 \
    --jwt-domain-claim cube_domain --jwt-rpm-claim cube_rpm --jwt-leeway 30)
check_eq "domain edit --jwt-*: issuer" "$ISS" "$(printf '%s' "$r" | json jwt.issuer)"
check_eq "domain edit --jwt-*: algorithms" '["RS256", "ES256"]' \
    "$(printf '%s' "$r" | json jwt.algorithms)"
check_eq "domain edit --jwt-*: the rpm claim" cube_rpm \
    "$(printf '%s' "$r" | json jwt.claims.rpm)"
ctl domain edit beta --jwt-issuer "$ISS" --jwt-audience cube \
    --jwt-jwks-url "$JWKS_URL" --jwt-alg ES256 \
    --jwt-domain-claim cube_domain >/dev/null
out=$(ctl domain edit beta --jwt-alg HS256 2>&1)
check_contains "--jwt-alg HS256 is refused" "--jwt-alg" "$out"
out=$(ctl domain edit beta --jwt-jwks-url http://idp.example/jwks 2>&1)
check_contains "a plain-http JWKS URL off loopback is refused" \
    "jwt.jwks_url: must be an https URL" "$out"

NOW=$(date +%s)
# claims SUB DOMAIN [EXTRA]: a token's claims for ISS and audience cube.
claims() {
	printf '{"iss":"%s","aud":"cube","sub":"%s","cube_domain":"%s","exp":%d,"iat":%d%s}' \
	    "$ISS" "$1" "$2" $((NOW + 600)) "$NOW" "${3:+,$3}"
}
chat='{"model":"chat","max_tokens":3,"messages":[{"role":"user","content":"hi"}]}'
PATH_ACME=/proxy/acme/v1/chat/completions

# --- good tokens ------------------------------------------------------------
RS=$($JWT sign "$T_DIR/idp" RS256 rsa1 "$(claims alice acme)")
r=$(http POST "$PATH_ACME" "$RS" "$chat")
check_eq "RS256 from the JWKS file: 200" 200 "$(status_of "$r")"
check_eq "and answered by the backend" "Hello from fake-llm." \
    "$(body_of "$r" | json choices.0.message.content)"
r=$(http POST /v1/chat/completions "$RS" "$chat")
check_eq "on /v1: issuer and cube_domain choose acme" 200 "$(status_of "$r")"
ALICE=$($JWT id "$ISS" alice)
last_token_id() {	# domain
	ctl -o json logs -d "$1" -n 1 | python3 -c 'import json,sys
l=json.load(sys.stdin); print(l[0]["token_id"] if l else "")'
}
t_until 10 test "$(last_token_id acme)" = "$ALICE"
check_eq "the trace names the subject's id" "$ALICE" "$(last_token_id acme)"
usage_has_alice() {
	case "$(ctl -o json usage -d acme --by token)" in
	*"$ALICE"*) return 0 ;;
	esac
	return 1
}
check "usage by token shows the subject's id" t_until 10 usage_has_alice

# ES256 from the served JWKS: beta's keys arrive in the background.
ES=$($JWT sign "$T_DIR/idp" ES256 ec1 "$(claims carol beta)")
es_passes() { [ "$(status_of "$(http POST /v1/chat/completions "$ES" "$chat")")" = 200 ]; }
check "ES256 from the JWKS URL, on /v1 to beta: 200" t_until 20 es_passes
t_until 10 test "$(last_token_id beta)" = "$($JWT id "$ISS" carol)"
check_eq "beta's trace names carol's id" "$($JWT id "$ISS" carol)" \
    "$(last_token_id beta)"
check_contains "the agent logged the fetch" "jwks $JWKS_URL: new keys" \
    "$(cat "$AGENT_LOG")"

# --- refused tokens: 401 invalid_api_key, the reason in the log ------------
refused() {	# description, token, reason[, path]
	local r id
	r=$(http POST "${4:-$PATH_ACME}" "$2" "$chat" -D "$T_DIR/h")
	check_eq "$1: 401" 401 "$(status_of "$r")"
	check_eq "$1: invalid_api_key" invalid_api_key "$(body_of "$r" | json error.code)"
	id=$(tr -d '\r' <"$T_DIR/h" | sed -n 's/^[Xx]-[Rr]equest-[Ii]d: //p')
	t_until 5 grep -q "x-request-id $id: jwt: $3" "$AGENT_LOG"
	check_contains "$1: its refusal's log line says '$3'" \
	    "x-request-id $id: jwt: $3" "$(cat "$AGENT_LOG")"
}
refused "expired" "$($JWT sign "$T_DIR/idp" RS256 rsa1 \
    "$(claims alice acme | sed "s/\"exp\":[0-9]*/\"exp\":$((NOW - 120))/")")" expired
refused "nbf in the future" "$($JWT sign "$T_DIR/idp" RS256 rsa1 \
    "$(claims alice acme "\"nbf\":$((NOW + 600))")")" "not valid yet"
refused "wrong issuer" "$($JWT sign "$T_DIR/idp" RS256 rsa1 \
    "$(claims alice acme | sed 's|idp.example|evil.example|')")" "wrong issuer"
refused "wrong audience" "$($JWT sign "$T_DIR/idp" RS256 rsa1 \
    "$(claims alice acme | sed 's|"aud":"cube"|"aud":"other"|')")" "wrong audience"
refused "alg none" "$($JWT none "$(claims alice acme)")" "alg none refused"
refused "HS256 keyed with the RSA public key" \
    "$($JWT hs256 "$T_DIR/idp" rsa1 "$(claims alice acme)")" "HMAC algorithm refused"
refused "a key the JWKS does not hold" "$($JWT sign "$T_DIR/idp2" RS256 rsa2 \
    "$(claims alice acme)")" "unknown kid"
tampered="$(echo "$RS" | cut -d. -f1).$(printf '%s' "$(claims mallory acme)" |
    base64 -w0 | tr '+/' '-_' | tr -d '=').$(echo "$RS" | cut -d. -f3)"
refused "tampered payload" "$tampered" "bad signature"
refused "acme's token on beta's path" "$RS" \
    "the domain claim does not name the domain" /proxy/beta/v1/chat/completions
refused "no domain claim on /v1, two domains share the issuer" \
    "$($JWT sign "$T_DIR/idp" RS256 rsa1 "$(claims alice "")")" \
    "several domains share the issuer" /v1/chat/completions
check_not_contains "no token is ever logged" "$(echo "$RS" | cut -d. -f3)" \
    "$(cat "$AGENT_LOG")"
r=$(http POST "$PATH_ACME" "$(head -c 9000 /dev/zero | tr '\0' A).a.b" "$chat")
check_eq "an oversized token: 401" 401 "$(status_of "$r")"

# --- a rpm claim, per subject -------------------------------------------------
within_minute() {
	local s
	s=$(date +%S)
	s=${s#0}
	[ "$s" -lt 50 ] || sleep $((61 - s))
}
BOB=$($JWT sign "$T_DIR/idp" RS256 rsa1 "$(claims bob acme '"cube_rpm":2')")
DAVE=$($JWT sign "$T_DIR/idp" RS256 rsa1 "$(claims dave acme '"cube_rpm":2')")
within_minute
for i in 1 2; do
	r=$(http POST "$PATH_ACME" "$BOB" "$chat")
	check_eq "rpm claim 2: request $i passes" 200 "$(status_of "$r")"
done
r=$(http POST "$PATH_ACME" "$BOB" "$chat" -D "$T_DIR/h")
check_eq "rpm claim 2: the 3rd is refused" 429 "$(status_of "$r")"
check_eq "rpm claim: rate_limit_exceeded" rate_limit_exceeded \
    "$(body_of "$r" | json error.code)"
check_contains "rpm claim: x-ratelimit-limit-requests 2" \
    "x-ratelimit-limit-requests: 2" "$(tr -d '\r' <"$T_DIR/h")"
# A fresh token of the same subject counts on the same window.
BOB2=$($JWT sign "$T_DIR/idp" RS256 rsa1 "$(claims bob acme '"cube_rpm":2,"jti":"2"')")
r=$(http POST "$PATH_ACME" "$BOB2" "$chat")
check_eq "rpm claim: another token of bob's, still refused" 429 "$(status_of "$r")"
r=$(http POST "$PATH_ACME" "$DAVE" "$chat")
check_eq "rpm claim: another subject passes" 200 "$(status_of "$r")"

# --- a key rotated in at the URL: an unknown kid asks for a refresh --------
cp "$T_DIR/idp2/jwks.json" "$T_DIR/www/jwks.json"
NEW=$($JWT sign "$T_DIR/idp2" ES256 ec2 "$(claims erin beta)")
r=$(http POST /proxy/beta/v1/chat/completions "$NEW" "$chat")
check_eq "a new kid before the refresh: 401" 401 "$(status_of "$r")"
new_passes() { [ "$(status_of "$(http POST /proxy/beta/v1/chat/completions "$NEW" "$chat")")" = 200 ]; }
# At most every jwks-kid-refresh (3 s) after the last fetch, and a little more.
check "the new key is fetched and the token passes" t_until 15 new_passes
r=$(http POST /proxy/beta/v1/chat/completions "$ES" "$chat")
check_eq "the old key, gone from the set, no longer passes" 401 "$(status_of "$r")"

# --- removing the settings ---------------------------------------------------
check_eq "--no-jwt clears them" "" "$(ctl -o json domain edit acme --no-jwt | json jwt)"
r=$(http POST "$PATH_ACME" "$RS" "$chat")
check_eq "then acme's JWTs are refused" 401 "$(status_of "$r")"
check "the agent is still up" kill -0 "$AGENT_PID"
t_done
