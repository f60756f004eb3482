#!/usr/bin/env bash
# cubectl verify against real attestation evidence, read in place from
# $CUBE_TESTDATA/attestation: what passes, what fails and how it is named,
# exit statuses, JSON. Offline: no agent is started.
. "$(dirname "$0")/../lib.sh"

D=${CUBE_TESTDATA:-}/attestation
if [ -z "${CUBE_TESTDATA:-}" ] || [ ! -f "$D/README.md" ]; then
	echo "# SKIP no attestation reference data (\$CUBE_TESTDATA/attestation)"
	exit 0
fi
C="$CUBE_BIN/cubectl"
NOW=2024-06-01T00:00:00Z
MILAN_M=7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd95b9c480cd81841f
MILAN_RD=d447b55d197491bfe15cf298f9de9986b7a7c4be2468b4f6e2d53b71d7c645810b0f2cdfca0040433be063fc1a8293f0f3f8dae7b79fecb3d1cd82bd6a93ebfd
V4_MRTD=6363b8043668a3ad953278e10389574d326c6749fb78aa810ecd9336923db86f22fc00b8dcd404bc10d5e119d7215cbb
V5_MRTD=7348651a34b2d2d3462822e3a750ec6110125f36757c78480bbfc69cc0d21fb001a1ced3ee19747dda8f750c3bc8f876

# run ARGS...: sets OUT, ERR and RC.
run() {
	OUT=$("$C" "$@" 2>"$T_DIR/err")
	RC=$?
	ERR=$(cat "$T_DIR/err")
}

# row NAME: check NAME's row of the table, before the summary ("NAME ok ...").
row() { printf '%s\n' "$OUT" | sed '/^$/q' | grep -E "^$1 " | tr -s ' '; }

snp=(--report "$D/snp/milan-report.bin" --vcek "$D/snp/milan-vcek.der")

# Milan, in full: every check, exit 0.
run verify "${snp[@]}" --chain "$D/snp/milan-ask-ark.pem" --now $NOW \
    --expect-measurement $MILAN_M --report-data $MILAN_RD
check_eq "milan: exit 0" 0 "$RC"
check_eq "milan: nothing on stderr" "" "$ERR"
check_eq "milan: parse" "parse ok SEV-SNP report version 2, VMPL 0, guest SVN 0" "$(row parse)"
check_contains "milan: signature" "signature ok ECDSA P-384" "$(row signature)"
check_eq "milan: chain" "chain ok SEV-VCEK -> SEV-Milan -> ARK-Milan (pinned root)" "$(row chain)"
check_eq "milan: debug" "debug ok policy 0x30000: debugging off" "$(row debug)"
check_eq "milan: measurement" "measurement ok as expected" "$(row measurement)"
check_eq "milan: report-data" "report-data ok as expected" "$(row report-data)"
check_contains "milan: verified" "verified     yes" "$OUT"
check_contains "milan: shows the TCB" "tcb          0300000000000873" "$OUT"

# JSON for scripts.
run -o json verify "${snp[@]}" --now $NOW
check_eq "json: exit 0" 0 "$RC"
check_eq "json: tee" "sev-snp" "$(printf '%s' "$OUT" | json tee)"
check_eq "json: verified" "true" "$(printf '%s' "$OUT" | json verified)"
check_eq "json: measurement" "$MILAN_M" "$(printf '%s' "$OUT" | json measurement)"
check_eq "json: report_data" "$MILAN_RD" "$(printf '%s' "$OUT" | json report_data)"
check_eq "json: check names" "parse signature chain product signing-key cert-tcb chip-id debug migration vmpl provisional" \
    "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(" ".join(c["name"] for c in json.load(sys.stdin)["checks"]))')"
check_eq "json: built-in chain" "SEV-VCEK -> SEV-Milan -> ARK-Milan (pinned root)" \
    "$(printf '%s' "$OUT" | json checks.2.detail)"

# Another generation's chain does not lead to the VCEK's ARK.
for gen in turin-ask-ark genoa-ask-ark-asvk; do
	run verify "${snp[@]}" --chain "$D/snp/$gen.pem" --now $NOW
	check_eq "$gen: exit 1" 1 "$RC"
	check_contains "$gen: chain FAILED" "chain FAILED SEV-VCEK: unable to get local issuer certificate" "$(row chain)"
	check_contains "$gen: signature still ok" "signature ok" "$(row signature)"
	check_eq "$gen: named on stderr" "cubectl: verification failed: chain" "$ERR"
done

# One flipped byte in the measurement breaks the signature.
cp "$D/snp/milan-report.bin" "$T_DIR/flipped.bin"
printf '\x00' | dd of="$T_DIR/flipped.bin" bs=1 seek=$((0x90)) conv=notrunc status=none
check_fails "the copy differs" cmp -s "$D/snp/milan-report.bin" "$T_DIR/flipped.bin"
run verify --report "$T_DIR/flipped.bin" --vcek "$D/snp/milan-vcek.der" --now $NOW
check_eq "flipped: exit 1" 1 "$RC"
check_contains "flipped: signature FAILED" "signature FAILED the signature does not verify" "$(row signature)"
check_eq "flipped: named" "cubectl: verification failed: signature" "$ERR"

# The debug report: signature and chain hold, the policy does not.
dbg=(--report "$D/snp/debug-report.bin" --vcek "$D/snp/debug-vcek.der" --chain "$D/snp/milan-ask-ark.pem" --now $NOW)
run verify "${dbg[@]}" --report-data 0102030405
check_eq "debug: exit 1" 1 "$RC"
check_contains "debug: signature ok" "signature ok" "$(row signature)"
check_contains "debug: chain ok" "chain ok" "$(row chain)"
check_contains "debug: report-data ok" "report-data ok" "$(row report-data)"
check_contains "debug: FAILED on bit 19" "debug FAILED policy 0xb0000: debugging on" "$(row debug)"
check_eq "debug: named" "cubectl: verification failed: debug" "$ERR"
run verify "${dbg[@]}" --allow-debug
check_eq "debug allowed: exit 0" 0 "$RC"
check_contains "debug allowed: says so" "debug ok policy 0xb0000: debugging on, as allowed" "$(row debug)"

# A measurement that is not the one expected.
run verify "${snp[@]}" --now $NOW --expect-measurement "${MILAN_M%??}00"
check_eq "measurement mismatch: exit 1" 1 "$RC"
check_contains "measurement mismatch: FAILED" "measurement FAILED is $MILAN_M, not the one expected" "$(row measurement)"
check_eq "measurement mismatch: named" "cubectl: verification failed: measurement" "$ERR"

# Certificates expire: the same evidence in 2031.
run verify "${snp[@]}" --now 2031-01-01T00:00:00Z
check_eq "2031: exit 1" 1 "$RC"
check_contains "2031: VCEK expired" "chain FAILED SEV-VCEK: certificate has expired" "$(row chain)"

# TDX v4: quote, QE report, binding, PCK chain to the pinned Intel root,
# Intel's TD QE. Its TD runs without SEPT_VE_DISABLE, which issue 10
# requires by default (a policy's "allow_sept_ve" lets it pass): so the
# verdict is 1, named td-attributes, and every other check passes.
run verify --quote "$D/tdx/quote-v4.dat" --now $NOW --expect-measurement $V4_MRTD
check_eq "tdx v4: exit 1" 1 "$RC"
check_eq "tdx v4: named" "cubectl: verification failed: td-attributes" "$ERR"
for c in parse signature qe-binding qe-report chain qe-identity debug measurement; do
	check_contains "tdx v4: $c ok" "$c ok" "$(row $c)"
done
check_contains "tdx v4: SEPT_VE_DISABLE" "SEPT_VE_DISABLE (bit 28) is off" "$(row td-attributes)"
check_contains "tdx v4: chain to the pinned root" "Intel SGX Root CA (pinned root)" "$(row chain)"
check_contains "tdx v4: MRTD" "measurement  $V4_MRTD" "$OUT"
run verify --quote "$D/tdx/quote-v4.dat" --now $NOW --root "$D/tdx/intel-sgx-root.pem"
check_eq "tdx v4, --root: only td-attributes" "cubectl: verification failed: td-attributes" "$ERR"
check_contains "tdx v4, --root: labelled" "a root given, not the pinned one" "$(row chain)"
run verify --quote "$D/tdx/quote-v4.dat" --now $NOW --root "$D/snp/milan-ask-ark.pem"
check_eq "tdx v4, wrong root: exit 1" 1 "$RC"
check_eq "tdx v4, wrong root: named" "cubectl: verification failed: chain, td-attributes" "$ERR"

# TDX v5 (TDX 1.5 body): every check once its PCK is valid (2026-01-27).
run verify --quote "$D/tdx/quote-v5.dat" --now 2026-06-01T00:00:00Z --expect-measurement $V5_MRTD
check_eq "tdx v5: exit 0" 0 "$RC"
check_contains "tdx v5: parse" "parse ok TDX quote version 5, TDX 1.5 body" "$(row parse)"
run verify --quote "$D/tdx/quote-v5.dat" --now $NOW
check_eq "tdx v5 in 2024: exit 1" 1 "$RC"
check_contains "tdx v5 in 2024: PCK not yet valid" "chain FAILED Intel SGX PCK Certificate: certificate is not yet valid" "$(row chain)"

# Truncated files are refused cleanly, as a failed parse.
head -c 1000 "$D/snp/milan-report.bin" >"$T_DIR/short.bin"
run verify --report "$T_DIR/short.bin" --vcek "$D/snp/milan-vcek.der"
check_eq "short report: exit 1" 1 "$RC"
check_eq "short report: parse FAILED" "parse FAILED 1000 bytes; an SEV-SNP report has 1184" "$(row parse)"
check_eq "short report: named" "cubectl: verification failed: parse" "$ERR"
head -c 3000 "$D/tdx/quote-v4.dat" >"$T_DIR/short.dat"
run -o json verify --quote "$T_DIR/short.dat"
check_eq "short quote: exit 1" 1 "$RC"
check_eq "short quote: only the parse check" '[{"name": "parse", "ok": false, "detail": "truncated: signature data of 4299 bytes announced, 2364 there"}]' \
    "$(printf '%s' "$OUT" | json checks)"
check_eq "short quote: no measurement" "" "$(printf '%s' "$OUT" | json measurement)"

# Usage errors exit 2.
run verify --vcek "$D/snp/milan-vcek.der"
check_eq "no evidence: exit 2" 2 "$RC"
check_contains "no evidence: says what is needed" "--report FILE or --quote FILE is needed" "$ERR"
run verify --report "$D/snp/milan-report.bin" --quote "$D/tdx/quote-v4.dat"
check_eq "both: exit 2" 2 "$RC"
run verify --quote "$D/tdx/quote-v4.dat" --vcek "$D/snp/milan-vcek.der"
check_eq "--vcek with a quote: exit 2" 2 "$RC"
run verify "${snp[@]}" --expect-measurement abcd
check_eq "short measurement: exit 2" 2 "$RC"
run verify "${snp[@]}" --expect-measurement "${MILAN_M%?}x"
check_eq "non-hex measurement: exit 2" 2 "$RC"
run verify "${snp[@]}" --now 2024-06-01
check_eq "bad --now: exit 2" 2 "$RC"
run verify --report "$T_DIR/missing.bin"
check_eq "missing file: exit 2" 2 "$RC"
check_contains "missing file: named" "missing.bin: No such file" "$ERR"
head -c 70000 /dev/zero >"$T_DIR/big.bin"
run verify --report "$T_DIR/big.bin"
check_eq "oversized file: exit 2" 2 "$RC"
check_contains "oversized file: refused" "larger than 65536 bytes" "$ERR"
t_done
