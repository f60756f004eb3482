#!/usr/bin/env bash
# The bash, zsh and fish completions, loaded into the real shells: they
# offer every noun, verb and flag cubectl's table has (they read it from
# "cubectl __complete", so a new verb or flag must show up here without an
# edit to them), the choices of enum flags, files, and the names of
# domains and models fetched from a running agent.
# serial: asserts each shell completes all of it within 60 s
. "$(dirname "$0")/../lib.sh"
cd "$CUBE_ROOT"
export PATH="$CUBE_BIN:$PATH"

# complete_in SHELL LINE...: set R[LINE] to what SHELL completes at the
# end of each LINE, sorted, space-separated. One shell process per call.
declare -A R
complete_in() {
	local sh=$1 line out block="" i=0
	local -a lines
	shift
	lines=("$@")
	case $sh in
	bash)
		out=$(printf '%s\n' "${lines[@]}" | bash --norc --noprofile -c '
			source completions/cubectl.bash
			while IFS= read -r line; do
				read -ra w <<<"$line"
				[[ $line == *" " ]] && w+=("")
				COMP_WORDS=("${w[@]}")
				COMP_CWORD=$((${#w[@]} - 1))
				COMP_LINE=$line COMP_POINT=${#line}
				COMPREPLY=()
				_cubectl
				printf "%s\n" "${COMPREPLY[@]}"
				echo "<END>"
			done') ;;
	zsh)
		out=$(printf '%s\n' "${lines[@]}" |
		    timeout 120 zsh -f tests/tools/zsh-complete.zsh "$PWD/completions") ;;
	fish)
		out=$(printf '%s\n' "${lines[@]}" | fish -N -c '
			source completions/cubectl.fish
			while read -l line
				complete -C "$line" | string replace -r "\t.*" ""
				echo "<END>"
			end') ;;
	esac
	while IFS= read -r line; do
		if [ "$line" = "<END>" ]; then
			R[${lines[i]}]=$(printf '%s' "$block" | sort -u | xargs)
			block=""
			i=$((i + 1))
		elif [ -n "$line" ]; then
			block+="$line"$'\n'
		fi
	done <<<"$out"
	check_eq "$sh: answered every line" "${#lines[@]}" "$i"
}

# The table, as the completions see it.
spec=$(cubectl __complete)
check "cubectl __complete prints the table" [ -n "$spec" ]
field() { printf '%s\n' "$spec" | awk -F'\t' -v t="$1" -v c="$2" '$1 == t { print $c }'; }
nouns=$(field noun 2 | sort | xargs)
globals=$(printf '%s\n' "$spec" | awk -F'\t' '$1 == "global" { print $4; if ($5 != "-") print $5 }')

start_agent
ctl domain create acme >/dev/null
ctl domain create bravo >/dev/null
ctl provider add -d acme fake --driver openai --url http://127.0.0.1:9/v1 >/dev/null
ctl model deploy -d acme --provider fake --name Chat --key chat --model-id m --force >/dev/null
ctl model deploy -d acme --provider fake --name Llama --key llama3:8b --model-id m --force >/dev/null
printf 'x\n' >"$T_DIR/key-file.txt"

# The lines to complete: nouns, each noun's verbs, each command's flags,
# values, and names from the agent.
lines=("cubectl ")
for noun in $(field noun 2); do
	printf '%s\n' "$spec" | grep -q "^cmd	$noun	-	" || lines+=("cubectl $noun ")
done
cmds=$(printf '%s\n' "$spec" | awk -F'\t' '$1 == "cmd" { print $2 " " $3 }')
while read -r noun verb; do
	[ "$verb" = - ] && verb=""
	lines+=("cubectl $noun ${verb:+$verb }-")
done <<<"$cmds"
S="-s $AGENT_SOCK"
lines+=("cubectl -o " "cubectl provider add --driver "
    "cubectl model deploy --category " "cubectl domain edit acme --log-content "
    "cubectl domain edit acme --jwt-alg "
    "cubectl provider add -d acme x --api-key-file $T_DIR/key-f"
    "cubectl -i $T_DIR/key-f"
    "cubectl $S model show -d " "cubectl $S model show -d acme "
    "cubectl $S model deploy -d acme --provider " "cubectl $S domain delete "
    "cubectl $S domain create " "cubectl -s $T_DIR/absent model show -d ")

for sh in bash zsh fish; do
	if ! command -v "$sh" >/dev/null; then
		echo "# SKIP $sh is not installed (scripts/install-deps installs it)"
		continue
	fi
	R=()
	t0=$(date +%s)
	complete_in "$sh" "${lines[@]}"

	check_eq "$sh: nouns" "$nouns" "${R[cubectl ]-}"
	for noun in $(field noun 2); do
		printf '%s\n' "$spec" | grep -q "^cmd	$noun	-	" && continue
		want=$(printf '%s\n' "$spec" | awk -F'\t' -v n="$noun" \
		    '$1 == "cmd" && $2 == n { print $3 }' | sort | xargs)
		check_eq "$sh: verbs of $noun" "$want" "${R[cubectl $noun ]-}"
	done
	while read -r noun verb; do
		want=$( (printf '%s\n' "$spec" | awk -F'\t' -v n="$noun" -v v="$verb" \
		    '$1 == "flag" && $2 == n && $3 == v { print $4; if ($5 != "-") print $5 }'
		    printf '%s\n' "$globals") | sort -u | xargs)
		[ "$verb" = - ] && verb=""
		check_eq "$sh: flags of $noun${verb:+ $verb}" "$want" \
		    "${R[cubectl $noun ${verb:+$verb }-]-}"
	done <<<"$cmds"

	check_eq "$sh: -o" "json table" "${R[cubectl -o ]-}"
	check_eq "$sh: --driver" "ollama openai vllm" "${R[cubectl provider add --driver ]-}"
	check_eq "$sh: --category" "embedding llm" "${R[cubectl model deploy --category ]-}"
	check_eq "$sh: --log-content" "off on" "${R[cubectl domain edit acme --log-content ]-}"
	check_eq "$sh: --jwt-alg" "ES256 ES384 ES512 PS256 PS384 PS512 RS256 RS384 RS512" \
	    "$(printf '%s\n' ${R[cubectl domain edit acme --jwt-alg ]-} | sort | xargs)"
	check_eq "$sh: domain edit offers --cors-origin, --no-cors, --jwt-* and --require-attested" \
	    "--cors-origin --jwt-alg --jwt-audience --jwt-budget-claim --jwt-domain-claim --jwt-issuer --jwt-jwks-file --jwt-jwks-url --jwt-leeway --jwt-models-claim --jwt-refresh --jwt-rpm --jwt-rpm-claim --jwt-tpm --jwt-tpm-claim --log-content --no-cors --no-jwt --no-require-attested --require-attested --trace-retention" \
	    "$(printf '%s\n' ${R[cubectl domain edit -]-} | grep -- '^--' |
	    grep -vxF -f <(printf '%s\n' $globals) | xargs)"
	check_contains "$sh: --api-key-file completes files" "key-file.txt" \
	    "${R[cubectl provider add -d acme x --api-key-file $T_DIR/key-f]-}"
	check_contains "$sh: -i completes files" "key-file.txt" \
	    "${R[cubectl -i $T_DIR/key-f]-}"
	check_eq "$sh: model show -d <TAB> names the agent's domains" "acme bravo" \
	    "${R[cubectl $S model show -d ]-}"
	check_eq "$sh: model show -d acme <TAB> names its models" "chat llama3:8b" \
	    "${R[cubectl $S model show -d acme ]-}"
	check_eq "$sh: --provider names the domain's providers" "fake" \
	    "${R[cubectl $S model deploy -d acme --provider ]-}"
	check_eq "$sh: domain delete <TAB>" "acme bravo" "${R[cubectl $S domain delete ]-}"
	check_eq "$sh: a name to create completes to nothing" "" \
	    "${R[cubectl $S domain create ]-}"
	check_eq "$sh: no agent, no names" "" "${R[cubectl -s $T_DIR/absent model show -d ]-}"
	check "$sh: all of it within 60 s" [ $(($(date +%s) - t0)) -lt 60 ]
done
t_done
