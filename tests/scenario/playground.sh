#!/usr/bin/env bash
# The playground: model.chat runs a chat through the pipeline a client's
# request takes. cubectl model chat streams the fake backend's answer on
# the unix socket and over a real sshd; the trace is there with its
# request id; guardrails, the model's defaults, a disabled model and
# another domain's model behave as for clients; killing cubectl mid-answer
# leaves a cancelled trace. cube-tui's playground in tmux at 80x24.
. "$(dirname "$0")/../lib.sh"

start_backend
start_agent
setup_domain acme chat fake-chat
ctl model edit -d acme chat --price-input 1 --price-output 2 >/dev/null

py() { python3 -c "import json,sys; v=json.load(sys.stdin); print($1)"; }
requests_seen() { backend_requests | py 'len(v)'; }

# --- an answer streams, with its summary -----------------------------------
ctl model chat -d acme chat "hello there" >"$T_DIR/out" 2>"$T_DIR/err"
rc=$?
check_eq "model chat exits 0" 0 "$rc"
check_eq "the answer on stdout" "Hello from fake-llm." "$(cat "$T_DIR/out")"
err=$(cat "$T_DIR/err")
check_contains "the summary on stderr: tokens" "tokens 2 in, 3 out" "$err"
check_contains "the summary on stderr: cost" 'cost $0.000008' "$err"
RID=$(sed -n 's/^request \([0-9a-f]\{32\}\) .*/\1/p' "$T_DIR/err")
check "the summary names the request id" [ -n "$RID" ]
check_eq "the backend saw the question" "hello there" \
    "$(backend_requests | py 'v[-1]["body"] and json.loads(v[-1]["body"])["messages"][-1]["content"]')"
check_eq "and was asked to stream" True \
    "$(backend_requests | py 'json.loads(v[-1]["body"]).get("stream")')"

# The trace writer commits in windows: poll for the trace, do not race it.
traced() { [ "$(ctl -o json logs -d acme --request-id "$1" | py 'len(v)')" = 1 ]; }
check "its trace is written" t_until 5 traced "$RID"
t=$(ctl -o json logs -d acme --request-id "$RID")
check_eq "its trace is there by request id" "1 $RID" \
    "$(printf '%s' "$t" | py '"%d %s" % (len(v), v[0]["request_id"])')"
check_eq "the trace: playground, 200, streamed, 2+3 tokens" \
    "playground 200 True 2 3 chat" \
    "$(printf '%s' "$t" | py '" ".join(str(x) for x in (v[0]["token_id"], v[0]["status"], v[0]["stream"], v[0]["prompt_tokens"], v[0]["completion_tokens"], v[0]["model"]))')"

a=$(ctl -o json audit -d acme)
check_eq "the audit log says who asked which model" "model.chat model/chat $(id -un)" \
    "$(printf '%s' "$a" | py '" ".join((v[-1]["method"], v[-1]["target"], v[-1]["user"]))')"
check_not_contains "but never the prompt" "hello there" "$a"

# The deltas really stream: more than one notification, in order.
python3 - "$AGENT_SOCK" >"$T_DIR/raw" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(20)
s.sendall(json.dumps({"jsonrpc": "2.0", "id": 7, "method": "model.chat",
    "params": {"domain": "acme", "key": "chat",
    "messages": [{"role": "user", "content": "hi"}]}}).encode() + b"\n")
buf = b""
deltas = []
while True:
    d = s.recv(65536)
    if not d:
        break
    buf += d
    done = False
    while b"\n" in buf:
        line, buf = buf.split(b"\n", 1)
        m = json.loads(line)
        if m.get("method") == "model.chat.delta":
            deltas.append(m["params"]["content"])
        elif m.get("id") == 7:
            print(len(deltas), "".join(deltas), m["result"]["finish_reason"],
                m["result"]["receipt"] is not None)
            done = True
    if done:
        break
PY
check_eq "raw model.chat: deltas then the result" \
    "4 Hello from fake-llm. stop True" "$(cat "$T_DIR/raw")"

# A slow reader loses nothing: 3 MiB of answer, read 4 KiB at a time.
ctl model deploy -d acme --provider fake --name Echo --key echo \
    --model-id 'fake-chat;echo=1;chunks=3000' --force >/dev/null 2>&1
python3 - "$AGENT_SOCK" >"$T_DIR/slowread" <<'PY'
import hashlib, json, socket, sys, time
text = "".join("line %07d of a long answer\n" % i for i in range(110000))[:3 * 1024 * 1024]
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(60)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.sendall(json.dumps({"jsonrpc": "2.0", "id": 9, "method": "model.chat",
    "params": {"domain": "acme", "key": "echo",
    "messages": [{"role": "user", "content": text}]}}).encode() + b"\n")
buf, got, n = b"", [], 0
while True:
    d = s.recv(4096)
    if not d:
        break
    time.sleep(0.0005)	# the slow reader under test, not a wait
    buf += d
    done = None
    while b"\n" in buf:
        line, buf = buf.split(b"\n", 1)
        m = json.loads(line)
        if m.get("method") == "model.chat.delta":
            got.append(m["params"]["content"])
            n += 1
        elif m.get("id") == 9:
            done = m
    if done:
        break
ans = "".join(got)
print(n > 1000, ans == text, done["result"].get("error"), done["result"]["finish_reason"])
PY
check_eq "a slow reader gets all of a 3 MiB answer, in order" \
    "True True None stop" "$(cat "$T_DIR/slowread")"

# A request sent behind a model.chat on its connection waits its turn.
python3 - "$AGENT_SOCK" >"$T_DIR/order" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(20)
chat = {"jsonrpc": "2.0", "id": 1, "method": "model.chat", "params": {
    "domain": "acme", "key": "chat", "stream": False,
    "messages": [{"role": "user", "content": "hi"}]}}
s.sendall((json.dumps(chat) + "\n" + json.dumps({"jsonrpc": "2.0", "id": 2,
    "method": "status"}) + "\n").encode())
f = s.makefile()
a = json.loads(f.readline())
b = json.loads(f.readline())
print(a["id"], a["result"].get("content"), b["id"], "pid" in b["result"])
PY
check_eq "stream false: one result with the whole answer, then the next reply" \
    "1 Hello from fake-llm. 2 True" "$(cat "$T_DIR/order")"

out=$(echo "from stdin" | ctl -o json model chat -d acme chat --system "be brief" \
    --max-tokens 7 --temperature 0.5)
check_eq "-o json: the result object" "200 stop" \
    "$(printf '%s' "$out" | py '"%s %s" % (v["status"], v["finish_reason"])')"
check_eq "stdin, --system, --max-tokens, --temperature reach the backend" \
    "system be brief user from stdin 7 0.5" \
    "$(backend_requests | py '" ".join(str(x) for x in [y for m in json.loads(v[-1]["body"])["messages"] for y in (m["role"], m["content"])] + [json.loads(v[-1]["body"])["max_tokens"], json.loads(v[-1]["body"])["temperature"]])')"

# --- the model's defaults, as for clients ----------------------------------
ctl model edit -d acme chat --system-prompt "You are Cube's test model." >/dev/null
ctl model chat -d acme chat "who are you" >/dev/null 2>&1
check_eq "the model's system_prompt default reaches the backend" \
    "You are Cube's test model." \
    "$(backend_requests | py '[m["content"] for m in json.loads(v[-1]["body"])["messages"] if m["role"] == "system"][0]')"

# --- an input guardrail blocks, as for clients -----------------------------
ctl guardrail create -d acme plans --kind keywords --action block \
    --words 'secret plan' >/dev/null
ctl model edit -d acme chat --guard-in plans >/dev/null
before=$(requests_seen)
ctl model chat -d acme chat "tell me the secret plan" >"$T_DIR/out" 2>"$T_DIR/err"
rc=$?
check_eq "a guardrail block is an error exit" 1 "$rc"
check_contains "with the agent's message" "blocked by guardrail 'plans'" "$(cat "$T_DIR/err")"
check_eq "nothing on stdout" "" "$(cat "$T_DIR/out")"
check_eq "the blocked prompt never reached the backend" "$before" "$(requests_seen)"
out=$(ctl -o json model chat -d acme chat "the secret plan" 2>/dev/null)
check_eq "-o json: the same error a client gets" "400 guardrail_violation" \
    "$(printf '%s' "$out" | py '"%s %s" % (v["status"], v["error"]["code"])')"
BID=$(printf '%s' "$out" | py 'v["request_id"]')
check "its trace is written" t_until 5 traced "$BID"
check_eq "the block is traced at the input guardrail step" "input_guardrail 400" \
    "$(ctl -o json logs -d acme --request-id "$BID" | py '"%s %s" % (v[0]["rejected_step"], v[0]["status"])')"
ctl model edit -d acme chat --no-guard-in >/dev/null 2>&1

# --- a disabled model, another domain's model ------------------------------
ctl model disable -d acme chat >/dev/null
ctl model chat -d acme chat "hi" >/dev/null 2>"$T_DIR/err"
rc=$?
check "a disabled model is refused" [ "$rc" -ne 0 ]
check_contains "as inactive" "inactive" "$(cat "$T_DIR/err")"
ctl model enable -d acme chat >/dev/null

ctl -o json domain create bravo >/dev/null
ctl provider add -d bravo fake --driver openai --url "$BACKEND_URL/v1" >/dev/null
ctl model deploy -d bravo --provider fake --name Other --key other \
    --model-id fake-chat >/dev/null 2>&1
check_eq "bravo's model answers in bravo" "Hello from fake-llm." \
    "$(ctl model chat -d bravo other hi 2>/dev/null)"
before=$(requests_seen)
ctl model chat -d acme other "hi" >/dev/null 2>"$T_DIR/err"
rc=$?
check_eq "another domain's model is not found (exit 3)" 3 "$rc"
check_contains "with the client's message" "does not exist" "$(cat "$T_DIR/err")"
check_eq "and nothing reached a backend" "$before" "$(requests_seen)"
ctl model chat -d nowhere chat "hi" >/dev/null 2>&1
check_eq "an unknown domain is not found (exit 3)" 3 "$?"

# --- killing cubectl mid-answer cancels the request ------------------------
ctl model deploy -d acme --provider fake --name Slow --key slow \
    --model-id 'fake-chat;chunks=200;chunk_delay_ms=100' --force >/dev/null 2>&1
"$CUBE_BIN/cubectl" -s "$AGENT_SOCK" model chat -d acme slow "go slowly" \
    >"$T_DIR/slow.out" 2>&1 &
CPID=$!
T_PIDS+=("$CPID")
check "the slow answer starts streaming" t_until 20 grep -q Hello "$T_DIR/slow.out"
kill -KILL "$CPID" 2>/dev/null
wait "$CPID" 2>/dev/null
slow_cancelled() {
	[ "$(ctl -o json logs -d acme --model slow | py 'v and v[-1]["cancelled"]')" = True ]
}
check "the trace says cancelled" t_until 20 slow_cancelled
check "the backend saw the hang-up" t_until 10 backend_saw_hangup
check_eq "the cancelled trace is the playground's, streamed" "playground True 200" \
    "$(ctl -o json logs -d acme --model slow | py '"%s %s %s" % (v[-1]["token_id"], v[-1]["stream"], v[-1]["status"])')"

# --- bad params are refused clearly ----------------------------------------
bad() {
	python3 - "$AGENT_SOCK" "$1" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(10)
s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"model.chat","params":' +
    sys.argv[2].encode() + b'}\n')
print(json.loads(s.makefile().readline())["error"]["message"])
PY
}
check_contains "messages must be an array" "messages: expected an array" \
    "$(bad '{"domain":"acme","key":"chat","messages":"hi"}')"
check_contains "each message an object" "messages[1]: expected an object" \
    "$(bad '{"domain":"acme","key":"chat","messages":[{"role":"user","content":"a"},7]}')"
check_contains "temperature in range" "temperature: must be from 0 to 2" \
    "$(bad '{"domain":"acme","key":"chat","temperature":9,"messages":[{"role":"user","content":"a"}]}')"
check_contains "unknown params refused" "unknown" \
    "$(bad '{"domain":"acme","key":"chat","token":"x","messages":[{"role":"user","content":"a"}]}')"

# --- cube-tui: p on a model, a question, the answer streams ---------------
if ! command -v tmux >/dev/null; then
	echo "# SKIP cube-tui: tmux is not installed"
else
	ctl model edit -d acme chat --guard-in plans >/dev/null
	TM=(tmux -L "cube-play-test-$$" -f /dev/null)
	tm_cleanup() { "${TM[@]}" kill-server 2>/dev/null; t_cleanup; }
	trap tm_cleanup EXIT
	SESSION=play
	screen() { "${TM[@]}" capture-pane -p -t "$SESSION" 2>/dev/null; }
	screen_colour() { "${TM[@]}" capture-pane -e -p -t "$SESSION" 2>/dev/null; }
	wait_for() {
		local i
		for ((i = 0; i < ${2:-10} * 20; i++)); do
			screen | grep -qF -- "$1" && return 0
			sleep 0.05
		done
		return 1
	}
	expect() {	# description, text [seconds]
		if wait_for "$2" "${3:-10}"; then ok "$1"; else
			not_ok "$1" "expected on screen: $2"$'\n'"$(screen)"; fi
	}
	keys() { "${TM[@]}" send-keys -t "$SESSION" "$@"; }
	type_text() { "${TM[@]}" send-keys -t "$SESSION" -l "$1"; }
	"${TM[@]}" new-session -d -s "$SESSION" -x 80 -y 24 \
	    "LANG=C.UTF-8 HOME=$T_DIR/tui-home $CUBE_BIN/cube-tui -s $AGENT_SOCK local 2>$T_DIR/tui.err; echo \$? >$T_DIR/tui.exit; sleep 60"
	expect "cube-tui is up" "ok, up"
	keys D
	expect "D offers the domains" "bravo" 5
	keys Enter
	keys 3
	expect "the Models view lists the model" " active " 10
	check "the Models key bar offers p" wait_for "p chat" 2
	keys p
	expect "p opens the playground on the selected model" "Playground: chat in acme"
	type_text "héllo, wörld"
	expect "UTF-8 typed into the input line" "> héllo, wörld"
	keys Enter
	expect "the question shows in the transcript" "you    héllo, wörld"
	expect "the streamed answer shows" "model  Hello from fake-llm." 10
	expect "then the tokens and cost line" "7+3 tokens  \$0.000013" 10
	check "the input line is empty again" wait_for "> _" 2
	PID1=$(screen | sed -n 's/.*request \([0-9a-f]\{32\}\)  .*/\1/p' | tail -n 1)
	check "the answer's request id is on screen" [ -n "$PID1" ]
	newest() { ctl -o json logs -d acme --model chat -n 1 | py 'v[-1]["request_id"]'; }
	newest_is() { [ "$(newest)" = "$1" ]; }
	check "... and its trace is the newest, once written" t_until 5 newest_is "$PID1"
	check_eq "its trace is the playground's" playground \
	    "$(ctl -o json logs -d acme --request-id "$PID1" | py 'v[0]["token_id"]')"

	type_text "and again"
	keys Enter
	expect "a second question" "you    and again" 5
	check "the second answer's line" t_until 10 eval \
	    '[ "$(screen | grep -cE "[0-9]+\+3 tokens")" -eq 2 ]'
	check_eq "the conversation so far went with it" \
	    "user:héllo, wörld assistant:Hello from fake-llm. user:and again" \
	    "$(backend_requests | py '" ".join(m["role"] + ":" + m["content"] for m in json.loads(v[-1]["body"])["messages"] if m["role"] != "system")')"

	type_text "what is the secret plan"
	keys Enter
	expect "a guardrail's refusal, in the agent's words" "blocked by guardrail 'plans'" 10
	check "in the error colour" t_until 2 eval \
	    'screen_colour | grep -F "blocked by guardrail" | grep -qF $'"'"'\e[1m\e[31m'"'"' ||
	     screen_colour | grep -F "blocked by guardrail" | grep -qE $'"'"'\e\\[(1;)?31m'"'"''

	keys C-l
	check "Ctrl-L clears the conversation" t_until 5 eval \
	    '! screen | grep -qF "Hello from fake-llm."'
	keys Escape
	expect "Esc leaves for the Models view" "n deploy" 5
	keys :
	type_text "chat chat"
	keys Enter
	expect ":chat KEY opens the playground" "Playground: chat in acme" 5
	keys Escape
	expect "and Esc leaves it" "n deploy" 5
	keys q
	check "cube-tui quits with 0" t_until 10 eval '[ "$(cat "$T_DIR/tui.exit" 2>/dev/null)" = 0 ]'
	check_not_contains "no sanitizer report from cube-tui" Sanitizer "$(cat "$T_DIR/tui.err")"
	ctl model edit -d acme chat --no-guard-in >/dev/null
fi

# --- over a real sshd ------------------------------------------------------
SSHD=/usr/sbin/sshd
if [ ! -x "$SSHD" ] || ! command -v ssh-keygen >/dev/null; then
	echo "# SKIP over ssh: openssh-server is not installed"
else
	S="$T_DIR/ssh"
	mkdir -p "$S" "$T_DIR/home"
	chmod 700 "$S"
	export HOME="$T_DIR/home"
	unset SSH_AUTH_SOCK CUBE_HOST CUBE_SOCKET
	ssh-keygen -q -t ed25519 -N '' -C host -f "$S/host_key"
	ssh-keygen -q -t ed25519 -N '' -C operator -f "$S/id_operator"
	cp "$S/id_operator.pub" "$S/authorized_keys"
	PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	cat >"$S/sshd_config" <<CONF
ListenAddress 127.0.0.1
Port $PORT
HostKey $S/host_key
PidFile $S/sshd.pid
AuthorizedKeysFile $S/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
AllowStreamLocalForwarding yes
AllowTcpForwarding local
X11Forwarding no
CONF
	[ "$(id -u)" -ne 0 ] || mkdir -p /run/sshd
	"$SSHD" -D -e -f "$S/sshd_config" 2>"$S/sshd.log" &
	T_PIDS+=("$!")
	t_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT" 2>/dev/null
	echo "[127.0.0.1]:$PORT $(cut -d' ' -f1,2 "$S/host_key.pub")" >"$S/known_hosts"
	cat >"$S/config" <<CONF
Host cube
	HostName 127.0.0.1
	Port $PORT
	User $(id -un)
	IdentityFile $S/id_operator
	UserKnownHostsFile $S/known_hosts
	StrictHostKeyChecking yes
	ConnectTimeout 5
CONF
	rctl() { "$CUBE_BIN/cubectl" -F "$S/config" -H cube -s "$AGENT_SOCK" "$@"; }
	if ! rctl status >/dev/null 2>&1; then
		echo "# SKIP over ssh: sshd did not serve here: $(tail -n 3 "$S/sshd.log" | tr '\n' ' ')"
	else
		rctl model chat -d acme chat "over ssh" >"$T_DIR/out" 2>"$T_DIR/err"
		check_eq "model chat over ssh exits 0" 0 "$?"
		check_eq "model chat over ssh streams the answer" \
		    "Hello from fake-llm." "$(cat "$T_DIR/out")"
		SID=$(sed -n 's/^request \([0-9a-f]\{32\}\) .*/\1/p' "$T_DIR/err")
		check "its trace is written" t_until 5 traced "$SID"
		check_eq "its trace is there" playground \
		    "$(ctl -o json logs -d acme --request-id "$SID" | py 'v[0]["token_id"]')"
		rctl model chat -d acme other "hi" >/dev/null 2>&1
		check_eq "a refusal over ssh is an error exit too" 3 "$?"
		if command -v tmux >/dev/null; then
			SESSION=remote
			"${TM[@]}" new-session -d -s "$SESSION" -x 80 -y 24 \
			    "LANG=C.UTF-8 $CUBE_BIN/cube-tui -F $S/config -s $AGENT_SOCK cube 2>$T_DIR/tui-ssh.err; echo \$? >$T_DIR/tui-ssh.exit; sleep 60"
			expect "cube-tui over ssh is up" "ok, up" 20
			keys D
			expect "D offers the domains over ssh" "bravo" 5
			keys Enter
			keys 3
			expect "Models over ssh" " active " 10
			keys p
			expect "the playground over ssh" "Playground: chat in acme" 5
			type_text "over ssh too"
			keys Enter
			expect "the answer streams over ssh" "model  Hello from fake-llm." 15
			expect "with its tokens and cost" "+3 tokens" 10
			keys Escape q
			check "cube-tui over ssh quits with 0" t_until 10 eval \
			    '[ "$(cat "$T_DIR/tui-ssh.exit" 2>/dev/null)" = 0 ]'
			check_not_contains "no sanitizer report from cube-tui over ssh" \
			    Sanitizer "$(cat "$T_DIR/tui-ssh.err")"
		fi
	fi
fi

check "the agent stops cleanly" stop_agent
check_not_contains "no sanitizer report from the agent" Sanitizer "$(cat "$AGENT_LOG")"

t_done
