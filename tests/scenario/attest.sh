#!/usr/bin/env bash
# Live attestation with the real agent on its simulated TEE (--tee sim):
# cubectl attest --verify, what it refuses (simulated without consent, a
# wrong measurement), GET /attestation and its bad nonces, an agent
# without a TEE, and hardware providers that are absent here.
. "$(dirname "$0")/../lib.sh"

C="$CUBE_BIN/cubectl"

# run ARGS...: cubectl against the agent; sets OUT, ERR and RC.
run() {
	OUT=$(ctl "$@" 2>"$T_DIR/err")
	RC=$?
	ERR=$(cat "$T_DIR/err")
}

# row NAME: the check NAME's row of the table ("NAME ok ...").
row() { printf '%s\n' "$OUT" | sed '/^$/q' | grep -E "^$1 " | tr -s ' '; }

start_agent --tee sim
check_eq "status says sim" sim "$(ctl -o json status | json tee)"
check "the sim root is in the data directory" test -s "$AGENT_DATA/sim-ark.pem"

# --- cubectl attest ----------------------------------------------------------

run attest
check_eq "attest shows the evidence" 0 "$RC"
check_contains "... from the sim provider" "simulated       yes" "$OUT"
check_contains "... labelled simulated" "SIMULATED TEE" "$OUT"

run -o json attest --nonce 00112233445566778899aabbccddeeff
check_eq "attest -o json" 0 "$RC"
check_eq "... the nonce given" 00112233445566778899aabbccddeeff \
    "$(printf '%s' "$OUT" | json nonce)"
check_eq "... simulated: true" true "$(printf '%s' "$OUT" | json simulated)"
check_eq "... format sev-snp" sev-snp "$(printf '%s' "$OUT" | json format)"
check_eq "... x25519 is the seal key" \
    "$(ctl -o json status | json seal_public_key)" \
    "$(printf '%s' "$OUT" | json x25519)"
check_eq "... no TLS key" "" "$(printf '%s' "$OUT" | json tls_pubkey_sha256)"
X25519=$(printf '%s' "$OUT" | json x25519)
ED25519=$(printf '%s' "$OUT" | json ed25519)
RD1=$(printf '%s' "$OUT" | json report_data)
RD2=$(ctl -o json attest --nonce 00112233445566778899aabbccddeeff | json report_data)
check_eq "the same nonce binds the same report_data" "$RD1" "$RD2"
RD3=$(ctl -o json attest --nonce 00112233445566778899aabbccddeefe | json report_data)
check_fails "another nonce binds another" test "$RD1" = "$RD3"

run attest --verify --allow-simulated
check_eq "attest --verify --allow-simulated passes" 0 "$RC"
for c in parse signature chain debug report-data nonce seal-key simulated; do
	check_contains "... $c ok" "$c ok" "$(row "$c")"
done
check_contains "... verified" "verified     yes" "$OUT"
check_contains "... labelled simulated" "SIMULATED TEE" "$OUT"

run attest --verify
check_eq "attest --verify refuses a simulated TEE" 1 "$RC"
check_contains "... naming chain and simulated" \
    "verification failed: chain, simulated" "$ERR"
check_contains "... the chain is not AMD's" "chain FAILED SIM-ARK" "$(row chain)"

MEASURED=$(sha384sum "$CUBE_BIN/cube-agent" | cut -c1-96)
run attest --verify --root "$AGENT_DATA/sim-ark.pem" --allow-simulated \
    --expect-measurement "$MEASURED"
check_eq "the sim root pinned, the binary's measurement: passes" 0 "$RC"
check_contains "... measurement ok" "measurement ok" "$(row measurement)"
check_contains "... a root given" "a root given" "$(row chain)"

run attest --verify --allow-simulated --expect-measurement "$(printf '%096d' 0)"
check_eq "another measurement fails" 1 "$RC"
check_contains "... naming it" "verification failed: measurement" "$ERR"

run attest --verify --allow-simulated --root "$CUBE_ROOT/man/cubectl.1"
check_eq "a root that is not a certificate fails the chain" 1 "$RC"
check_contains "... naming it" "chain" "$ERR"

run -o json attest --verify --allow-simulated
check_eq "attest --verify -o json" 0 "$RC"
check_eq "... provider sim" sim "$(printf '%s' "$OUT" | json provider)"
check_eq "... simulated" true "$(printf '%s' "$OUT" | json simulated)"
check_eq "... verified" true "$(printf '%s' "$OUT" | json verified)"

# --policy: the same checks from a file; flags over it; refused before
# the agent is asked.
printf '{"version": 1, "tee": "sev-snp", "allow_simulated": true, "measurement": ["%s"]}\n' \
    "$MEASURED" >"$T_DIR/sim.json"
run attest --verify --policy "$T_DIR/sim.json"
check_eq "attest --policy: the sim policy passes" 0 "$RC"
check_contains "... measurement ok" "measurement ok" "$(row measurement)"
check_contains "... simulated, allowed by the policy" "simulated ok" "$(row simulated)"
check_eq "... tee" "tee ok sev-snp, as the policy says" "$(row tee)"
printf '{"version": 1, "tee": "tdx"}\n' >"$T_DIR/tdx.json"
run attest --verify --policy "$T_DIR/tdx.json" --allow-simulated
check_eq "a TDX policy refuses SNP evidence" 1 "$RC"
check_contains "... naming tee" "verification failed: tee" "$ERR"
run attest --verify --policy "$T_DIR/sim.json" --expect-measurement "$(printf '%096d' 0)"
check_eq "--expect-measurement over the policy's" 1 "$RC"
check_contains "... naming it" "verification failed: measurement" "$ERR"
printf '{"version": 1, "allow_simulate": true}\n' >"$T_DIR/typo.json"
run attest --verify --policy "$T_DIR/typo.json"
check_eq "a typo'd policy: exit 2" 2 "$RC"
check_contains "... naming the key" "typo.json: allow_simulate: unknown key" "$ERR"
run attest --policy "$T_DIR/sim.json"
check_eq "--policy without --verify is a usage error" 2 "$RC"
run -o json attest --verify --policy "$T_DIR/sim.json"
check_eq "attest --policy -o json" 0 "$RC"
MEASUREMENT=$(printf '%s' "$OUT" | json measurement)
check_eq "... the guest's flags, in words" \
    "debug off, migration agent off, SMT allowed, any sockets" \
    "$(printf '%s' "$OUT" | json guest_flags)"
check_eq "... the checks" "parse signature chain product signing-key cert-tcb chip-id debug migration vmpl provisional measurement report-data nonce seal-key simulated tls-key tee" \
    "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(" ".join(c["name"] for c in json.load(sys.stdin)["checks"]))')"

# cube-tui's Attestation view: the verdict by the same policy file.
if command -v tmux >/dev/null; then
	TM=(tmux -L "cube-attest-test-$$" -f /dev/null)
	trap '"${TM[@]}" kill-server 2>/dev/null; t_cleanup' EXIT
	export HOME="$T_DIR/home"
	mkdir -p "$HOME"
	tui() {		# session, args...: cube-tui in an 80x24 tmux session
		local s=$1
		shift
		"${TM[@]}" new-session -d -s "$s" -x 80 -y 24 \
		    "LANG=C.UTF-8 $CUBE_BIN/cube-tui -s $AGENT_SOCK $* 2>$T_DIR/tui.err; echo \$? >$T_DIR/tui.exit; sleep 30"
	}
	screen_has_now() {	# session, text: on screen now
		"${TM[@]}" capture-pane -p -t "$1" | grep -qF -- "$2"
	}
	screen_has() {	# session, text: within 10 s
		local i
		for ((i = 0; i < 200; i++)); do
			"${TM[@]}" capture-pane -p -t "$1" | grep -qF -- "$2" && return 0
			sleep 0.05
		done
		"${TM[@]}" capture-pane -p -t "$1"
		return 1
	}
	tui pass --policy "$T_DIR/sim.json" local
	check "cube-tui (pass) is up" screen_has pass "cube-tui  local"
	"${TM[@]}" send-keys -t pass 9
	check "cube-tui: VERIFIED by the policy" screen_has pass "VERIFIED: every check passed (policy: $T_DIR/sim.json)"
	check "cube-tui: the checks shown" screen_has pass "seal-key"
	check "cube-tui: plain HTTP on loopback, said so" screen_has pass \
	    "TLS off: plain HTTP on loopback ${AGENT_URL#http://} (unencrypted, this host only)"
	check "cube-tui: the header marks the host [no TLS]" screen_has pass \
	    "[TEE sim ok]  [no TLS]  ok, up"
	check "cube-tui: the view says there is more below" screen_has pass \
	    "j k PgUp PgDn scroll"
	"${TM[@]}" send-keys -t pass G
	check "... G: the evidence's age" screen_has pass \
	    "evidence       sev-snp v2 from sim, fetched"
	check "... the measurement, whole" screen_has pass \
	    "measurement    ${MEASUREMENT:0:60}"
	check "... the certificate's TCB" screen_has pass "signed by VCEK"
	check "... the guest's flags, in words" screen_has pass \
	    "guest flags    debug off, migration agent off"
	check "... the keys it binds" screen_has pass \
	    "seal key       $X25519"
	check "... how the agent keeps its keys" screen_has pass \
	    "keys at rest   sealed (simulated)"
	nonce_row() {	# the nonce the view shows
		"${TM[@]}" capture-pane -p -t pass |
		    sed -n 's/^ nonce          \([0-9a-f]*\).*/\1/p'
	}
	check "... the nonce the evidence answers" t_until 10 \
	    test -n "$(nonce_row)"
	N1=$(nonce_row)
	# r while the agent cannot answer: the old evidence keeps its nonce.
	kill -STOP "$AGENT_PID"
	"${TM[@]}" send-keys -t pass r
	check "r: asking again, said so" screen_has pass \
	    "asking again with a new nonce"
	check_eq "... the evidence shown keeps its own nonce" "$N1" "$(nonce_row)"
	kill -CONT "$AGENT_PID"
	nonce_changed() { [ -n "$(nonce_row)" ] && [ "$(nonce_row)" != "$N1" ]; }
	check "... the new evidence comes with the new nonce" t_until 10 \
	    nonce_changed
	check_fails "... and nothing is asked any more" screen_has_now pass \
	    "asking again with a new nonce"
	check "... the certificates counted, never shown" screen_has pass \
	    "certificates   3, signing key's first"
	check_fails "... no PEM on screen" screen_has_now pass "BEGIN CERT"
	"${TM[@]}" send-keys -t pass g
	check "g: back to the verdict" screen_has pass "VERIFIED: every check"
	"${TM[@]}" send-keys -t pass q
	tui defaults local
	check "cube-tui (defaults) is up" screen_has defaults "cube-tui  local"
	"${TM[@]}" send-keys -t defaults 9
	check "cube-tui, no policy: the defaults refuse a simulated TEE" \
	    screen_has defaults "NOT VERIFIED: chain, simulated (policy: the defaults)"
	check "cube-tui, no policy: the failed check first" screen_has defaults "simulated      FAILED SIMULATED TEE"
	check "cube-tui, no policy: the header's badge says FAIL" \
	    screen_has defaults "[TEE sim FAIL]  [no TLS]  ok, up"
	"${TM[@]}" send-keys -t defaults q
	mkdir -p "$HOME/.config/cube"
	cp "$T_DIR/sim.json" "$HOME/.config/cube/attest-policy.json"
	tui found local
	check "cube-tui (found) is up" screen_has found "cube-tui  local"
	"${TM[@]}" send-keys -t found 9
	check "cube-tui finds ~/.config/cube/attest-policy.json" \
	    screen_has found "VERIFIED: every check passed (policy: $HOME/.con"
	check "... and checks the TEE it names" screen_has found "tee            ok     sev-snp, as the policy says"
	"${TM[@]}" send-keys -t found q
	OUT=$("$CUBE_BIN/cube-tui" --policy "$T_DIR/typo.json" 2>&1)
	check_eq "cube-tui --policy with a typo: exit 2" 2 "$?"
	check_eq "... naming the key" "cube-tui: --policy: $T_DIR/typo.json: allow_simulate: unknown key" "$OUT"
else
	echo "# cube-tui not checked: tmux is not installed"
fi

for bad in 123 00112233445566 \
    "$(printf 'ab%.0s' $(seq 1 65))" 0011223344556677zz; do
	run attest --nonce "$bad"
	check_eq "attest --nonce ${bad:0:20}... is a usage error" 2 "$RC"
done
run attest --allow-simulated
check_eq "--allow-simulated without --verify is a usage error" 2 "$RC"

# --- GET /attestation --------------------------------------------------------

R=$(http GET "/attestation?nonce=00112233445566778899aabbccddeeff" "")
check_eq "GET /attestation without a token" 200 "$(status_of "$R")"
B=$(body_of "$R")
for f in tee simulated format report certificates report_data nonce \
    x25519 ed25519; do
	check "... has $f" test -n "$(printf '%s' "$B" | json "$f")"
done
check_eq "... the same keys as the admin channel" "$X25519 $ED25519" \
    "$(printf '%s' "$B" | json x25519) $(printf '%s' "$B" | json ed25519)"
check_eq "... the same binding for the same nonce" "$RD1" \
    "$(printf '%s' "$B" | json report_data)"
printf '%s' "$B" | json report | base64 -d >"$T_DIR/report.bin"
printf '%s' "$B" | json certificates >"$T_DIR/certs.pem"
OUT=$("$C" verify --report "$T_DIR/report.bin" --vcek "$T_DIR/certs.pem" \
    --chain "$T_DIR/certs.pem" --report-data "$RD1" 2>&1)
check_contains "cubectl verify takes the HTTP evidence: report_data ok" \
    "report-data  ok" "$OUT"
check_contains "... the chain is not AMD's" "chain        FAILED" "$OUT"
R=$(curl -sS -m 10 -D - -o /dev/null "$AGENT_URL/attestation?nonce=0011223344556677")
check_contains "... never cached" "Cache-Control: no-store" "$R"

for q in "nonce=123" "nonce=00112233445566" \
    "nonce=$(printf 'ab%.0s' $(seq 1 65))" "nonce=0011223344556677zz" \
    "" "other=1" "nonce=0011223344556677&nonce=0011223344556677"; do
	R=$(http GET "/attestation?$q" "")
	check_eq "GET /attestation?${q:0:24} is 400" 400 "$(status_of "$R")"
	check_contains "... invalid_request" invalid_request "$(body_of "$R")"
done
R=$(http POST "/attestation?nonce=0011223344556677" "" '{}')
check_eq "POST /attestation is 405" 405 "$(status_of "$R")"

# Many at once: all answered, and the loop stays free for /healthz.
PAR=()
for i in $(seq 1 24); do
	curl -sS -m 20 -o "$T_DIR/par.$i" -w '%{http_code}\n' \
	    "$AGENT_URL/attestation?nonce=$(printf '%016x' "$i")" \
	    >"$T_DIR/code.$i" &
	PAR+=($!)
done
H=$(http GET /healthz "")
wait "${PAR[@]}"
check_eq "/healthz while attesting" 200 "$(status_of "$H")"
check_eq "24 requests at once: all 200" 24 "$(cat "$T_DIR"/code.* | grep -c '^200$')"
check_eq "... each for its own nonce" "$(printf '%016x' 7)" \
    "$(json nonce <"$T_DIR/par.7")"

# --- attest --url: the evidence bound to the TLS connection ------------------

run attest --url "http://${AGENT_URL#http://}" --allow-simulated
check_eq "attest --url http:// is a usage error" 2 "$RC"
check_contains "... saying TLS is needed" "must come over TLS" "$ERR"
run attest --url "https://127.0.0.1:1"
check_eq "attest --url to nothing: cannot reach (5)" 5 "$RC"

# A man in the middle ending TLS with its own key before this plain agent.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj /CN=mitm -days 1 -keyout "$T_DIR/mitm.key" -out "$T_DIR/mitm.pem" \
    2>/dev/null
python3 "$CUBE_ROOT/tests/tools/tls-mitm.py" "$T_DIR/mitm.pem" \
    "$T_DIR/mitm.key" "${AGENT_URL##*:}" "$T_DIR/mitm.port" &
MITM_PID=$!
t_wait_file "$T_DIR/mitm.port" 10
MITM_SPKI=$(openssl x509 -in "$T_DIR/mitm.pem" -pubkey -noout |
    openssl pkey -pubin -outform DER | sha256sum | cut -c1-64)
run attest --url "https://127.0.0.1:$(cat "$T_DIR/mitm.port")" \
    --allow-simulated --root "$AGENT_DATA/sim-ark.pem"
check_eq "attest --url through a TLS terminator fails" 1 "$RC"
check_contains "... on tls-key" "tls-key " "$(row tls-key)"
check_contains "... naming the terminator's key" "$MITM_SPKI" "$(row tls-key)"
check_contains "... which the agent does not bind" "binds no TLS key" \
    "$(row tls-key)"
check_contains "... and the binding with it fails" "FAILED" \
    "$(row report-data)"
check_contains "... named in the verdict" "tls-key" "$ERR"
check_contains "... the signature itself holds" "ok" "$(row signature)"
kill "$MITM_PID" 2>/dev/null
wait "$MITM_PID" 2>/dev/null

stop_agent
check_eq "the agent stops cleanly" 0 "$?"
check_not_contains "no sanitizer report" "ERROR: " "$(cat "$AGENT_LOG")"

# --- cube-tui with TLS on: the key it shows is the one bound ------------------

if command -v tmux >/dev/null; then
	start_agent --tee sim --tls generate
	SPKI=$(ctl -o json attest | json tls_pubkey_sha256)
	check_eq "the evidence binds a TLS key" 64 "${#SPKI}"
	check_eq "... the one status reports" "$SPKI" \
	    "$(ctl -o json status | json tls.spki_sha256)"
	EXPIRES=$(ctl -o json status | json tls.not_after)
	tui tls --policy "$T_DIR/sim.json" local
	check "cube-tui (TLS) is up" screen_has tls "cube-tui  local"
	check "cube-tui: the header marks the host [TLS]" screen_has tls \
	    "[TEE sim ok]  [TLS]  ok, up"
	"${TM[@]}" send-keys -t tls 9
	check "cube-tui, TLS on: VERIFIED by the policy" screen_has tls \
	    "VERIFIED: every check passed (policy: $T_DIR/sim.json)"
	check "... TLS on, the key made in memory" screen_has tls \
	    "TLS on (key generated in memory, simulated TEE)"
	check "... the certificate's expiry" screen_has tls "expires ${EXPIRES:0:10} ("
	check "... the exact SPKI cubectl attest reports" screen_has tls "SPKI $SPKI"
	check_fails "... no mismatch" screen_has_now tls "MISMATCH"
	"${TM[@]}" send-keys -t tls 1
	check "cube-tui: the Fleet gives the host's verdict" screen_has tls \
	    " ok        sim       ok      "
	# TLS and version are the Fleet's extras: shown where there is room.
	"${TM[@]}" resize-window -t tls -x 120 -y 24
	check "cube-tui: the Fleet marks the host [TLS]" screen_has tls \
	    "[TLS]     0.1.0"
	"${TM[@]}" send-keys -t tls q

	# A status that reports another key than the evidence binds (a
	# relay rewriting it): a failed check, both keys named, fail closed.
	OTHER=$(printf '%s' "$SPKI" | tr 0-9a-f 1-9a-f0)
	python3 "$CUBE_ROOT/tests/tools/admin-relay.py" "$AGENT_SOCK" \
	    "$T_DIR/relay.sock" "$OTHER" &
	RELAY_PID=$!
	T_PIDS+=("$RELAY_PID")
	t_wait_file "$T_DIR/relay.sock" 10
	"${TM[@]}" new-session -d -s lie -x 80 -y 24 \
	    "LANG=C.UTF-8 $CUBE_BIN/cube-tui -s $T_DIR/relay.sock --policy $T_DIR/sim.json local 2>$T_DIR/tui.err; sleep 30"
	check "cube-tui (lied to) is up" screen_has lie "cube-tui  local"
	"${TM[@]}" send-keys -t lie 9
	check "cube-tui: a status key that is not the bound one fails" \
	    screen_has lie "NOT VERIFIED: tls-key (policy: $T_DIR/sim.json)"
	check "... naming both keys" screen_has lie \
	    "TLS KEY: status reports ${OTHER:0:16}, the evidence binds ${SPKI:0:16}"
	check "... the key status reports, whole" screen_has lie "SPKI $OTHER"
	check "... the key the evidence binds, whole" screen_has lie "bound $SPKI"
	check "... the failed check listed first" screen_has lie "tls-key        FAILED"
	check "... and the header says so" screen_has lie "[TEE sim FAIL]  [TLS KEY!]  ok"
	"$CUBE_BIN/cubectl" -s "$T_DIR/relay.sock" attest --verify \
	    --policy "$T_DIR/sim.json" >"$T_DIR/lie.out" 2>&1
	check_eq "cubectl attest --verify, lied to the same way: exit 1" 1 "$?"
	check_contains "... naming tls-key" "verification failed: tls-key" \
	    "$(cat "$T_DIR/lie.out")"
	"${TM[@]}" send-keys -t lie q
	kill "$RELAY_PID" 2>/dev/null
	wait "$RELAY_PID" 2>/dev/null
	"${TM[@]}" kill-server 2>/dev/null
	stop_agent
	check_eq "the TLS agent stops cleanly" 0 "$?"
fi

# --- no TEE, and absent hardware ---------------------------------------------

# The sim sealed the keys in its data directory, which no agent without
# it may open (seal-keys.sh): a fresh one.
mv "$AGENT_DATA" "$T_DIR/agent-data.sim"
start_agent --tee none
run attest
check_eq "attest on an agent without a TEE fails" 1 "$RC"
check_contains "... saying so" "without a TEE" "$ERR"
R=$(http GET "/attestation?nonce=0011223344556677" "")
check_eq "GET /attestation without a TEE is 404" 404 "$(status_of "$R")"
stop_agent

for tee in sev-guest tdx-guest configfs-tsm; do
	[ -e /dev/sev-guest ] || [ -e /dev/tdx_guest ] || \
	    [ -e /sys/kernel/config/tsm/report ] && break
	OUT=$("$CUBE_BIN/cube-agent" --listen 127.0.0.1:0 --data "$T_DIR/d-$tee" \
	    --admin-socket "$T_DIR/s-$tee.sock" --tee "$tee" 2>&1)
	RC=$?
	check_fails "--tee $tee without the hardware stops the agent" test "$RC" -eq 0
	check_contains "... saying what is missing" "--tee $tee: /" "$OUT"
	check_not_contains "... and nothing listens" "ready" "$OUT"
done
OUT=$("$CUBE_BIN/cube-agent" --listen 127.0.0.1:0 --data "$T_DIR/d-x" \
    --admin-socket "$T_DIR/s-x.sock" --tee sgx 2>&1)
check_contains "--tee sgx is unknown" "--tee sgx: unknown" "$OUT"

t_done
