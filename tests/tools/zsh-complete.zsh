# zsh -f zsh-complete.zsh FPATH_DIR < lines: for each line read, what zsh's
# completion offers at its end, one match per line, then "<END>". A real
# interactive zsh on a pty runs compinit and the completion from FPATH_DIR;
# compadd is wrapped to print what it adds. One widget completes and then
# prints the end marker, so the marker cannot arrive as typeahead while a
# slow completion still runs (zsh cuts completion short on typeahead).
zmodload zsh/zpty || exit 2
zpty z zsh -f -i || exit 2
zpty -w z "PS1='' PS2='' RPS1='' LISTMAX=100000 LINES=200 COLUMNS=250; fpath=(${(q)1} \$fpath)"
zpty -w z 'autoload -U compinit; compinit -u -D'
zpty -w z 'compadd() { if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return; fi; local -a _h; builtin compadd -A _h "$@"; print -rl -- ${_h/#/<hit>}; builtin compadd "$@"; }'
zpty -w z '_t_complete() { zle complete-word; print -r -- "<DO""NE>"; }; zle -N _t_complete; bindkey "^X^T" _t_complete'
zpty -w z "print -r -- '<RE''ADY>'"
zpty -r -m z out '*<READY>*' || exit 2
while IFS= read -r line; do
	zpty -w -n z "$line"$'\C-x\C-t'
	zpty -r -m z out '*<DONE>*' || exit 2
	zpty -w -n z $'\C-u'
	print -r -- "$out" | tr -d '\r' | sed -n 's/.*<hit>//p'
	print -r -- '<END>'
done
zpty -d z
