#!/usr/bin/env bash
# Per-token limits with the real agent and fake backend: requests and
# tokens per minute (429 rate_limit_exceeded with Retry-After), a budget
# that 20 parallel requests cannot overspend, spend that survives a
# restart, budget periods, and the trace's "limit" step.
. "$(dirname "$0")/../lib.sh"

cat >"$T_DIR/agent.conf" <<CONF
trace-flush-ms = 50
CONF
start_backend
start_agent -c "$T_DIR/agent.conf"

ctl domain create acme >/dev/null
ctl provider add -d acme fake --driver openai --url "$BACKEND_URL/v1" >/dev/null
# Answers are "Hello from fake-llm.": 3 completion tokens, at $1000 per 1M
# output tokens $0.003; the prompt is free. The slow model holds its
# answer for a second so parallel requests overlap.
ctl model deploy -d acme --provider fake --name Chat --key chat \
    --model-id fake-chat --price-output 1000 >/dev/null
ctl model deploy -d acme --provider fake --name Slow --key slow \
    --model-id 'fake-chat;first_byte_delay_ms=1000' --price-output 1000 >/dev/null

chat='{"model":"chat","max_tokens":3,"messages":[{"role":"user","content":"one two three four"}]}'
slow='{"model":"slow","max_tokens":3,"messages":[{"role":"user","content":"one two three four"}]}'

# Fixed windows turn on the minute: keep a test's requests inside one.
within_minute() {
	local s
	s=$(date +%S)
	s=${s#0}
	[ "$s" -lt 50 ] || sleep $((61 - s))
}

# --- rpm: the N+1th request of a minute is refused, with Retry-After ------
RPM_TOK=$(ctl -o json token create -d acme --name rpm --rpm 3 | json token)
within_minute
for i in 1 2 3; do
	r=$(http POST /proxy/acme/v1/chat/completions "$RPM_TOK" "$chat")
	check_eq "rpm: request $i of 3 passes" 200 "$(status_of "$r")"
done
r=$(http POST /proxy/acme/v1/chat/completions "$RPM_TOK" "$chat" -D "$T_DIR/h")
check_eq "rpm: the 4th is refused" 429 "$(status_of "$r")"
check_eq "rpm: code" rate_limit_exceeded "$(body_of "$r" | json error.code)"
retry=$(tr -d '\r' <"$T_DIR/h" | sed -n 's/^[Rr]etry-[Aa]fter: //p')
check "rpm: Retry-After is the seconds to the next minute ($retry)" \
    test -n "$retry" -a "${retry:-0}" -ge 1 -a "${retry:-99}" -le 60
# Another token of the same domain is not affected.
FREE_TOK=$(ctl -o json token create -d acme --name free | json token)
r=$(http POST /proxy/acme/v1/chat/completions "$FREE_TOK" "$chat")
check_eq "a token without limits still passes" 200 "$(status_of "$r")"

# The refusal's trace says step "limit".
for ((i = 0; i < 60; i++)); do
	t=$(ctl -o json logs -d acme -n 10 | python3 -c 'import json,sys
print(sum(1 for t in json.load(sys.stdin) if t.get("rejected_step") == "limit" and t.get("status") == 429))')
	[ "$t" -ge 1 ] && break
	sleep 0.05
done
check_eq "the refused request's trace names step limit" 1 "$t"

# --- tpm: tokens count when a request ends --------------------------------
# fake-llm's usage: 4 prompt + 3 completion = 7 tokens a request.
TPM_TOK=$(ctl -o json token create -d acme --name tpm --tpm 10 | json token)
within_minute
r=$(http POST /proxy/acme/v1/chat/completions "$TPM_TOK" "$chat")
check_eq "tpm: 7 tokens of 10 pass" 200 "$(status_of "$r")"
r=$(http POST /proxy/acme/v1/chat/completions "$TPM_TOK" "$chat")
check_eq "tpm: under 10 still passes (14 once it ends)" 200 "$(status_of "$r")"
r=$(http POST /proxy/acme/v1/chat/completions "$TPM_TOK" "$chat" -D "$T_DIR/h")
check_eq "tpm: over the minute's tokens, refused" 429 "$(status_of "$r")"
check_eq "tpm: code" rate_limit_exceeded "$(body_of "$r" | json error.code)"
check_contains "tpm: with Retry-After" "etry-After" "$(cat "$T_DIR/h")"

# --- budget: 20 parallel requests against a budget that fits two -----------
BUD_TOK=$(ctl -o json token create -d acme --name budget --budget 0.006 | json token)
BUD_ID=$(ctl -o json token list -d acme | python3 -c 'import json,sys
print([t["id"] for t in json.load(sys.stdin) if t["name"] == "budget"][0])')
pids=()
for i in $(seq 1 20); do
	http POST /proxy/acme/v1/chat/completions "$BUD_TOK" "$slow" \
	    -D "$T_DIR/h$i" >"$T_DIR/r$i" &
	pids+=($!)
done
wait "${pids[@]}"
ok200=0 over=0 other=""
for i in $(seq 1 20); do
	r=$(cat "$T_DIR/r$i")
	case $(status_of "$r") in
	200) ok200=$((ok200 + 1)) ;;
	429) [ "$(body_of "$r" | json error.code)" = budget_exceeded ] &&
	    over=$((over + 1)) ;;
	*) other="$other $(status_of "$r")" ;;
	esac
done
check_eq "budget: two of 20 parallel requests pass" 2 "$ok200"
check_eq "budget: the other 18 are budget_exceeded" 18 "$over"
check_eq "budget: no Retry-After without a period (waiting does not help)" \
    "" "$(grep -il '^retry-after' "$T_DIR"/h[0-9]*)"
spent() {
	ctl -o json token list -d acme | python3 -c 'import json,sys
print([t["spent_usd"] for t in json.load(sys.stdin) if t["id"] == sys.argv[1]][0])' "$1"
}
check_eq "budget: token list shows the spend" 0.006 "$(spent "$BUD_ID")"
check_contains "budget: the table shows SPENT" SPENT "$(ctl token list -d acme)"

# --- the spend survives a restart -----------------------------------------
stop_agent
start_agent -c "$T_DIR/agent.conf"
check_eq "restart: the spend is read back" 0.006 "$(spent "$BUD_ID")"
r=$(http POST /proxy/acme/v1/chat/completions "$BUD_TOK" "$chat")
check_eq "restart: the spent budget still refuses" 429 "$(status_of "$r")"
check_eq "restart: code" budget_exceeded "$(body_of "$r" | json error.code)"

# --- a budget period: Retry-After until the next UTC day ------------------
DAY_TOK=$(ctl -o json token create -d acme --name daily --budget 0.003 \
    --budget-period day | json token)
check_eq "period: shown in token list" day "$(ctl -o json token list -d acme |
    python3 -c 'import json,sys
print([t["budget_period"] for t in json.load(sys.stdin) if t["name"] == "daily"][0])')"
r=$(http POST /proxy/acme/v1/chat/completions "$DAY_TOK" "$chat")
check_eq "period: the first request fits" 200 "$(status_of "$r")"
r=$(http POST /proxy/acme/v1/chat/completions "$DAY_TOK" "$chat" -D "$T_DIR/h")
check_eq "period: the second does not" 429 "$(status_of "$r")"
retry=$(tr -d '\r' <"$T_DIR/h" | sed -n 's/^[Rr]etry-[Aa]fter: //p')
now=$(date -u +%s)
left=$((86400 - now % 86400))
check "period: Retry-After is the seconds to midnight UTC ($retry, $left)" \
    test "${retry:-0}" -ge $((left - 1)) -a "${retry:-0}" -le $((left + 1))
check_fails "period: needs a budget" ctl token create -d acme --budget-period week
check_fails "period: only day, week, month or none" \
    ctl token create -d acme --budget 1 --budget-period year

t_done
