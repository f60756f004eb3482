# bash completion for cubectl(1).
# Nouns, verbs and flags follow the command table in tui/cmd.c;
# tests/unit/test-cubectl-table.c checks that they agree.

_cubectl_globals="-H -s -F -i -o -h --help --version"
_cubectl_nouns="status domain provider model token export apply"

# The verbs of a noun (none for status).
_cubectl_verbs()
{
	case "$1" in
	domain)		echo "create list edit delete" ;;
	provider)	echo "add edit list test models delete" ;;
	model)		echo "deploy list show edit enable disable delete" ;;
	token)		echo "create list revoke" ;;
	esac
}

# The flags of "noun verb".
_cubectl_flags()
{
	case "$1" in
	"status")		echo "" ;;
	"domain create")	echo "" ;;
	"domain list")		echo "" ;;
	"domain edit")		echo "--log-content --trace-retention" ;;
	"domain delete")	echo "" ;;
	"provider add")		echo "-d --domain --driver --url --api-key-stdin --api-key-file" ;;
	"provider edit")	echo "-d --domain --driver --url --api-key-stdin --api-key-file --no-api-key" ;;
	"provider list")	echo "-d --domain" ;;
	"provider test")	echo "-d --domain" ;;
	"provider models")	echo "-d --domain" ;;
	"provider delete")	echo "-d --domain" ;;
	"model deploy")		echo "-d --domain --provider --name --model-id --key --category --tools --vision --price-input --price-output --price-cached --temperature --max-tokens --system-prompt --guard-in --guard-out --description --inactive" ;;
	"model list")		echo "-d --domain" ;;
	"model show")		echo "-d --domain" ;;
	"model edit")		echo "-d --domain --new-key --provider --name --model-id --category --tools --vision --price-input --price-output --price-cached --temperature --max-tokens --system-prompt --guard-in --guard-out --description --inactive --no-tools --no-vision" ;;
	"model enable")		echo "-d --domain" ;;
	"model disable")	echo "-d --domain" ;;
	"model delete")		echo "-d --domain" ;;
	"token create")		echo "-d --domain --name --expires --rpm --tpm --budget --model" ;;
	"token list")		echo "-d --domain" ;;
	"token revoke")		echo "-d --domain" ;;
	"export")		echo "-d --domain" ;;
	"apply")		echo "-f --file" ;;
	esac
}

# Set COMPREPLY to the compgen matches of $cur (one per line, spaces kept).
_cubectl_reply()
{
	mapfile -t COMPREPLY < <(compgen "$@" -- "$cur")
}

_cubectl()
{
	local cur prev word noun="" verb="" i
	local takes_value=" -H -s -F -i -o -d --domain --driver --url --api-key-file --log-content --trace-retention --provider --name --model-id --key --new-key --category --price-input --price-output --price-cached --temperature --max-tokens --system-prompt --guard-in --guard-out --description --expires --rpm --tpm --budget --model -f --file "

	cur=${COMP_WORDS[COMP_CWORD]}
	prev=""
	[ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD-1]}

	# Values of the flag before the cursor.
	case "$prev" in
	-o)		_cubectl_reply -W "table json"; return ;;
	--driver)	_cubectl_reply -W "openai ollama vllm"; return ;;
	--category)	_cubectl_reply -W "llm embedding"; return ;;
	--log-content)	_cubectl_reply -W "on off"; return ;;
	-s|-F|-i|--api-key-file|-f|--file)
			_cubectl_reply -f; return ;;
	esac
	if [[ "$takes_value" == *" $prev "* ]]; then
		COMPREPLY=()
		return
	fi

	# Find the noun and verb typed so far, skipping flags and their values.
	for ((i = 1; i < COMP_CWORD; i++)); do
		word=${COMP_WORDS[i]}
		if [[ "$word" == -* ]]; then
			[[ "$takes_value" == *" $word "* ]] && ((i++))
			continue
		fi
		if [ -z "$noun" ]; then
			noun=$word
		elif [ -z "$verb" ] && [ -n "$(_cubectl_verbs "$noun")" ]; then
			verb=$word
		fi
	done

	if [ -z "$noun" ]; then
		if [[ "$cur" == -* ]]; then
			_cubectl_reply -W "$_cubectl_globals"
		else
			_cubectl_reply -W "$_cubectl_nouns"
		fi
		return
	fi
	if [ -z "$verb" ] && [ -n "$(_cubectl_verbs "$noun")" ]; then
		_cubectl_reply -W "$(_cubectl_verbs "$noun") --help"
		return
	fi
	if [[ "$cur" == -* ]]; then
		_cubectl_reply -W "$(_cubectl_flags "$noun${verb:+ $verb}") $_cubectl_globals"
	fi
}

complete -F _cubectl cubectl
