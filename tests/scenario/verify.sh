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
# The guest policy, read off the real report's bytes (offset 8, LE).
POLICY=$(python3 -c 'import struct,sys; print(hex(struct.unpack_from("<Q", open(sys.argv[1], "rb").read(), 8)[0]))' "$D/snp/milan-report.bin")
check_eq "json: guest_policy, the report's" "$POLICY" \
    "$(printf '%s' "$OUT" | json guest_policy)"
check_eq "json: guest_flags, its bits in words" "$(python3 -c '
import sys; p = int(sys.argv[1], 16)
print("debug %s, migration agent %s, SMT %s, %s" % (
    "ALLOWED" if p >> 19 & 1 else "off", "ALLOWED" if p >> 18 & 1 else "off",
    "allowed" if p >> 16 & 1 else "off",
    "single socket" if p >> 20 & 1 else "any sockets"))' "$POLICY")" \
    "$(printf '%s' "$OUT" | json guest_flags)"
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
# --- policy files (cube-attest-policy(5)) ---------------------------------

# checks: "name ok|FAILED" of each check in -o json output, one line.
checks() { printf '%s' "$OUT" | python3 -c 'import json,sys; print(" ".join(c["name"] + ("" if c["ok"] else "!") for c in json.load(sys.stdin)["checks"]))'; }

# same_verdict NAME 'POLICY JSON' ARGS...: ARGS with --policy gives the
# checks, details and exit status ARGS with the flags give.
same_verdict() {
	local name=$1 policy=$2 flags_out flags_rc
	shift 2
	flags_out=$("$C" -o json verify "$@" "${FLAGS[@]}" 2>/dev/null)
	flags_rc=$?
	printf '%s\n' "$policy" >"$T_DIR/p.json"
	run -o json verify "$@" --policy "$T_DIR/p.json"
	check_eq "$name: policy exits as the flags do" "$flags_rc" "$RC"
	check_eq "$name: the same checks and details" \
	    "$(printf '%s' "$flags_out" | json checks)" \
	    "$(printf '%s' "$OUT" | json checks)"
}

FLAGS=(--expect-measurement $MILAN_M --report-data $MILAN_RD --min-tcb 0300000000000873)
same_verdict "milan" "{\"version\": 1, \"measurement\": [\"$MILAN_M\"],
    \"report_data\": [\"$MILAN_RD\"], \"min_tcb\": \"0300000000000873\"}" \
    "${snp[@]}" --now $NOW
check_eq "milan policy: passes" 0 "$RC"
FLAGS=(--expect-measurement "${MILAN_M%??}00" --min-tcb 0300000000000874)
same_verdict "milan, wrong values" "{\"version\": 1,
    \"measurement\": [\"${MILAN_M%??}00\"], \"min_tcb\": \"0300000000000874\"}" \
    "${snp[@]}" --now $NOW
check_eq "milan, wrong values: refused" 1 "$RC"
check_eq "milan, wrong values: named" "cubectl: verification failed: measurement, tcb" "$ERR"
FLAGS=(--report-data 0102030405)
same_verdict "debug report" '{"version": 1, "report_data": ["0102030405"]}' "${dbg[@]}"
check_eq "debug report: refused" 1 "$RC"
FLAGS=(--allow-debug)
same_verdict "debug allowed" '{"version": 1, "allow_debug": true}' "${dbg[@]}"
check_eq "debug allowed: passes" 0 "$RC"
FLAGS=(--expect-measurement $V4_MRTD --min-tcb 03000400000000000000000000000000)
same_verdict "tdx v4" "{\"version\": 1, \"measurement\": [\"$V4_MRTD\"],
    \"min_tcb\": \"03000400000000000000000000000000\"}" \
    --quote "$D/tdx/quote-v4.dat" --now $NOW
FLAGS=(--expect-measurement $V5_MRTD)
same_verdict "tdx v5" "{\"version\": 1, \"measurement\": [\"$V5_MRTD\"]}" \
    --quote "$D/tdx/quote-v5.dat" --now 2026-06-01T00:00:00Z

# The examples in the source tree, against the vectors they were written for.
run verify "${snp[@]}" --now $NOW --policy "$CUBE_ROOT/examples/attest-policy-snp.json"
check_eq "example SNP policy: milan passes" 0 "$RC"
check_eq "... tee" "tee ok sev-snp, as the policy says" "$(row tee)"
check_eq "... measurement" "measurement ok as expected" "$(row measurement)"
check_contains "... tcb" "tcb ok 0300000000000873, at least 0300000000000873" "$(row tcb)"
run verify "${dbg[@]}" --policy "$CUBE_ROOT/examples/attest-policy-snp.json"
check_eq "example SNP policy: the debug report fails" 1 "$RC"
check_contains "... on debug" "debug FAILED" "$(row debug)"
check_contains "... and its measurement" "measurement FAILED" "$(row measurement)"
run verify --quote "$D/tdx/quote-v5.dat" --now 2026-06-01T00:00:00Z \
    --policy "$CUBE_ROOT/examples/attest-policy-tdx.json"
check_contains "example TDX policy: v5's measurement" "measurement ok" "$(row measurement)"
check_eq "... tee" "tee ok tdx, as the policy says" "$(row tee)"

# A policy for the other TEE fails "tee", whatever else holds.
run verify --quote "$D/tdx/quote-v4.dat" --now $NOW --policy "$CUBE_ROOT/examples/attest-policy-snp.json"
check_eq "SNP policy, TDX quote: exit 1" 1 "$RC"
check_eq "... tee FAILED" "tee FAILED tdx evidence; the policy is for sev-snp" "$(row tee)"

# One accepted value of several is enough.
printf '{"version": 1, "measurement": ["%s", "%s", "%s"]}\n' "$V4_MRTD" \
    "$MILAN_M" "$V5_MRTD" >"$T_DIR/list.json"
run verify "${snp[@]}" --now $NOW --policy "$T_DIR/list.json"
check_eq "measurement list: one matches, passes" 0 "$RC"
check_eq "... which one" "measurement ok value 2 of the 3 accepted" "$(row measurement)"
printf '{"version": 1, "measurement": ["%s", "%s"]}\n' "$V4_MRTD" "$V5_MRTD" >"$T_DIR/list.json"
run verify "${snp[@]}" --now $NOW --policy "$T_DIR/list.json"
check_eq "measurement list: none matches, fails" 1 "$RC"
check_contains "... says so" "measurement FAILED is $MILAN_M, not one of those accepted" "$(row measurement)"

# Flags over the file: a value replaces, --allow-debug turns on.
run verify "${snp[@]}" --now $NOW --policy "$T_DIR/list.json" --expect-measurement $MILAN_M
check_eq "--expect-measurement replaces the policy's list" 0 "$RC"
check_eq "... as the one expected" "measurement ok as expected" "$(row measurement)"
printf '{"version": 1, "allow_debug": false, "min_tcb": "0300000000000874"}\n' >"$T_DIR/strict.json"
run verify "${dbg[@]}" --policy "$T_DIR/strict.json" --allow-debug --min-tcb 0000000000000000
check_eq "--allow-debug and --min-tcb over the policy" 0 "$RC"

# A typo is refused, naming the key, before anything is verified.
printf '{"version": 1,\n "sev_snp": {"max_vmpl": 0, "allow_migraton_agent": true}}\n' >"$T_DIR/typo.json"
run verify "${snp[@]}" --now $NOW --policy "$T_DIR/typo.json"
check_eq "typo'd key: exit 2" 2 "$RC"
check_contains "... names it" "--policy: $T_DIR/typo.json: sev_snp.allow_migraton_agent: unknown key" "$ERR"
check_eq "... nothing on stdout" "" "$OUT"
printf '{"version": 1, "sev_snp": {"max_vmpl": 4}}\n' >"$T_DIR/range.json"
run verify "${snp[@]}" --policy "$T_DIR/range.json"
check_eq "max_vmpl 4: exit 2" 2 "$RC"
check_contains "... named" "sev_snp.max_vmpl: not a number 0..3" "$ERR"
printf '{"version": 2}\n' >"$T_DIR/v2.json"
run verify "${snp[@]}" --policy "$T_DIR/v2.json"
check_eq "version 2: exit 2" 2 "$RC"
check_contains "... named" "version: this verifier reads version 1 policies only" "$ERR"
run verify "${snp[@]}" --policy "$T_DIR/none.json"
check_eq "missing policy: exit 2" 2 "$RC"
check_contains "... named" "--policy: $T_DIR/none.json: No such file" "$ERR"

# -o json: every check of the table, with the new fields.
run verify "${snp[@]}" --now $NOW --policy "$CUBE_ROOT/examples/attest-policy-snp.json"
table=$(printf '%s\n' "$OUT" | sed '/^$/q' | tail -n +2 | awk 'NF { print $1 ($2 == "ok" ? "" : "!") }' | xargs)
run -o json verify "${snp[@]}" --now $NOW --policy "$CUBE_ROOT/examples/attest-policy-snp.json"
check_eq "json: the table's checks, in order" "$table" "$(checks)"
check_contains "json: every check in it" "measurement" "$(checks)"
for f in product signer tcb_status verified; do
	check "json: has $f" python3 -c "import json,sys; sys.exit(0 if '$f' in json.loads(sys.argv[1]) else 1)" "$OUT"
done

# Collateral: files named relative to the policy, read, refused when absent.
mkdir -p "$T_DIR/pol/intel"
for f in tcbinfo-50806f000000.json qe-identity.json tcb-signing-chain.pem pck-crl.der root-crl.der; do
	ln -s "$D/tdx/collateral/$f" "$T_DIR/pol/intel/$f"
done
cat >"$T_DIR/pol/tdx.json" <<'POLICY'
{"version": 1, "tee": "tdx",
 "collateral": {"tcb_info": "intel/tcbinfo-50806f000000.json",
  "qe_identity": "intel/qe-identity.json",
  "chain": "intel/tcb-signing-chain.pem",
  "crls": ["intel/pck-crl.der", "intel/root-crl.der"]}}
POLICY
(cd / && "$C" -o json verify --quote "$D/tdx/quote-v4.dat" --now $NOW --policy "$T_DIR/pol/tdx.json" >"$T_DIR/out" 2>"$T_DIR/err")
RC=$?
check "collateral relative to the policy: read (not a usage error)" [ "$RC" -ne 2 ]
check_eq "... nothing unexpected on stderr" "" "$(grep -v 'verification failed' "$T_DIR/err")"
rm "$T_DIR/pol/intel/qe-identity.json"
run verify --quote "$D/tdx/quote-v4.dat" --policy "$T_DIR/pol/tdx.json"
check_eq "a collateral file missing: exit 2" 2 "$RC"
check_contains "... named with the policy's directory" "$T_DIR/pol/intel/qe-identity.json: No such file" "$ERR"
run verify --quote "$D/tdx/quote-v4.dat" --now $NOW --crl "$D/tdx/collateral/pck-crl.der" \
    --crl "$D/tdx/collateral/root-crl.der" --tcb-info "$D/tdx/collateral/tcbinfo-50806f000000.json" \
    --qe-identity "$D/tdx/collateral/qe-identity.json" --collateral-chain "$D/tdx/collateral/tcb-signing-chain.pem"
check "collateral flags: read" [ "$RC" -ne 2 ]
run verify --quote "$D/tdx/quote-v4.dat" --crl "$D/tdx/collateral/tcb-signing-chain.pem"
check_eq "--crl of certificates: exit 2" 2 "$RC"
check_contains "... not a CRL" "tcb-signing-chain.pem: not a CRL" "$ERR"
run verify "${snp[@]}" --tcb-info "$D/tdx/collateral/tcbinfo-50806f000000.json"
check_eq "--tcb-info with a report: exit 2" 2 "$RC"
check_contains "... says so" "--tcb-info goes with --quote" "$ERR"
t_done
