#!/usr/bin/env bash
# cubectl backup and cube-agent --restore end to end: a backup taken while
# requests run (traces being written) finishes in time, passes PRAGMA
# integrity_check, has the schema version and mode 0600; restored into a
# data directory with the same keys everything reads back the same and
# tokens work; with other keys the restore names the providers whose keys
# must be sealed again, which shows in provider list, and cubectl apply
# reseals them; restores that must not happen are refused, leaving the
# database as it was.
. "$(dirname "$0")/../lib.sh"

command -v sqlite3 >/dev/null || { echo "# SKIP: no sqlite3 (scripts/install-deps installs it)"; exit 0; }
SCHEMA=$(sed -n 's/^#define STORE_SCHEMA_VERSION[[:space:]]*\([0-9]*\).*/\1/p' \
    "$CUBE_ROOT/agent/store.h")

cat >"$T_DIR/agent.conf" <<CONF
trace-flush-ms = 20
CONF
start_backend
start_agent -c "$T_DIR/agent.conf"
KEY_A="sk-bak-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s\n' "$KEY_A" >"$T_DIR/key"

ctl domain create acme >/dev/null
ctl domain edit acme --log-content on >/dev/null
ctl provider add -d acme keyed --driver openai --url "$BACKEND_URL/v1" \
    --api-key-file "$T_DIR/key" >/dev/null
ctl provider add -d acme open --driver openai --url "$BACKEND_URL/v1" >/dev/null
ctl guardrail create -d acme words --kind keywords --action block --words 'secret plan' >/dev/null
ctl model deploy -d acme --provider keyed --name Chat --key chat --model-id fake-chat \
    --price-output 1000 --guard-in words >/dev/null
ctl model deploy -d acme --provider open --name Other --key other --model-id fake-chat >/dev/null
TOKEN=$(ctl -o json token create -d acme --name ci --rpm 100000 --budget 50 | json token)
chat='{"model":"chat","max_tokens":3,"messages":[{"role":"user","content":"hello"}]}'

chat_status() {	# [TOKEN [MODEL]]: the HTTP status of one chat request
	curl -sS -m 20 -o /dev/null -w '%{http_code}' -X POST \
	    -H "Authorization: Bearer ${1:-$TOKEN}" -H 'Content-Type: application/json' \
	    --data "{\"model\":\"${2:-chat}\",\"max_tokens\":3,\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}" \
	    "$AGENT_URL/proxy/acme/v1/chat/completions"
}
traces() { ctl -o json usage -d acme --by model | python3 -c 'import json,sys; print(sum(r["requests"] for r in json.load(sys.stdin)))'; }

check_eq "a request before the backup" 200 "$(chat_status)"

# --- a backup while requests run --------------------------------------------
( while [ ! -e "$T_DIR/stop-load" ]; do chat_status >/dev/null; done ) &
LOAD_PID=$!
T_PIDS+=("$LOAD_PID")
traces_over() { [ "$(traces)" -gt "$1" ]; }
check "requests are being traced before the backup" t_until 20 traces_over 20
before=$(traces)
start=$SECONDS
out=$(timeout 120 "$CUBE_BIN/cubectl" -s "$AGENT_SOCK" backup --to "$T_DIR/load.db" 2>&1)
rc=$?
took=$((SECONDS - start))
check_eq "backup under load exits 0" 0 "$rc"
check "and finishes within 60 s (took ${took}s)" [ "$took" -lt 60 ]
check "traces went on being written meanwhile" t_until 20 traces_over $((before + 10))
touch "$T_DIR/stop-load"
wait "$LOAD_PID"
check_eq "integrity_check of the copy" ok "$(sqlite3 "$T_DIR/load.db" 'PRAGMA integrity_check')"
check_eq "its schema version" "$SCHEMA" "$(sqlite3 "$T_DIR/load.db" 'PRAGMA user_version')"
check_eq "its mode" 600 "$(stat -c %a "$T_DIR/load.db")"
check_eq "a plain database file, no WAL beside it" delete \
    "$(sqlite3 "$T_DIR/load.db" 'PRAGMA journal_mode')"
sha=$(sha256sum "$T_DIR/load.db" | cut -d' ' -f1)
size=$(stat -c %s "$T_DIR/load.db")
check_eq "cubectl prints size, schema version and the file's sha256" \
    "backup          $T_DIR/load.db
size            $size bytes
schema version  $SCHEMA
sha256          $sha" "$out"
audit_entry() {	# the newest backup.begin entry: method target user, changes
	"$CUBE_BIN/cubectl" -s "$AGENT_SOCK" -o json audit -n 20 | python3 -c '
import json, sys
e = [a for a in json.load(sys.stdin) if a.get("method") == "backup.begin"][-1]
c = {x["field"]: x["new"] for x in e["changes"]}
print(e["method"], e["target"], e["user"], e.get("domain"), c.get("sha256"), c.get("size"))'
}
check_eq "the audit log names the copy: who took it, its sha256 and size" \
    "backup.begin database $(id -un) None $sha $size" "$(audit_entry)"
# A copy the audit log cannot record is not handed out.
sqlite3 "$AGENT_DATA/cube.db" "CREATE TRIGGER t_no_audit BEFORE INSERT ON audit
    BEGIN SELECT RAISE(FAIL, 'audit refused by the test'); END;"
out=$("$CUBE_BIN/cubectl" -s "$AGENT_SOCK" backup --to "$T_DIR/unaudited.db" 2>&1)
rc=$?
sqlite3 "$AGENT_DATA/cube.db" "DROP TRIGGER t_no_audit"
check_eq "a backup the audit log cannot record fails" 1 "$rc"
check_contains "and says why" "the audit log could not record it" "$out"
check "and leaves no file" [ ! -e "$T_DIR/unaudited.db" ]
check "the copy holds the traces of before the backup" \
    [ "$(sqlite3 "$T_DIR/load.db" 'SELECT count(*) FROM traces')" -ge "$before" ]
check_eq "the agent keeps no copy in its data directory" "" \
    "$(ls "$AGENT_DATA" | grep -E 'backup|restore')"

# A peer that hangs up without backup.end: its copy goes at once.
id=$(python3 - "$AGENT_SOCK" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rwb")
f.write(b'{"jsonrpc":"2.0","id":1,"method":"backup.begin"}\n')
f.flush()
print(json.loads(f.readline())["result"]["id"])
s.close()
PY
)
check_eq "backup.begin gives a 32-hex id" 32 "${#id}"
check "a peer that hangs up loses its copy" \
    t_until 10 grep -q "backup ${id:0:8}: removed (its connection closed)" "$AGENT_LOG"

# --- cubectl backup's own refusals ---------------------------------------------
out=$(ctl backup --to "$T_DIR/load.db" 2>&1)
check_eq "an existing FILE is refused" 1 "$?"
check_contains "saying how to replace it" "load.db exists; --force replaces it" "$out"
check_eq "and left as it was" "$sha" "$(sha256sum "$T_DIR/load.db" | cut -d' ' -f1)"
out=$(ctl backup --to "$T_DIR/no-such-dir/x.db" 2>&1)
check_eq "a target in a missing directory is refused" 1 "$?"
check_contains "saying why" "x.db: cannot write there: No such file or directory" "$out"
mkdir "$T_DIR/small"
if mount -t tmpfs -o size=64k tmpfs "$T_DIR/small" 2>/dev/null; then
	out=$(ctl backup --to "$T_DIR/small/x.db" 2>&1)
	check_eq "a full disk (ENOSPC) is an error, exit 1" 1 "$?"
	check_contains "saying so" "No space left on device" "$out"
	check_eq "and leaves no temp file" "" "$(ls -A "$T_DIR/small")"
	umount "$T_DIR/small"
else
	echo "# SKIP: ENOSPC: cannot mount a small tmpfs here"
fi

# --- a quiet backup, and what the agent shows -------------------------------------
ctl -o json backup --force --to "$T_DIR/b.db" >"$T_DIR/b.json"
check_eq "--force replaces, -o json says it" "$T_DIR/b.db $SCHEMA $(sha256sum "$T_DIR/b.db" | cut -d' ' -f1)" \
    "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["file"], d["schema_version"], d["sha256"])' "$T_DIR/b.json")"
snapshot() {	# the agent's state, as scripts read it
	ctl -o json domain list
	ctl -o json provider list -d acme
	ctl -o json model list -d acme
	ctl -o json guardrail list -d acme
	ctl -o json token list -d acme
	ctl -o json usage -d acme --by model
	ctl -o json usage -d acme --by token
	ctl -o json logs -d acme -n 1000
}
snapshot >"$T_DIR/before.json"
stop_agent; check_eq "the agent exits 0" 0 "$?"
ORIG_DATA=$AGENT_DATA

# --- restore with the same keys ------------------------------------------------
restore() {	# DATA_DIR FILE
	"$CUBE_BIN/cube-agent" --data "$1" --admin-socket "$T_DIR/run/agent.sock" \
	    --restore "$2" 2>"$T_DIR/restore.err"
}
mkdir -m 700 "$T_DIR/same"
cp -p "$ORIG_DATA"/*.key "$T_DIR/same/"
out=$(restore "$T_DIR/same" "$T_DIR/b.db")
check_eq "restore into a fresh directory with the same keys exits 0" 0 "$?"
check_eq "it says what it did" "restored $T_DIR/b.db: schema version $SCHEMA, $(stat -c %s "$T_DIR/b.db") bytes, sha256 $(sha256sum "$T_DIR/b.db" | cut -d' ' -f1)
into $T_DIR/same/cube.db" "$out"
check_eq "the restored database is the backup" "$(sha256sum <"$T_DIR/b.db")" \
    "$(sha256sum <"$T_DIR/same/cube.db")"
start_agent_in "$T_DIR/same" -c "$T_DIR/agent.conf"
snapshot >"$T_DIR/after.json"
check_eq "domains, providers, models, guardrails, tokens, usage and traces read back the same" \
    "" "$(diff "$T_DIR/before.json" "$T_DIR/after.json")"
check_eq "a token of the backup still works" 200 "$(chat_status)"
check_eq "with the provider's key" "Bearer $KEY_A" "$(backend_last_auth)"
stop_agent; check_eq "the agent exits 0" 0 "$?"

# --- restore over an existing database, with other keys ----------------------
kept=$(sha256sum <"$T_DIR/same/cube.db")
restore "$T_DIR/same" "$T_DIR/load.db" >/dev/null
check_eq "restore over a database exits 0" 0 "$?"
check_eq "the replaced one is kept, whole" "$kept" \
    "$(sha256sum <"$T_DIR/same/cube.db.before-restore")"
check_eq "and the backup taken under load is in its place" "$(sha256sum <"$T_DIR/load.db")" \
    "$(sha256sum <"$T_DIR/same/cube.db")"
mkdir -m 700 "$T_DIR/fresh"
out=$(restore "$T_DIR/fresh" "$T_DIR/b.db")
check_eq "restore into a directory without keys exits 0 (new keys)" 0 "$?"
check_contains "naming the provider whose key must be sealed again" \
    "acme/keyed: key sealed on another host; seal it again with cubectl apply (api_key_file/api_key_env) or cubectl provider edit -d acme keyed --api-key-file FILE" "$out"
check_not_contains "and only that one" "acme/open" "$out"
check_contains "saying what becomes of tokens" "API tokens are checked with $T_DIR/fresh/token.key" "$out"
# Another host's seal and identity keys, this one's token.key: tokens
# still authenticate, the sealed provider key does not open (though its
# fingerprint, keyed with token.key, still matches).
mkdir -m 700 "$T_DIR/other"
cp -p "$T_DIR/fresh/seal.key" "$T_DIR/fresh/identity.key" "$ORIG_DATA/token.key" "$T_DIR/other/"
out=$(restore "$T_DIR/other" "$T_DIR/b.db")
check_eq "restore with another seal key exits 0" 0 "$?"
check_contains "naming the provider" "acme/keyed: key sealed on another host" "$out"
start_agent_in "$T_DIR/other" -c "$T_DIR/agent.conf"
# The restore's words, or (after a health check) the agent's own.
check_contains "provider list: errored, saying why" \
    "errored: " \
    "$(ctl -o json provider list -d acme | python3 -c 'import json,sys; p=[x for x in json.load(sys.stdin) if x["name"]=="keyed"][0]; print(p["status"] + ":", p["error"])')"
check_contains "and how to seal it again" \
    "sealed on another host; seal it again with cubectl apply (api_key_file/api_key_env) or cubectl provider edit --api-key-file" \
    "$(ctl -o json provider list -d acme | python3 -c 'import json,sys; p=[x for x in json.load(sys.stdin) if x["name"]=="keyed"][0]; print(p["status"] + ":", p["error"])')"
check_contains "the table shows it too" "keyed" "$(ctl provider list -d acme | grep errored)"
check_eq "its model answers 502, not a silent 401 from the backend" 502 "$(chat_status)"
check_eq "the other provider's model works" 200 "$(chat_status "$TOKEN" other)"
cat >"$T_DIR/reseal.json" <<DOC
{"cube_export": 1, "domains": [{"name": "acme", "providers": [
  {"name": "keyed", "driver": "openai", "url": "$BACKEND_URL/v1",
   "api_key_file": "$T_DIR/key"}]}]}
DOC
out=$(ctl apply -f "$T_DIR/reseal.json" 2>&1)
check_eq "cubectl apply with the api_key_file exits 0" 0 "$?"
check_contains "and reseals the key" "changed    provider   acme/keyed" "$out"
check_eq "the provider is active again" "active" \
    "$(ctl -o json provider list -d acme | python3 -c 'import json,sys; print([x for x in json.load(sys.stdin) if x["name"]=="keyed"][0]["status"])')"
check_eq "and serves" 200 "$(chat_status)"
check_eq "with the key" "Bearer $KEY_A" "$(backend_last_auth)"
check_contains "apply again: nothing to change" "nothing to change" "$(ctl apply -f "$T_DIR/reseal.json")"

# --- refusals: nothing changes ---------------------------------------------------------
cur=$(sha256sum <"$T_DIR/other/cube.db")
refused() {	# description, expected message, data dir, file
	local out rc
	out=$("$CUBE_BIN/cube-agent" --data "$3" --admin-socket "${SOCK:-$T_DIR/run/agent.sock}" \
	    --restore "$4" 2>&1)
	rc=$?
	check_eq "$1: exit 1" 1 "$rc"
	check_contains "$1: says so" "$2" "$out"
	check_eq "$1: cube.db untouched" "$cur" "$(sha256sum <"$3/cube.db")"
	check_eq "$1: no file left behind" "" "$(ls "$3" | grep -E 'restore-|backup-')"
}
refused "a running agent's data directory" "an agent is running: it answers on $AGENT_SOCK; stop it first" \
    "$T_DIR/other" "$T_DIR/b.db"
SOCK=$T_DIR/elsewhere.sock refused "a database in use (another socket)" "cube.db is in use by another process" \
    "$T_DIR/other" "$T_DIR/b.db"
stop_agent; check_eq "the agent exits 0" 0 "$?"
cur=$(sha256sum <"$T_DIR/other/cube.db")
head -c 4096 /dev/urandom >"$T_DIR/junk"
refused "a file that is not SQLite" "$T_DIR/junk: not an SQLite database" "$T_DIR/other" "$T_DIR/junk"
head -c $(( $(stat -c %s "$T_DIR/b.db") / 2 )) "$T_DIR/b.db" >"$T_DIR/cut.db"
refused "a truncated backup" "$T_DIR/cut.db: truncated" "$T_DIR/other" "$T_DIR/cut.db"
cp "$T_DIR/b.db" "$T_DIR/v99.db"
sqlite3 "$T_DIR/v99.db" 'PRAGMA user_version = 99'
refused "a newer schema" "schema version 99 is newer than this agent's ($SCHEMA)" "$T_DIR/other" "$T_DIR/v99.db"
cp "$T_DIR/b.db" "$T_DIR/bad.db"
# The providers table's root page, its b-tree header overwritten.
root=$(sqlite3 "$T_DIR/bad.db" "SELECT rootpage FROM sqlite_schema WHERE name = 'providers'")
psize=$(sqlite3 "$T_DIR/bad.db" 'PRAGMA page_size')
printf '\377%.0s' $(seq 1 16) | dd of="$T_DIR/bad.db" bs=1 seek=$(((root - 1) * psize)) conv=notrunc 2>/dev/null
refused "a damaged page" "$T_DIR/bad.db: " "$T_DIR/other" "$T_DIR/bad.db"
refused "a missing file" "$T_DIR/none.db: No such file or directory" "$T_DIR/other" "$T_DIR/none.db"
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
	mkdir -m 700 "$T_DIR/theirs"
	cp -p "$T_DIR/other/cube.db" "$T_DIR/theirs/"
	chown -R nobody "$T_DIR/theirs"
	refused "another user's data directory" "$T_DIR/theirs belongs to nobody (uid $(id -u nobody)): run the restore as the agent's user (sudo -u nobody cube-agent ... --restore FILE)" \
	    "$T_DIR/theirs" "$T_DIR/b.db"
else
	echo "# SKIP: another user's data directory: needs root and a user nobody"
fi

# --- the agent's disk full: a clear error, and the agent carries on -----------
mkdir "$T_DIR/tiny"
if mount -t tmpfs -o size=2m tmpfs "$T_DIR/tiny" 2>/dev/null; then
	AGENT_SOCK=$T_DIR/run/tiny.sock
	"$CUBE_BIN/cube-agent" --listen 127.0.0.1:0 --data "$T_DIR/tiny/data" \
	    --admin-socket "$AGENT_SOCK" >"$T_DIR/tiny.log" 2>&1 &
	AGENT_PID=$!
	T_PIDS+=("$AGENT_PID")
	t_wait_file "$AGENT_SOCK" 20 || { cat "$T_DIR/tiny.log"; exit 1; }
	ctl domain create acme >/dev/null
	# Fill the disk but for a few KiB, less than a copy of the database.
	dd if=/dev/zero of="$T_DIR/tiny/filler" bs=4k 2>/dev/null
	rm -f "$T_DIR/tiny/filler"
	free=$(( $(stat -f -c '%a * %S' "$T_DIR/tiny" | sed 's/ //g') ))
	dd if=/dev/zero of="$T_DIR/tiny/filler" bs=1k count=$(( free / 1024 - 8 )) 2>/dev/null
	out=$(ctl backup --to "$T_DIR/full.db" 2>&1)
	check_eq "the agent's disk full: backup exits 1" 1 "$?"
	check_contains "saying so" "no space left on the data directory's disk" "$out"
	check_eq "nothing written" "" "$(ls "$T_DIR" | grep -E '^full\.db|cube-backup')"
	check_eq "no copy left in the data directory" "" "$(ls "$T_DIR/tiny/data" | grep backup)"
	check_eq "the agent still answers" acme "$(ctl -o json domain list | json 0.name)"
	rm -f "$T_DIR/tiny/filler"
	ctl backup --to "$T_DIR/full.db" >/dev/null
	check_eq "with room again, the backup works" ok "$(sqlite3 "$T_DIR/full.db" 'PRAGMA integrity_check')"
	stop_agent; check_eq "the agent exits 0" 0 "$?"
	umount "$T_DIR/tiny"
else
	echo "# SKIP: the agent's disk full: cannot mount a small tmpfs here"
fi

t_done
