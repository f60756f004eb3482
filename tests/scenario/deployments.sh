#!/usr/bin/env bash
# Several deployments per model against real fake-llm backends: weighted
# spread, least outstanding, a retry before the first byte (reset, 500)
# with both attempts in the trace, no retry once a stream's bytes went
# out, a fallback past a dead provider at its own price, and a breaker
# going open, half-open, open again, half-open and closed.
. "$(dirname "$0")/../lib.sh"

# Two backends, B1 and B2, as two providers.
start_backend
B1=$BACKEND_URL
mv "$T_DIR/backend.log" "$T_DIR/backend1.log"
start_backend
B2=$BACKEND_URL
DEAD=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
METRICS_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$T_DIR/agent.conf" <<CONF
trace-flush-ms = 50
provider-check-interval = 0
breaker-failures = 3
breaker-cooldown-ms = 4000
CONF
# One worker: its turn counter alone shares ties, so the spread is exact.
start_agent -c "$T_DIR/agent.conf" --workers 1 \
    --metrics-listen "127.0.0.1:$METRICS_PORT"
M_URL="http://127.0.0.1:$METRICS_PORT/metrics"

rpc() {	# METHOD PARAMS-JSON: the result as JSON, or error:CODE:MESSAGE
	python3 - "$AGENT_SOCK" "$1" "$2" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rw")
f.write(json.dumps({"jsonrpc": "2.0", "id": 1, "method": sys.argv[2],
    "params": json.loads(sys.argv[3])}) + "\n"); f.flush()
r = json.loads(f.readline())
print("error:%d:%s" % (r["error"]["code"], r["error"]["message"])
    if "error" in r else json.dumps(r["result"]))
PY
}
py() {	# EXPR over the JSON on stdin (as v)
	python3 -c 'import json,sys
v=json.load(sys.stdin)
print(eval(sys.argv[1]))' "$1"
}

ctl domain create acme >/dev/null
ctl provider add -d acme p1 --driver openai --url "$B1/v1" >/dev/null
ctl provider add -d acme p2 --driver openai --url "$B2/v1" >/dev/null
ctl provider add -d acme dead --driver openai --url "http://127.0.0.1:$DEAD/v1" \
    --force >/dev/null 2>&1 || rpc provider.add \
    '{"domain":"acme","name":"dead","driver":"openai","url":"http://127.0.0.1:'"$DEAD"'/v1"}' >/dev/null
ctl provider add -d acme flaky --driver openai --url "http://127.0.0.1:$DEAD/v1" \
    --force >/dev/null 2>&1 || rpc provider.add \
    '{"domain":"acme","name":"flaky","driver":"openai","url":"http://127.0.0.1:'"$DEAD"'/v1"}' >/dev/null
check_eq "four providers" 4 "$(ctl -o json provider list -d acme | py 'len(v)')"

deploy() {	# KEY DEPLOYMENTS-JSON [EXTRA-JSON-MEMBERS]
	rpc model.deploy '{"domain":"acme","key":"'"$1"'","name":"'"$1"'","force":true,"deployments":'"$2"${3:+,$3}'}'
}
TOKEN=$(ctl -o json token create -d acme --name t | json token)
chat() {	# KEY [stream]: status and body
	local s=false
	[ "${2-}" = stream ] && s=true
	http POST /proxy/acme/v1/chat/completions "$TOKEN" \
	    '{"model":"'"$1"'","stream":'"$s"',"messages":[{"role":"user","content":"hi"}]}'
}
count_model() {	# BACKEND-URL MODEL-ID: requests it got for that model id
	curl -sS "$1/_requests" | python3 -c 'import json,sys
print(sum(1 for r in json.load(sys.stdin) if r["model"] == sys.argv[1]))' "$2"
}
ntraces() { ctl -o json logs -d acme --model "$1" -n 1000 | py 'len(v)'; }
# The newest trace of KEY once there are N of them.
ntraces_ge() { test "$(ntraces "$1")" -ge "$2"; }
trace_n() {	# KEY N
	t_until 10 ntraces_ge "$1" "$2" || true
	ctl -o json logs -d acme --model "$1" -n 1 | py 'json.dumps(v[-1])'
}
attempts() {	# the attempts of the trace on stdin: "provider:status:error ..."
	py '" ".join("%s:%s:%s:%s" % (a["model"], a["provider"], a["status"], a["error"]) for a in v["attempts"])'
}

# --- the contract: deployments, fallbacks and retries are checked -------
r=$(deploy bad '[{"provider":"p1","model_id":"x"},{"provider":"p1","model_id":"x"}]')
check_contains "a deployment twice is invalid_params" "error:-32602:deployments[1]" "$r"
r=$(deploy bad '[{"provider":"ghost","model_id":"x"}]')
check_contains "a provider not in the domain is invalid_params" \
    "error:-32602:deployments[0].provider: provider 'ghost' not found" "$r"
r=$(deploy bad '[{"provider":"p1","model_id":"x","weight":0}]')
check_contains "weight 0 refused" "error:-32602:deployments[0].weight" "$r"
r=$(deploy bad '[{"provider":"p1","model_id":"x","priority":101}]')
check_contains "priority 101 refused" "error:-32602:deployments[0].priority" "$r"
r=$(rpc model.deploy '{"domain":"acme","key":"bad","name":"bad","provider":"p1","model_id":"x","deployments":[{"provider":"p1","model_id":"x"}]}')
check_contains "both forms refused" "error:-32602:deployments: give either" "$r"
r=$(deploy bad '[{"provider":"p1","model_id":"x"}]' '"fallbacks":["nosuch"]')
check_contains "an unknown fallback refused" "error:-32602:fallbacks[0]: model 'nosuch' not found" "$r"
r=$(deploy bad '[{"provider":"p1","model_id":"x"}]' '"fallbacks":["bad"]')
check_contains "a model is not its own fallback" "error:-32602:fallbacks[0]: a model cannot fall back on itself" "$r"
ctl provider add -d acme ol --driver ollama --url "$B1" >/dev/null
r=$(deploy bad '[{"provider":"p1","model_id":"x"},{"provider":"ol","model_id":"y"}]')
check_contains "two wire formats refused" "error:-32602:deployments[1].provider: 'ol' speaks Ollama's" "$r"

# --- weighted spread: weights 3 and 1 over 200 requests -----------------
r=$(deploy w '[{"provider":"p1","model_id":"fake-chat;text=one","weight":3},{"provider":"p2","model_id":"fake-chat;text=two"}]')
check_eq "deploy answers the deployments" \
    "p1 fake-chat;text=one 3 0|p2 fake-chat;text=two 1 0|p1 fake-chat;text=one 2 30000 []" \
    "$(printf '%s' "$r" | py '"|".join("%s %s %s %s" % (d["provider"], d["model_id"], d["weight"], d["priority"]) for d in v["deployments"]) + "|%s %s %s %s %s" % (v["provider"], v["model_id"], v["retries"], v["retry_deadline_ms"], v["fallbacks"])')"
curl -sS -X POST "$B1/_reset" >/dev/null
curl -sS -X POST "$B2/_reset" >/dev/null
python3 - "$AGENT_URL" "$TOKEN" <<'PY' >"$T_DIR/spread"
import http.client, json, sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
c = http.client.HTTPConnection(u.hostname, u.port, timeout=20)
ok = 0
for i in range(200):
    c.request("POST", "/proxy/acme/v1/chat/completions", json.dumps({"model": "w",
        "messages": [{"role": "user", "content": "hi"}]}),
        {"Authorization": "Bearer " + sys.argv[2], "Content-Type": "application/json"})
    r = c.getresponse(); r.read()
    ok += r.status == 200
print(ok)
PY
check_eq "200 requests answered" 200 "$(cat "$T_DIR/spread")"
# One worker and requests one after another: every choice is a tie at no
# request outstanding, shared by weight in turn, so 200 = 50 turns of 3+1.
check_eq "weights 3:1 give 150 and 50 exactly" "150 50" \
    "$(count_model "$B1" 'fake-chat;text=one') $(count_model "$B2" 'fake-chat;text=two')"

# --- least outstanding: a slow deployment gets fewer --------------------
deploy lo '[{"provider":"p1","model_id":"fake-chat;first_byte_delay_ms=3000"},{"provider":"p2","model_id":"fake-chat;text=fast"}]' >/dev/null
python3 - "$AGENT_URL" "$TOKEN" <<'PY' >"$T_DIR/lo"
import http.client, json, sys, threading, time, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
res = []
def one():
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    c.request("POST", "/proxy/acme/v1/chat/completions", json.dumps({"model": "lo",
        "messages": [{"role": "user", "content": "hi"}]}),
        {"Authorization": "Bearer " + sys.argv[2], "Content-Type": "application/json"})
    r = c.getresponse(); r.read(); res.append(r.status)
ts = []
for i in range(20):
    t = threading.Thread(target=one); t.start(); ts.append(t); time.sleep(0.05)
for t in ts: t.join()
print(sum(1 for s in res if s == 200))
PY
check_eq "20 overlapping requests answered" 20 "$(cat "$T_DIR/lo")"
slow=$(count_model "$B1" 'fake-chat;first_byte_delay_ms=3000')
fast=$(count_model "$B2" 'fake-chat;text=fast')
# The slow one holds each request 3 s: once it has one out it loses every
# choice to the fast one, which has none out between requests 50 ms apart;
# only a tie before that (or a rare overlap on a loaded machine) sends it one.
check "the slow deployment got 1 or 2 of 20 ($slow, fast $fast)" \
    test "$slow" -ge 1 -a "$slow" -le 2 -a $((slow + fast)) -eq 20

# --- retry before the first byte: a reset, a 500 ------------------------
deploy rt '[{"provider":"p1","model_id":"fake-chat;reset_after=0"},{"provider":"p2","model_id":"fake-chat;text=second","priority":1}]' >/dev/null
r=$(chat rt)
check_eq "a reset before the first byte: retried, answered" 200 "$(status_of "$r")"
check_contains "the answer is the second deployment's" "second" "$(body_of "$r")"
check_eq "the trace lists both attempts" \
    "rt:p1:None:upstream_error rt:p2:200:None" "$(trace_n rt 1 | attempts)"
check_eq "the trace names the deployment that answered" "p2 fake-chat;text=second" \
    "$(trace_n rt 1 | py '"%s %s" % (v["provider"], v["model_id"])')"
deploy r5 '[{"provider":"p1","model_id":"fake-chat;status=500"},{"provider":"p2","model_id":"fake-chat;text=second","priority":1}]' >/dev/null
r=$(chat r5)
check_eq "a 500: retried, answered" 200 "$(status_of "$r")"
check_eq "the trace lists the 500 and the 200" \
    "r5:p1:500:None r5:p2:200:None" "$(trace_n r5 1 | attempts)"
deploy r4 '[{"provider":"p1","model_id":"fake-chat;status=429"},{"provider":"p2","model_id":"fake-chat;text=second","priority":1}]' '"retries":0' >/dev/null
r=$(chat r4)
check_eq "retries 0: the 429 is the answer" 429 "$(status_of "$r")"
check_eq "one attempt" "r4:p1:429:backend_error" "$(trace_n r4 1 | attempts)"

# --- no retry once bytes went out ---------------------------------------
deploy mid '[{"provider":"p1","model_id":"fake-chat;chunks=5;reset_after=2"},{"provider":"p2","model_id":"fake-chat;text=never","priority":1}]' >/dev/null
curl -sS -X POST "$B2/_reset" >/dev/null
r=$(chat mid stream)
check_eq "a stream broken after bytes: the client saw its head" 200 "$(status_of "$r")"
check_contains "and the break, in the stream" "upstream_error" "$(body_of "$r")"
check_eq "the other deployment was never asked" 0 "$(count_model "$B2" 'fake-chat;text=never')"
check_eq "one attempt in the trace" 1 "$(trace_n mid 1 | py 'len(v["attempts"])')"

# --- fallback past a dead provider, at the fallback's price -------------
deploy backup '[{"provider":"p2","model_id":"fake-chat;text=backup"}]' '"price_output":"1000"' >/dev/null
deploy primary '[{"provider":"dead","model_id":"fake-chat"}]' '"fallbacks":["backup"],"price_output":"5"' >/dev/null
r=$(chat primary)
check_eq "a dead provider: the fallback answers" 200 "$(status_of "$r")"
check_contains "with its text" "backup" "$(body_of "$r")"
check_contains "under the asked model's name" '"model":"primary"' "$(body_of "$r")"
t=$(trace_n primary 1)
check_eq "the trace: the dead attempt, then the fallback's" \
    "primary:dead:None:upstream_error backup:p2:200:None" "$(printf '%s' "$t" | attempts)"
# "backup" is 1 completion token: at the fallback's $1000 per 1M, $0.001;
# at primary's $5, $0.000005.
check_eq "priced as the fallback" 0.001 "$(printf '%s' "$t" | json cost_usd)"
r=$(rpc model.delete '{"domain":"acme","key":"backup"}')
check_contains "a model that is a fallback is not deleted" "error:-32003:model 'backup' is a fallback of 'primary'" "$r"
tok2=$(ctl -o json token create -d acme --name narrow --model primary | json token)
r=$(http POST /proxy/acme/v1/chat/completions "$tok2" '{"model":"primary","messages":[{"role":"user","content":"hi"}]}')
check_eq "a token that may not use the fallback gets no answer from it" 502 "$(status_of "$r")"
r=$(rpc model.edit '{"domain":"acme","key":"primary","fallbacks":[]}')
check_eq "fallbacks [] clears" "[]" "$(printf '%s' "$r" | json fallbacks)"

# --- the breaker: open, half-open, open again, half-open, closed --------
# What must happen inside a cooldown (4 s) is read with curl and cubectl
# and parsed after: a loaded machine takes a second to start Python.
deploy br '[{"provider":"flaky","model_id":"fake-chat"},{"provider":"p2","model_id":"fake-chat;text=spare","priority":1}]' '"retries":1' >/dev/null
flaky_of() {	# FIELD of br's flaky deployment in the model on stdin
	py '[d["'"$1"'"] for d in v["deployments"] if d["provider"] == "flaky"][0]'
}
breaker() { ctl -o json model show -d acme br | flaky_of breaker; }
metric() { curl -sS "$M_URL" | grep "^cube_deployment_breaker_state{domain=\"acme\",model=\"br\",provider=\"flaky\"" | awk '{print $2}'; }
metric_is() { test "$(metric)" = "$1"; }
check_eq "closed at first" "closed 0" "$(breaker) $(metric)"
for i in 1 2 3; do
	r=$(chat br)
	check_eq "request $i: flaky fails, the spare answers" 200 "$(status_of "$r")"
done
m=$(metric)
r=$(chat br)
show=$(ctl -o json model show -d acme br)
plist=$(ctl -o json provider list -d acme)
check_eq "3 failures open it" "open 2" "$(printf '%s' "$show" | flaky_of breaker) $m"
check_eq "failures shown" 3 "$(printf '%s' "$show" | flaky_of failures)"
check_eq "provider list counts it" 1 \
    "$(printf '%s' "$plist" | py '[p["breakers_open"] for p in v if p["name"] == "flaky"][0]')"
check_eq "open: skipped, the spare answers at once" \
    "200 br:p2:200:None" "$(status_of "$r") $(trace_n br 4 | attempts)"
check "half-open after the cooldown" t_until 10 metric_is 1
r=$(chat br)
m=$(metric)
check_eq "the probe fails: the spare answers; open again" "200 2" "$(status_of "$r") $m"
ctl provider edit -d acme flaky --url "$B1/v1" >/dev/null
check_eq "open still, for twice as long" 2 "$(metric)"
check "half-open again" t_until 20 metric_is 1
r=$(chat br)
check_eq "the probe succeeds on flaky" "200 br:flaky:200:None" \
    "$(status_of "$r") $(trace_n br 6 | attempts)"
check_eq "closed" "closed 0" "$(breaker) $(metric)"
check_contains "retries counted" 'cube_retries_total{domain="acme",model="br"} 4' "$(curl -sS "$M_URL")"
check_contains "outstanding shown" 'cube_deployment_outstanding{domain="acme",model="br",provider="flaky",model_id="fake-chat"} 0' "$(curl -sS "$M_URL")"

check "the agent is still up" kill -0 "$AGENT_PID"
stop_agent
check_eq "agent exits 0" 0 "$?"
check "no sanitizer report" sh -c "! grep -q 'Sanitizer' '$AGENT_LOG'"
t_done
