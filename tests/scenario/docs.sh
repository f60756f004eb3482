#!/usr/bin/env bash
# Manual pages render cleanly and document what the code accepts: every
# cube-agent config key and long option is in cube-agent(8), every key has
# an entry in cube-agent.conf(5), with its option where it has one.
. "$(dirname "$0")/../lib.sh"
cd "$CUBE_ROOT"

for page in man/*.[0-9]; do
	if command -v mandoc >/dev/null; then
		out=$(mandoc -T lint -W warning "$page" 2>&1)
		check_eq "$page: mandoc lint clean" "" "$out"
	fi
	out=$(MANWIDTH=80 man -l "$page" 2>&1 >/dev/null)
	check_eq "$page: man -l renders without warnings" "" "$out"
done

keys=$(sed -n '/^} config_keys\[\] = {/,/^};/p' agent/config.c |
    sed -n 's/.*{ "\([a-z-]*\)".*/\1/p')
check "config key table read" [ -n "$keys" ]
for k in $keys; do
	check "cube-agent.8 documents '$k'" grep -q "$k" man/cube-agent.8
done
opts=$(sed -n 's/^\t{ "\([a-z-]*\)",.*_argument.*/\1/p' agent/main.c)
for o in $opts; do
	check "cube-agent.8 documents --$o" grep -q -- "$o" man/cube-agent.8
done
conf=man/cube-agent.conf.5
for k in $keys; do
	check "cube-agent.conf.5 has an entry for '$k'" \
	    grep -Eq "^\.It Cm $k( |$)|^\.It .*, Cm $k( |$)" "$conf"
done
for o in $opts; do
	case " $keys " in *" $o "*) ;; *) continue ;; esac
	check "cube-agent.conf.5 names --$o" grep -qF -- "Fl \\-$o" "$conf"
done
check "cube-agent.8 refers to cube-agent.conf(5)" grep -q '^\.Xr cube-agent.conf 5' man/cube-agent.8
check "cubectl.1 refers to cube-agent.conf(5)" grep -q '^\.Xr cube-agent.conf 5' man/cubectl.1

help=$("$CUBE_BIN/cube-agent" --help)
for o in $opts; do
	case $o in config|verbose|help|version) continue ;; esac
	check_contains "cube-agent --help shows --$o" "--$o" "$help"
done
t_done
