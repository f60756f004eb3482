#!/usr/bin/env bash
# Upgrades: a database of every earlier schema version with data in it
# (tests/fixtures/schema/vN.sql, made by tests/tools/schema-fixture) is
# migrated by the current agent, and everything reads back the same
# through cubectl; its sealed provider keys unseal (fake-llm sees them),
# its tokens authenticate and their limits and spend hold. A migration
# that fails (data a later step rejects, a file it cannot grow, a file it
# cannot write) exits 1 naming the step and leaves the file byte for byte
# as it was. Each fixture's schema must still be what migrations 1..N of
# agent/store.c make: a shipped migration edited fails here.
. "$(dirname "$0")/../lib.sh"

FIX="$CUBE_ROOT/tests/fixtures/schema"
PY="$CUBE_ROOT/tests/tools/schema-fixture.py"
command -v sqlite3 >/dev/null 2>&1 ||
    { echo "# SKIP sqlite3 is not installed (scripts/install-deps)"; exit 0; }
current=$(python3 "$PY" count)
cat >"$T_DIR/agent.conf" <<CONF
trace-flush-ms = 50
CONF
start_backend

# pick FILE EXPR: EXPR (Python) of the JSON in FILE as d.
pick() {
	python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$1" "$2"
}
# SQL on a fixture database: one line, fields separated by spaces.
q() { sqlite3 -separator ' ' "$1" "$2"; }
load() {	# VERSION DIR: the fixture in DIR/cube.db with the test-only keys
	rm -rf "$2"
	mkdir -p "$2"
	chmod 700 "$2"
	cp "$FIX"/keys/*.key "$2/"
	chmod 600 "$2"/*.key
	sed "s|http://fake-llm.invalid|$BACKEND_URL|g" "$FIX/v$1.sql" |
	    sqlite3 "$2/cube.db"
}
chat() { printf '{"model":"chat","messages":[{"role":"user","content":"%s"}]}' "$1"; }
# A reply's status, and its error code when it has one: "404 model_not_found".
code_of() {
	printf '%s' "$1" | python3 -c 'import json,sys
body, status = sys.stdin.read().rsplit("\n", 1)
try:
    code = json.loads(body)["error"]["code"]
except Exception:
    code = None
print(status if code is None else status + " " + code)'
}
# Fixed windows turn on the minute: keep an rpm test inside one.
within_minute() {
	local s
	s=$(date +%S)
	s=${s#0}
	[ "$s" -lt 50 ] || sleep $((61 - s))
}
# A start that must fail: its exit status; its log in $T_DIR/refused.log.
start_refused() {	# DATA_DIR [wrapper...]
	local data=$1 rc=0
	shift
	timeout 60 "$@" "$CUBE_BIN/cube-agent" --tee none \
	    --listen 127.0.0.1:0 --data "$data" \
	    --admin-socket "$T_DIR/refused.sock" >"$T_DIR/refused.log" 2>&1 ||
	    rc=$?
	echo "$rc"
}

check_eq "the fixtures cover every version before this one" \
    "$(seq 1 $((current - 1)) | tr '\n' ' ')" \
    "$(ls "$FIX" | sed -n 's/^v\([0-9]*\)\.sql$/\1/p' | sort -n | tr '\n' ' ')"

for ((v = 1; v < current; v++)); do
	p="v$v:"
	[ -f "$FIX/v$v.sql" ] || { not_ok "$p fixture v$v.sql exists"; continue; }
	out=$(python3 "$PY" check "$FIX/v$v.sql" "$v" 2>&1)
	check_eq "$p its schema is what migrations 1..$v make today" "" "$out"
	AGENT_DATA="$T_DIR/agent-data"
	load "$v" "$AGENT_DATA"
	db="$AGENT_DATA/cube.db"
	# What the file holds, read before the agent touches it.
	acme=$(q "$db" "SELECT id FROM domains WHERE name = 'acme'")
	fp=$(q "$db" "SELECT fingerprint FROM providers WHERE domain_id = '$acme' AND name = 'fake'")
	naudit=0 ntraces=0 usage="" capped_spent=0
	[ "$v" -lt 2 ] || naudit=$(q "$db" "SELECT count(*) FROM audit")
	if [ "$v" -ge 4 ]; then
		ntraces=$(q "$db" "SELECT count(*) FROM traces")
		usage=$(q "$db" "SELECT token_id, sum(requests), sum(prompt_tokens),
		    sum(completion_tokens), sum(cost) FROM usage_hourly
		    WHERE domain_id = '$acme' GROUP BY token_id ORDER BY token_id" |
		    tr '\n' '|')
		capped_spent=$(q "$db" "SELECT sum(cost) FROM usage_hourly WHERE token_id = 'tok_00000000000000c2'")
	fi
	[ "$v" -lt 8 ] || reqid=$(q "$db" "SELECT request_id FROM traces WHERE guardrails IS NOT NULL AND guardrails != '[]'")

	start_agent --tee none -c "$T_DIR/agent.conf"
	check_eq "$p the agent logs the migration once, from $v to $current" \
	    "schema migrated from version $v to $current" \
	    "$(grep -o 'schema migrated.*' "$AGENT_LOG")"
	check_eq "$p the file is at version $current, its keys hold" "$current" \
	    "$(q "$db" 'PRAGMA user_version; PRAGMA foreign_key_check;')"

	ctl -o json domain list >"$T_DIR/d.json"
	check_eq "$p domains" \
	    "acme True 3650 | beta False 3650" \
	    "$(pick "$T_DIR/d.json" '" | ".join("%s %s %s" % (x["name"], x["log_content"], x["trace_retention_days"]) for x in d)')"
	cors="[]"
	[ "$v" -lt 10 ] || cors="['https://app.example.com']"
	check_eq "$p acme's CORS origins" "$cors" \
	    "$(pick "$T_DIR/d.json" '[x for x in d if x["name"] == "acme"][0]["cors_origins"]')"

	ctl -o json provider list -d acme >"$T_DIR/p.json"
	check_eq "$p acme's providers, the key's fingerprint" \
	    "fake openai $BACKEND_URL/v1 sealed $fp False | local ollama $BACKEND_URL none None False" \
	    "$(pick "$T_DIR/p.json" '" | ".join("%s %s %s %s %s %s" % (x["name"], x["driver"], x["url"], x["credential"], x["fingerprint"], x["responses_api"]) for x in d)')"

	gin="['pii', 'words']"
	[ "$v" -ge 3 ] || gin="[]"
	ctl -o json model list -d acme >"$T_DIR/m.json"
	check_eq "$p acme's models: prices, defaults, guardrails, status" \
	    "chat Chat fake-chat llm 2.5 10 1.25 active 0.5 300 Be brief. $gin the chat model | embed Embed fake-embed embedding 0.1 0 0 active None None None []  | local Local fake-chat llm 0 0 0 inactive None None None [] " \
	    "$(pick "$T_DIR/m.json" '" | ".join("%s %s %s %s %s %s %s %s %s %s %s %s %s" % (x["key"], x["name"], x["model_id"], x["category"], x["pricing"]["input"], x["pricing"]["output"], x["pricing"]["cached"], x["status"], x["settings"]["temperature"], x["settings"]["max_tokens"], x["settings"]["system_prompt"], x["guardrails"]["input"], x["description"]) for x in d)')"
	check_eq "$p each model's one deployment, tools" \
	    "chat fake/fake-chat False | embed fake/fake-embed False | local local/fake-chat True" \
	    "$(pick "$T_DIR/m.json" '" | ".join("%s %s %s" % (x["key"], ",".join("%s/%s" % (y["provider"], y["model_id"]) for y in x["deployments"]), x["capabilities"]["tools"]) for x in d)')"
	check_eq "$p beta's model and its prices" "chat fake 1 2" \
	    "$(ctl -o json model list -d beta | python3 -c 'import json,sys
print(" | ".join("%s %s %s %s" % (x["key"], x["provider"], x["pricing"]["input"], x["pricing"]["output"]) for x in json.load(sys.stdin)))')"

	want="[]"
	[ "$v" -lt 3 ] || want="pii pii redact ['email'] None mask e-mail addresses | words keywords block None ['forbidden'] "
	check_eq "$p acme's guardrails" "$want" \
	    "$(ctl -o json guardrail list -d acme | python3 -c 'import json,sys
d = json.load(sys.stdin)
print(" | ".join("%s %s %s %s %s %s" % (x["key"], x["kind"], x["action"], x["types"], x["words"], x["description"]) for x in d) if d else "[]")')"

	period=None
	[ "$v" -lt 5 ] || period=month
	ctl -o json token list -d acme >"$T_DIR/t.json"
	check_eq "$p acme's tokens: limits, budgets, models, status" \
	    "tok_00000000000000c1 ci 1000 100000 100 $period None active | tok_00000000000000c2 capped None None 0.00007 None None active | tok_00000000000000c3 limited 2 None None None ['chat'] active | tok_00000000000000c4 revoked None None None None None revoked" \
	    "$(pick "$T_DIR/t.json" '" | ".join("%s %s %s %s %s %s %s %s" % (x["id"], x["name"], x["rpm"], x["tpm"], x["budget"], x["budget_period"], x["models"], x["status"]) for x in d)')"
	check_eq "$p the capped token's spend (no period: all of its usage)" \
	    "$capped_spent" \
	    "$(pick "$T_DIR/t.json" 'int(__import__("decimal").Decimal([x for x in d if x["name"] == "capped"][0]["spent_usd"]) * 10**9)')"
	check_eq "$p beta's token" "beta None 5000" \
	    "$(ctl -o json token list -d beta | python3 -c 'import json,sys
print(" | ".join("%s %s %s" % (x["name"], x["rpm"], x["tpm"]) for x in json.load(sys.stdin)))')"

	if [ "$v" -ge 4 ]; then
		check_eq "$p usage by token: requests, tokens, cost" \
		    "4 1" "$(printf '%s' "$usage" | tr '|' '\n' | awk '{printf "%s%s", s, $2; s=" "}')"
		check_eq "$p usage reads back what the file holds" "$usage" \
		    "$(ctl -o json usage -d acme --by token | python3 -c 'import json,sys, decimal
print("".join("%s %s %s %s %s|" % (x["token"], x["requests"], x["prompt_tokens"], x["completion_tokens"], int(decimal.Decimal(x["cost_usd"]) * 10**9)) for x in json.load(sys.stdin)))')"
	else
		check_eq "$p no usage before version 4" "[]" \
		    "$(ctl -o json usage -d acme --by token | tr -d ' \n\t')"
	fi
	check_eq "$p every trace reads back" "$ntraces" \
	    "$(ctl -o json logs -n 100 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
	if [ "$v" -ge 8 ]; then
		check_eq "$p a trace found by its x-request-id, with what the guardrails found" \
		    "pii email redact" \
		    "$(ctl -o json logs --request-id "$reqid" | python3 -c 'import json,sys
print(" ".join("%s %s %s" % (g["key"], g["type"], g["action"]) for t in json.load(sys.stdin) for g in t["guardrails"]))')"
	fi
	check_eq "$p the audit log" "$naudit" \
	    "$(ctl -o json audit -n 100 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"

	# Requests: the sealed keys unseal, the tokens authenticate.
	r=$(http POST /proxy/acme/v1/chat/completions "$(fixture_secret ci)" "$(chat hello)" -D "$T_DIR/h")
	check_eq "$p a request with the fixture's token" 200 "$(status_of "$r")"
	check_eq "$p the backend got acme's unsealed key" \
	    "Bearer sk-fixture-acme-test-only" "$(backend_last_auth)"
	r=$(http POST /proxy/beta/v1/chat/completions "$(fixture_secret beta)" "$(chat hello)")
	check_eq "$p beta's token and key" "200 Bearer sk-fixture-beta-test-only" \
	    "$(status_of "$r") $(backend_last_auth)"
	id=$(tr -d '\r' <"$T_DIR/h" | sed -n 's/^[Xx]-[Rr]equest-[Ii][Dd]: //p')
	traced() { [ "$(ctl -o json logs --request-id "$id" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 1 ]; }
	check "$p the new request is traced in the migrated tables" t_until 10 traced
	r=$(http POST /proxy/acme/v1/chat/completions "$(fixture_secret revoked)" "$(chat hello)")
	check_eq "$p the revoked token is refused" 401 "$(status_of "$r")"
	r=$(http POST /proxy/acme/v1/chat/completions "$(fixture_secret beta)" "$(chat hello)")
	check_eq "$p beta's token is not acme's" "404 domain_not_found" \
	    "$(code_of "$r")"
	want=200
	[ "$v" -lt 3 ] || want="400 guardrail_violation"
	r=$(http POST /proxy/acme/v1/chat/completions "$(fixture_secret ci)" "$(chat 'a forbidden word')")
	check_eq "$p the keywords guardrail blocks (from version 3)" "$want" \
	    "$(code_of "$r")"
	want=200
	[ "$v" -lt 4 ] || want="429 budget_exceeded"
	r=$(http POST /proxy/acme/v1/chat/completions "$(fixture_secret capped)" \
	    '{"model":"chat","max_tokens":3,"messages":[{"role":"user","content":"four five"}]}')
	check_eq "$p the capped token's spent budget holds (usage from version 4)" \
	    "$want" "$(code_of "$r")"
	r=$(http POST /proxy/acme/v1/embeddings "$(fixture_secret limited)" '{"model":"embed","input":"x"}')
	check_eq "$p the limited token may use chat only" "404 model_not_found" \
	    "$(code_of "$r")"
	# rpm is in every version's tokens table: once is enough (the wait
	# for a minute's window to have room is up to 11 s).
	if [ "$v" -eq 1 ]; then
		within_minute
		codes=""
		for _ in 1 2 3; do
			r=$(http POST /proxy/acme/v1/chat/completions "$(fixture_secret limited)" "$(chat hi)")
			codes="$codes $(status_of "$r")"
		done
		check_eq "$p the limited token's 2 requests a minute" " 200 200 429" "$codes"
	fi
	stop_agent
	check_eq "$p the agent stops cleanly" 0 "$?"
done

# --- a failed migration leaves the file as it was -------------------------
# A models row naming a provider that is not there (written with foreign
# keys off): migration 15 copies it into model_deployments, whose foreign
# key refuses it. From version 10 the steps 11..15 are one transaction.
data="$T_DIR/fail"
load 10 "$data"
q "$data/cube.db" "INSERT INTO models (domain_id, key, name, model_id,
    provider, created_at, updated_at) SELECT id, 'orphan', 'Orphan',
    'fake-chat', 'gone', 0, 0 FROM domains WHERE name = 'acme';
    PRAGMA journal_mode = WAL;" >/dev/null
sum=$(sha256sum <"$data/cube.db")
check_eq "data a later step rejects: the agent exits 1" 1 "$(start_refused "$data")"
check_contains "it names the step, the reason and the version kept" \
    "cube.db: migration to version 15 failed: FOREIGN KEY constraint failed; the file is left at version 10" \
    "$(cat "$T_DIR/refused.log")"
check_not_contains "it does not abort" "AddressSanitizer" "$(cat "$T_DIR/refused.log")"
check_eq "the file is byte for byte as it was" "$sum" "$(sha256sum <"$data/cube.db")"
check_eq "nothing of it committed: version 10, the row, no version-11 column" \
    "10 1 0 ok" \
    "$(q "$data/cube.db" "PRAGMA user_version;
        SELECT count(*) FROM models WHERE key = 'orphan';
        SELECT count(*) FROM pragma_table_info('providers')
        WHERE name = 'responses_api'; PRAGMA integrity_check;" |
        tr '\n' ' ' | sed 's/ $//')"
check_eq "and sqlite3 reading it changed nothing either" "$sum" \
    "$(sha256sum <"$data/cube.db")"

# The file cannot grow (a full disk, here a file size limit: writes past
# it fail with EFBIG, SIGXFSZ ignored) while 3000 models' deployments are
# written: the same.
load 13 "$data"
q "$data/cube.db" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1
    FROM n WHERE i < 3000) INSERT INTO models (domain_id, key, name,
    model_id, provider, created_at, updated_at) SELECT d.id, 'bulk-' || i,
    'Bulk', 'fake-chat', 'fake', 0, 0 FROM n, domains d WHERE d.name = 'acme';
    PRAGMA journal_mode = WAL;" >/dev/null
sum=$(sha256sum <"$data/cube.db")
check_eq "no room to grow: the agent exits 1" 1 \
    "$(start_refused "$data" bash -c 'trap "" XFSZ; ulimit -f 100; exec "$@"' limit)"
check_contains "it says why" \
    "cube.db: migration to version 15 failed: disk I/O error; the file is left at version 13" \
    "$(cat "$T_DIR/refused.log")"
check_eq "the file is byte for byte as it was" "$sum" "$(sha256sum <"$data/cube.db")"
check_eq "at version 13, whole" "13 ok" \
    "$(q "$data/cube.db" 'PRAGMA user_version; PRAGMA integrity_check;' | tr '\n' ' ' | sed 's/ $//')"

# A file the agent's user may not write (as root, the agent runs as
# nobody: root writes any file).
as_user=()
[ "$(id -u)" -ne 0 ] || as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
load 13 "$data"
q "$data/cube.db" "PRAGMA journal_mode = WAL;" >/dev/null
chmod 755 "$T_DIR"
if [ "$(id -u)" -eq 0 ]; then
	chown -R 65534:65534 "$data"
	chown 0:0 "$data/cube.db"
fi
chmod 444 "$data/cube.db"
sum=$(sha256sum <"$data/cube.db")
check_eq "a read-only file: the agent exits 1" 1 \
    "$(start_refused "$data" "${as_user[@]}")"
check_contains "it says so" \
    "cube.db: migration to version 14 failed: attempt to write a readonly database; the file is left at version 13" \
    "$(cat "$T_DIR/refused.log")"
check_eq "the file is as it was" "$sum" "$(sha256sum <"$data/cube.db")"

t_done
