#!/usr/bin/env bash
# The agent's private keys at rest: plain files of mode 0600 with a
# warning without a TEE; sealed in place by the first start with a TEE
# that derives a key (--tee sim here), the same keys after (the seal key
# credentials are sealed to, the token-hash key: old tokens still work);
# a changed sim secret or no TEE at all refuses to start, says why and
# leaves every key file as it was; --seal-keys off writes them back plain.
. "$(dirname "$0")/../lib.sh"

start_backend

key_sizes() { stat -c '%n %s %a' "$AGENT_DATA"/seal.key \
    "$AGENT_DATA"/identity.key "$AGENT_DATA"/token.key | sed "s|$AGENT_DATA/||"; }
key_sums() { (cd "$AGENT_DATA" && sha256sum seal.key identity.key token.key); }
status_field() { ctl -o json status | json "$1"; }
chat='{"model":"chat","messages":[{"role":"user","content":"hi"}]}'
# A start that must fail: its exit status, its log in $T_DIR/refused.log.
start_refused() {
	local rc=0
	timeout 60 "$CUBE_BIN/cube-agent" --listen 127.0.0.1:0 \
	    --data "$AGENT_DATA" --admin-socket "$T_DIR/refused.sock" "$@" \
	    >"$T_DIR/refused.log" 2>&1 || rc=$?
	echo "$rc"
}
# A sealed file: the magic, and not the public key it holds in the clear.
sealed_file() {	# FILE BASE64_PUBLIC_KEY
	python3 - "$1" "$2" <<'EOF'
import base64, sys
data = open(sys.argv[1], "rb").read()
pk = base64.b64decode(sys.argv[2])
sys.exit(0 if data.startswith(b"CUBESEAL") and pk not in data else 1)
EOF
}
plain_file() {	# FILE BASE64_PUBLIC_KEY: seal.key is sk || pk
	python3 - "$1" "$2" <<'EOF'
import base64, sys
data = open(sys.argv[1], "rb").read()
sys.exit(0 if len(data) == 64 and data[32:] == base64.b64decode(sys.argv[2]) else 1)
EOF
}

# --- no TEE: plain files, mode 0600, and a warning ------------------------
start_agent --tee none
check_contains "--tee none warns that file mode is all" \
    "keys at rest in $AGENT_DATA are protected only by file mode 0600" \
    "$(cat "$AGENT_LOG")"
check_eq "status says so" "file mode 0600" "$(status_field keys_at_rest)"
check_eq "plain key files, mode 0600" \
    "seal.key 64 600 identity.key 64 600 token.key 32 600" \
    "$(key_sizes | tr '\n' ' ' | sed 's/ $//')"
PK=$(status_field seal_public_key)
check "seal.key is the raw key pair" plain_file "$AGENT_DATA/seal.key" "$PK"
setup_domain acme chat fake-chat
r=$(http POST /proxy/acme/v1/chat/completions "$TOKEN" "$chat")
check_eq "a request with a token made before sealing" 200 "$(status_of "$r")"
stop_agent
check_eq "the agent stops cleanly" 0 "$?"

# --- the first start with sim seals them in place -------------------------
start_agent --tee sim
check_eq "status: sealed (simulated)" "sealed (simulated)" \
    "$(status_field keys_at_rest)"
check_contains "the log says they were sealed" "sealed the keys in" \
    "$(cat "$AGENT_LOG")"
check_contains "and that the simulated seal is no protection" \
    "the sim TEE's secret lies beside them" "$(cat "$AGENT_LOG")"
check_eq "sealed files: header + key + tag, mode 0600" \
    "seal.key 124 600 identity.key 124 600 token.key 92 600" \
    "$(key_sizes | tr '\n' ' ' | sed 's/ $//')"
check "seal.key is sealed, not the raw key pair" sealed_file \
    "$AGENT_DATA/seal.key" "$PK"
check_eq "the same seal key as before" "$PK" "$(status_field seal_public_key)"
r=$(http POST /proxy/acme/v1/chat/completions "$TOKEN" "$chat")
check_eq "the same token-hash key: the old token works" 200 "$(status_of "$r")"
stop_agent
check_eq "stops cleanly" 0 "$?"

# --- restart: opens them, changes nothing ---------------------------------
sums=$(key_sums)
start_agent --tee sim
check_eq "restart: the same seal key" "$PK" "$(status_field seal_public_key)"
check_eq "restart: still sealed" "sealed (simulated)" \
    "$(status_field keys_at_rest)"
check_not_contains "restart: nothing to seal again" "sealed the keys in" \
    "$(cat "$AGENT_LOG")"
r=$(http POST /proxy/acme/v1/chat/completions "$TOKEN" "$chat")
check_eq "restart: the token works" 200 "$(status_of "$r")"
stop_agent
check_eq "restart: the key files are untouched" "$sums" "$(key_sums)"

# --- the sim secret changed: refused, files intact -------------------------
cp -p "$AGENT_DATA/sim-secret.key" "$T_DIR/sim-secret.saved"
head -c 32 /dev/urandom >"$AGENT_DATA/sim-secret.key"
rc=$(start_refused --tee sim)
check "another sim secret: the agent refuses to start (exit $rc)" \
    [ "$rc" -ne 0 -a "$rc" -ne 124 ]
log=$(cat "$T_DIR/refused.log")
check_contains "and says which file does not open, and why" \
    "seal.key does not open with the key sim derives here: the simulated TEE's secret ($AGENT_DATA/sim-secret.key) is not the one that sealed it" \
    "$log"
check_contains "and that the files are left alone" \
    "the key files are left as they are" "$log"
check_eq "every key file as it was" "$sums" "$(key_sums)"
check_fails "no admin socket appeared" test -e "$T_DIR/refused.sock"

# --- no TEE at all: refused, files intact ---------------------------------
cp -p "$T_DIR/sim-secret.saved" "$AGENT_DATA/sim-secret.key"
rc=$(start_refused --tee none)
check "sealed keys with --tee none: refuses to start (exit $rc)" \
    [ "$rc" -ne 0 -a "$rc" -ne 124 ]
check_contains "and says the keys need the TEE that sealed them" \
    "seal.key is sealed with a key sim derives inside its TEE, and this agent has no derived key (run it with --tee sim" \
    "$(cat "$T_DIR/refused.log")"
check_eq "every key file as it was" "$sums" "$(key_sums)"
rc=$(start_refused --tee sim --seal-keys sometimes)
check "--seal-keys takes auto or off (exit $rc)" [ "$rc" -ne 0 ]
check_contains "and says so" "--seal-keys: 'sometimes' is not auto or off" \
    "$(cat "$T_DIR/refused.log")"

# --- the secret back: starts; --seal-keys off writes them back plain -------
start_agent --tee sim --seal-keys off
check_eq "--seal-keys off: file mode 0600" "file mode 0600" \
    "$(status_field keys_at_rest)"
check_contains "and it warns that they were written back plain" \
    "wrote the keys in $AGENT_DATA back unsealed" "$(cat "$AGENT_LOG")"
check_eq "plain files again" \
    "seal.key 64 600 identity.key 64 600 token.key 32 600" \
    "$(key_sizes | tr '\n' ' ' | sed 's/ $//')"
check "seal.key is the same raw key pair" plain_file \
    "$AGENT_DATA/seal.key" "$PK"
r=$(http POST /proxy/acme/v1/chat/completions "$TOKEN" "$chat")
check_eq "the token still works" 200 "$(status_of "$r")"
stop_agent

t_done
