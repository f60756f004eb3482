#!/usr/bin/env bash
# Signed receipts end to end: the agent on its simulated TEE in front of
# the fake backend signs every answer (a Cube-Receipt header, a stream's
# last line) and traces it; cubectl receipt verify checks each with the
# key from cubectl attest, names the body that was changed, refuses
# another agent's key and evidence it cannot verify. The OpenAI SDK, when
# installed (tests/sdk), still reads streams with the receipt line.
. "$(dirname "$0")/../lib.sh"

start_backend
start_agent --tee sim
setup_domain acme chat 'fake-chat;chunks=3'
ctl model deploy -d acme --provider fake --name Embed --key embed \
    --category embedding --model-id fake-embed >/dev/null
ctl provider add -d acme local --driver ollama --url "$BACKEND_URL" >/dev/null
ctl model deploy -d acme --provider local --name Ochat --key ochat \
    --model-id 'fake-chat;chunks=3' --force >/dev/null

# The agent's identity key, from evidence that verifies.
ctl -o json attest >"$T_DIR/evidence.json"
ctl attest --verify --allow-simulated >/dev/null 2>&1
check_eq "the evidence verifies (simulated)" 0 "$?"
KEY=$(json ed25519 <"$T_DIR/evidence.json" | base64 -d | od -An -v -tx1 | tr -d ' \n')
check_eq "the identity key is 32 bytes" 64 "${#KEY}"

# cubectl receipt verify needs no agent: no -s here.
verify() {
	"$CUBE_BIN/cubectl" receipt verify "$@" >"$T_DIR/out" 2>"$T_DIR/err"
	RC=$?
}

# post NAME PATH BODY: the request body in NAME.req, the head in NAME.head,
# the body as received in NAME.resp.
post() {
	printf '%s' "$3" >"$T_DIR/$1.req"
	curl -sS -m 20 -H "Authorization: Bearer $TOKEN" \
	    -H 'Content-Type: application/json' --data-binary @"$T_DIR/$1.req" \
	    -D "$T_DIR/$1.head" -o "$T_DIR/$1.resp" "$AGENT_URL$2"
}

# verify_ok NAME WHAT: the receipt (in the head or at the stream's end).
verify_ok() {
	local src=$T_DIR/$1.head
	grep -qi '^cube-receipt:' "$src" || src=$T_DIR/$1.resp
	verify --receipt "$src" --request "$T_DIR/$1.req" \
	    --response "$T_DIR/$1.resp" --key "$KEY"
	check_eq "$2: the receipt verifies" 0 "$RC"
}

# --- a whole chat answer: a Cube-Receipt header --------------------------------
post chat /proxy/acme/v1/chat/completions \
    '{"model":"chat","messages":[{"role":"user","content":"hi"}]}'
check "chat: a Cube-Receipt header" grep -qi '^cube-receipt: v1\.' "$T_DIR/chat.head"
verify_ok chat "chat"
check_contains "chat: every check is shown" "response body" "$(cat "$T_DIR/out")"
verify --receipt "$T_DIR/chat.head" --request "$T_DIR/chat.req" \
    --response "$T_DIR/chat.resp" --key "$KEY" -o json
rid=$(json id <"$T_DIR/out")
hid=$(sed -n 's/^x-request-id: *\([0-9a-f]*\).*/\1/Ip' "$T_DIR/chat.head" | tr -d '\r')
check_eq "chat: x-request-id is the receipt's id" "$hid" "$rid"
check_eq "chat: the receipt names the model" chat "$(json model <"$T_DIR/out")"
check_eq "chat: and the domain" "$DOMAIN_ID" "$(json domain <"$T_DIR/out")"
# The string itself works too, and the key from the saved evidence.
rstr=$(sed -n 's/^cube-receipt: *\(v1[^[:space:]]*\).*/\1/Ip' "$T_DIR/chat.head")
verify --receipt "$rstr" --request "$T_DIR/chat.req" \
    --response "$T_DIR/chat.resp" --evidence "$T_DIR/evidence.json" \
    --allow-simulated
check_eq "chat: verifies with the key from verified evidence" 0 "$RC"
verify --receipt "$rstr" --request "$T_DIR/chat.req" \
    --response "$T_DIR/chat.resp" --evidence "$T_DIR/evidence.json"
check_eq "evidence of a simulated TEE without consent: fails" 1 "$RC"
check_contains "  and says the evidence does not verify" "does not verify" \
    "$(cat "$T_DIR/err")"

# --- one flipped byte, in either body, fails naming that body ------------------
python3 - "$T_DIR/chat.resp" "$T_DIR/flip.resp" <<'EOF'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[len(b) // 2] ^= 1
open(sys.argv[2], "wb").write(b)
EOF
verify --receipt "$rstr" --request "$T_DIR/chat.req" \
    --response "$T_DIR/flip.resp" --key "$KEY"
check_eq "a flipped byte in the response: fails" 1 "$RC"
check_contains "  naming the response body" "response body" "$(cat "$T_DIR/err")"
printf '%s' '{"model":"chat","messages":[{"role":"user","content":"hI"}]}' \
    >"$T_DIR/flip.req"
verify --receipt "$rstr" --request "$T_DIR/flip.req" \
    --response "$T_DIR/chat.resp" --key "$KEY"
check_eq "a flipped byte in the request: fails" 1 "$RC"
check_contains "  naming the request body" "request body" "$(cat "$T_DIR/err")"
# A changed receipt: its signature no longer holds.
bad=$(printf '%s' "$rstr" | python3 -c 'import sys
s = sys.stdin.read(); i = 20
print(s[:i] + ("A" if s[i] != "A" else "B") + s[i+1:])')
verify --receipt "$bad" --request "$T_DIR/chat.req" \
    --response "$T_DIR/chat.resp" --key "$KEY"
check_eq "an altered receipt: fails" 1 "$RC"
verify --receipt "v1.nonsense" --request "$T_DIR/chat.req" \
    --response "$T_DIR/chat.resp" --key "$KEY"
check_eq "not a receipt: fails" 1 "$RC"
verify --receipt "$rstr" --request "$T_DIR/chat.req" \
    --response "$T_DIR/chat.resp"
check_eq "no key: a usage error" 2 "$RC"
verify --receipt "$rstr" --request "$T_DIR/nowhere" \
    --response "$T_DIR/chat.resp" --key "$KEY"
check_eq "a request file that is not there: a usage error" 2 "$RC"

# --- another agent's key --------------------------------------------------------
OTHER_SOCK="$T_DIR/other/agent.sock"
"$CUBE_BIN/cube-agent" --listen 127.0.0.1:0 --data "$T_DIR/other-data" \
    --admin-socket "$OTHER_SOCK" --tee sim >"$T_DIR/other.log" 2>&1 &
T_PIDS+=($!)
t_wait_file "$OTHER_SOCK" 20 || not_ok "the other agent starts" "$(cat "$T_DIR/other.log")"
OKEY=$("$CUBE_BIN/cubectl" -s "$OTHER_SOCK" -o json attest | json ed25519 |
    base64 -d | od -An -v -tx1 | tr -d ' \n')
check "the other agent has another key" test -n "$OKEY" -a "$OKEY" != "$KEY"
verify --receipt "$rstr" --request "$T_DIR/chat.req" \
    --response "$T_DIR/chat.resp" --key "$OKEY"
check_eq "another agent's key: fails" 1 "$RC"
check_contains "  naming the signature" "signature" "$(cat "$T_DIR/err")"

# --- a stream: the receipt is a comment line right before [DONE] ------------
post sse /proxy/acme/v1/chat/completions \
    '{"model":"chat","stream":true,"messages":[{"role":"user","content":"hi"}]}'
check "sse: no receipt header (the body is not known yet)" \
    bash -c "! grep -qi '^cube-receipt:' '$T_DIR/sse.head'"
check_eq "sse: [DONE] is still the last event" "data: [DONE]" \
    "$(tail -n 2 "$T_DIR/sse.resp" | head -n 1)"
check_contains "sse: the receipt comment right before it" ": cube-receipt v1." \
    "$(tail -n 4 "$T_DIR/sse.resp" | head -n 1)"
check_eq "sse: one receipt" 1 "$(grep -c '^: cube-receipt ' "$T_DIR/sse.resp")"
verify_ok sse "sse"
cp "$T_DIR/sse.resp" "$T_DIR/sse-flip.resp"
python3 - "$T_DIR/sse-flip.resp" <<'EOF'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read())
b[10] ^= 1
open(p, "wb").write(b)
EOF
verify --receipt "$T_DIR/sse.resp" --request "$T_DIR/sse.req" \
    --response "$T_DIR/sse-flip.resp" --key "$KEY"
check_eq "sse: a flipped byte in the stream fails" 1 "$RC"
check_contains "  naming the response body" "response body" "$(cat "$T_DIR/err")"
sse_receipt=$(sed -n 's/^: cube-receipt \(v1[^[:space:]]*\)$/\1/p' "$T_DIR/sse.resp")
traced() {
	ctl -o json logs -d acme -n 50 | python3 -c 'import json,sys
print("yes" if any(t.get("receipt") == sys.argv[1] for t in json.load(sys.stdin)) else "no")' "$1" | grep -q yes
}
check "sse: the trace keeps the receipt (cubectl logs)" t_until 10 traced "$sse_receipt"
check "chat: the trace keeps the receipt" t_until 10 traced "$rstr"

# --- Ollama: a member of a stream's done line, a whole answer's header -------
post ollama /proxy/acme/api/chat \
    '{"model":"ochat","messages":[{"role":"user","content":"hi"}]}'
check_contains "ollama stream: the done line carries the receipt" \
    '"cube_receipt":"v1.' "$(tail -n 1 "$T_DIR/ollama.resp")"
check_eq "ollama stream: still JSON, still done, nothing after it" "true 4" \
    "$(python3 -c 'import json,sys
ls = open(sys.argv[1]).read().splitlines()
print(str(json.loads(ls[-1])["done"]).lower(), len(ls))' "$T_DIR/ollama.resp")"
verify_ok ollama "ollama stream"
post ogen /proxy/acme/api/generate '{"model":"ochat","prompt":"hi","stream":false}'
check "ollama generate: a Cube-Receipt header" grep -qi '^cube-receipt: v1\.' "$T_DIR/ogen.head"
verify_ok ogen "ollama generate"

# --- embeddings -----------------------------------------------------------------
post emb /proxy/acme/v1/embeddings '{"model":"embed","input":"hello"}'
check "embeddings: a Cube-Receipt header" grep -qi '^cube-receipt: v1\.' "$T_DIR/emb.head"
verify_ok emb "embeddings"
verify --receipt "$T_DIR/emb.head" --request "$T_DIR/emb.req" \
    --response "$T_DIR/chat.resp" --key "$KEY"
check_eq "embeddings: another answer's body fails" 1 "$RC"

# --- the OpenAI SDK reads a stream that ends with the receipt -------------------
if sdk_install; then
	out=$(cd "$SDK_DIR" && AGENT_URL=$AGENT_URL TOKEN=$TOKEN timeout 30 node \
	    --input-type=module -e '
import OpenAI from "openai";
const c = new OpenAI({ baseURL: process.env.AGENT_URL + "/proxy/acme/v1",
    apiKey: process.env.TOKEN });
const s = await c.chat.completions.create({ model: "chat", stream: true,
    messages: [{ role: "user", content: "hi" }] });
let text = "", n = 0;
for await (const ch of s) { n++; text += ch.choices[0]?.delta?.content ?? ""; }
console.log(n > 0 && text.length > 0 ? "parsed" : "empty");' 2>&1)
	check_eq "the OpenAI SDK parses a stream with the receipt line" parsed "$out"
else
	echo "# SKIP receipt: the OpenAI SDK check did NOT run: $SDK_WHY"
fi

stop_agent
check_eq "the agent stops cleanly" 0 "$?"
check_not_contains "no sanitizer report" "ERROR: " "$(cat "$AGENT_LOG")"

t_done
