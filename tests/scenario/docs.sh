#!/usr/bin/env bash
# Manual pages render cleanly and document what the code accepts: every
# cube-agent config key and long option is in cube-agent(8), every key has
# an entry in cube-agent.conf(5), with its option where it has one; make
# install puts every page and completion where packagers expect them.
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
# Restart-only keys (no CONFIG_RELOAD in the table) say so in their
# entry; the keys SIGHUP applies do not, and cube-agent.8 lists them.
reloads=$(python3 -c 'import re, sys
t = open("agent/config.c").read()
t = t[t.index("} config_keys[] = {"):]
t = t[:t.index("\n};")]
for name, body in re.findall(r"\{ \"([a-z-]+)\",(.*?)\},", t, re.S):
    print(name, "reload" if "CONFIG_RELOAD" in body else "restart")')
check "reload flags read" [ "$(printf '%s\n' "$reloads" | grep -c ' reload$')" -ge 20 ]
while read -r k how; do
	entry=$(awk -v k="$k" '
	    /^\.It / && on { exit }
	    /^\.It Cm / && ($3 == k || index($0, ", Cm " k " ") || $0 ~ ", Cm " k "$") { on = 1 }
	    on { print }' "$conf")
	if [ "$how" = restart ]; then
		check_contains "cube-agent.conf.5: '$k' is restart-only" "Restart-only:" "$entry"
	else
		check_not_contains "cube-agent.conf.5: '$k' reloads" "Restart-only:" "$entry"
		check "cube-agent.8 SIGNALS lists '$k'" grep -Eq "^\.Cm .*$k( ,|$| \.)" man/cube-agent.8
	fi
done <<<"$reloads"
for o in $opts; do
	case " $keys " in *" $o "*) ;; *) continue ;; esac
	check "cube-agent.conf.5 names --$o" grep -qF -- "Fl \\-$o" "$conf"
done
# cube-attest-policy(5) has an entry for every key of the policy file's
# tables in shared/attest-policy.c, and every name a key takes.
pkeys=$(sed -n 's/^\t{ "\([a-z_0-9]*\)",[[:space:]]*POLICY_.*/\1/p' shared/attest-policy.c)
check "policy key tables read" [ "$(echo $pkeys | wc -w)" -ge 30 ]
pol=man/cube-attest-policy.5
for k in $pkeys; do
	check "cube-attest-policy.5 has an entry for '$k'" \
	    grep -Eq "^\.It Cm ([a-z_0-9]+ , )*$k( |$)|^\.Ss $k$" "$pol"
done
pnames=$(sed -n '/^static const struct policy_name/,/^};/s/^\t{ "\([A-Za-z_]*\)",.*/\1/p' shared/attest-policy.c)
check "policy name tables read" [ "$(echo $pnames | wc -w)" -ge 17 ]
for n in $pnames; do
	check "cube-attest-policy.5 names '$n'" grep -Eq "^\.(Cm|It Cm .*Cm) $n( |$)" "$pol"
done
for page in man/cubectl.1 man/cube-tui.1; do
	check "$page refers to cube-attest-policy(5)" grep -q '^\.Xr cube-attest-policy 5' "$page"
done
check "cube-agent.8 refers to cube-agent.conf(5)" grep -q '^\.Xr cube-agent.conf 5' man/cube-agent.8
check "cubectl.1 refers to cube-agent.conf(5)" grep -q '^\.Xr cube-agent.conf 5' man/cubectl.1

# make install: the data part for real (no build needed), the programs'
# destinations from its dry run so that no release build starts here.
root="$T_DIR/root"
# A make of our own, not a sub-make of a parallel `make -jN check`.
unset MAKEFLAGS MFLAGS MAKELEVEL
out=$(make -s install-data DESTDIR="$root" PREFIX=/usr 2>&1)
check_eq "make install-data runs quietly" "" "$out"
for page in man/*.[0-9]; do
	f="$root/usr/share/man/man${page##*.}/${page#man/}"
	check "installs $f" cmp -s "$page" "$f"
done
check "installs cube-tui(1)" cmp -s man/cube-tui.1 \
    "$root/usr/share/man/man1/cube-tui.1"
check "installs the bash completion" cmp -s completions/cubectl.bash \
    "$root/usr/share/bash-completion/completions/cubectl"
check "installs the zsh completion" cmp -s completions/_cubectl \
    "$root/usr/share/zsh/vendor-completions/_cubectl"
check "installs the fish completion" cmp -s completions/cubectl.fish \
    "$root/usr/share/fish/vendor_completions.d/cubectl.fish"
check "installs the systemd unit" cmp -s dist/cube-agent.service \
    "$root/usr/lib/systemd/system/cube-agent.service"
check "installs the sysusers.d file" cmp -s dist/cube.sysusers \
    "$root/usr/lib/sysusers.d/cube.conf"
check "installs the tmpfiles.d file" cmp -s dist/cube.tmpfiles \
    "$root/usr/lib/tmpfiles.d/cube.conf"
n=$(find "$root" -type f | wc -l)
check_eq "installs nothing else" "$(($(ls man/*.[0-9] | wc -l) + 6))" "$n"
# README: both commands install what is missing before they build.
for target in demo check; do
	first=$(make -n "$target" 2>/dev/null | head -n 1)
	check_eq "make $target installs the deps before it builds" \
	    ./scripts/install-deps "$first"
done

plan=$(make -n install DESTDIR="$root" PREFIX=/usr)
check_contains "make install: cube-agent in sbin" "bin/cube-agent $root/usr/sbin/cube-agent" "$plan"
check_contains "make install: cubectl in bin" "bin/cubectl $root/usr/bin/cubectl" "$plan"
check_contains "make install: cube-tui in bin" "bin/cube-tui $root/usr/bin/cube-tui" "$plan"
check_contains "make install: includes install-data" "$root/usr/share/zsh/vendor-completions/_cubectl" "$plan"

# cube-tui(1) names every view of the table in tui/cube-tui.c, in order.
views=$(sed -n '/^static const struct view_ops \*const tui_views/,/^};/p' tui/cube-tui.c |
    sed -n 's/.*&view_\([a-z]*\)_ops.*/\1/p' | tr '\n' ' ')
check_eq "cube-tui has nine views" 9 "$(echo $views | wc -w)"
i=0
for v in $views; do
	i=$((i + 1))
	check "cube-tui.1 documents view $i ($v)" grep -qi "^\.It Sy $i $v" man/cube-tui.1
done
# cube-tui(1) documents every command of the : command line (tui/command.c).
cmds=$(sed -n '/^static const struct command command_table_/,/^};/s/^\t{ "\([a-z-]*\)".*/\1/p' tui/command.c)
check "cube-tui has : commands" test -n "$cmds"
for c in $cmds; do
	check "cube-tui.1 documents :$c" grep -q "^\.It Ic .*:$c\b" man/cube-tui.1
done
check "cubectl.1 refers to cube-tui(1)" grep -q '^\.Xr cube-tui 1' man/cubectl.1
check "cube-tui.1 refers to cubectl(1)" grep -q '^\.Xr cubectl 1' man/cube-tui.1
out=$("$CUBE_BIN/cube-tui" --help)
check_contains "cube-tui --help shows the synopsis" "usage: cube-tui [-s SOCKET] [-F SSH_CONFIG] [-i IDENTITY] [--policy FILE] [HOST...]" "$out"
# Its options, each in cube-tui(1).
for o in $(sed -n '/^static const struct args_flag tui_flags/,/^};/s/.*\.name = "\([-a-zA-Z]*\)".*/\1/p' tui/cube-tui.c); do
	f=${o#-}
	check "cube-tui.1 documents $o" grep -qF -- "Fl ${f/#-/\\-}" man/cube-tui.1
done

help=$("$CUBE_BIN/cube-agent" --help)
for o in $opts; do
	case $o in config|verbose|help|version) continue ;; esac
	check_contains "cube-agent --help shows --$o" "--$o" "$help"
done
t_done
