# bash completion for cubectl(1).
# Nouns, verbs, flags and what their values are come from "cubectl
# __complete", which prints the command table of tui/cmd.c (its format is
# described in tui/complete.c), so this file lists none of them. Names of
# domains, providers, models and tokens come from the agent itself, through
# "cubectl -o json NOUN list" with the connection options already typed;
# when the agent cannot be reached there are simply none.

# The names KIND ("names:NOUN:FIELD:SCOPE") stands for, one per line. Uses
# the caller's bin, conn and dom.
_cubectl_names()
{
	local noun field scope
	local -a args t=()

	IFS=: read -r _ noun field scope <<<"$1"
	args=("${conn[@]}" -o json "$noun" list)
	if [ "$scope" = -d ]; then
		[ -n "$dom" ] || return 0
		args+=(-d "$dom")
	fi
	command -v timeout >/dev/null && t=(timeout 5)
	"${t[@]}" "$bin" "${args[@]}" 2>/dev/null </dev/null |
	    sed -n "s/^\t\t\"$field\":[[:space:]]*\"\([^\"]*\)\".*/\1/p"
}

# Set COMPREPLY to the compgen matches of $cur (one per line, spaces kept).
_cubectl_reply()
{
	mapfile -t COMPREPLY < <(compgen "$@" -- "$cur")
}

# Complete a value of KIND.
_cubectl_value()
{
	case $1 in
	file)		compopt -o filenames 2>/dev/null; _cubectl_reply -f ;;
	choice:*)	local c=${1#choice:}; _cubectl_reply -W "${c//,/ }" ;;
	names:*)	_cubectl_reply -W "$(_cubectl_names "$1")" ;;
	*)		COMPREPLY=() ;;
	esac
}

_cubectl()
{
	local cur words cword bin type n v name alias kind help
	local noun="" cmd="" want="" dom="" nouns="" globals="" w i nargs=0
	local -a conn=()
	local -A verbs=() argkind=() flags=() fkind=()

	if declare -F _get_comp_words_by_ref >/dev/null; then
		_get_comp_words_by_ref -n : cur words cword
	else
		cur=${COMP_WORDS[COMP_CWORD]}
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
	fi
	bin=${words[0]/#\~/$HOME}

	while IFS=$'\t' read -r type n v name alias kind help; do
		case $type in
		noun)	nouns+=" $n" ;;
		cmd)	[ "$v" = - ] || verbs[$n]+=" $v"
			argkind["$n $v"]=$kind ;;
		flag)	flags["$n $v"]+=" $name"
			fkind["$n $v $name"]=$kind
			[ "$alias" = - ] && continue
			flags["$n $v"]+=" $alias"
			fkind["$n $v $alias"]=$kind ;;
		global)	globals+=" $name"
			fkind["* $name"]=$kind
			[ "$alias" = - ] && continue
			globals+=" $alias"
			fkind["* $alias"]=$kind ;;
		esac
	done < <("$bin" __complete 2>/dev/null </dev/null)
	[ -n "$nouns" ] || return 0

	# The noun and verb typed so far, skipping flags and their values, and
	# what the agent's names are fetched with: the connection options
	# given and the domain.
	for ((i = 1; i < cword; i++)); do
		w=${words[i]}
		if [[ $w == -?* ]]; then
			kind=${fkind["$cmd $w"]-${fkind["* $w"]-}}
			case $kind in ""|-) continue ;; esac
			if ((i + 1 == cword)); then
				want=$kind
				break
			fi
			((i++))
			case $kind in names:domain:*) dom=${words[i]} ;; esac
			[ -z "${fkind["* $w"]-}" ] || [ "$w" = -o ] ||
			    conn+=("$w" "${words[i]}")
			continue
		fi
		if [ -z "$noun" ]; then
			noun=$w
			[ -n "${verbs[$noun]-}" ] || cmd="$noun -"
		elif [ -z "$cmd" ]; then
			cmd="$noun $w"
		else
			((nargs++))
		fi
	done

	if [ -n "$want" ]; then
		_cubectl_value "$want"
	elif [[ $cur == -* ]]; then
		_cubectl_reply -W "${flags[$cmd]-} $globals"
	elif [ -z "$noun" ]; then
		_cubectl_reply -W "$nouns"
	elif [ -z "$cmd" ]; then
		_cubectl_reply -W "${verbs[$noun]-}"
	elif ((nargs == 0)); then
		_cubectl_value "${argkind[$cmd]-}"
	fi
	if declare -F __ltrim_colon_completions >/dev/null; then
		__ltrim_colon_completions "$cur"
	fi
	return 0
}

complete -F _cubectl cubectl
