#!/usr/bin/env bash
# The Debian packages build from this tree as a fresh Debian 12 builds them
# (dpkg-buildpackage -us -uc -b, debhelper, the deps from
# scripts/install-deps), from a copy of the working tree so that
# uncommitted work is what is tested: each package holds exactly the files
# it should, depends on what it links, makes user cube before the unit
# starts, and lintian finds no error; the programs run from the extracted
# packages, and dpkg --root installs them into a throwaway root where the
# maintainer scripts make the user and the directories. One release build
# with two jobs (DEB_BUILD_OPTIONS parallel=2 nocheck): about two minutes.
. "$(dirname "$0")/../lib.sh"

for tool in dpkg-buildpackage dh lintian; do
	if ! command -v "$tool" >/dev/null; then
		echo "# SKIP $tool is not installed (scripts/install-deps:" \
		    "dpkg-dev debhelper lintian)"
		exit 0
	fi
done

# The tree as it stands, without builds, git's store or the SDKs' modules.
src="$T_DIR/cube"
mkdir -p "$src"
tar -C "$CUBE_ROOT" -c --exclude=./build --exclude=./bin --exclude=./.git \
    --exclude=node_modules . | tar -C "$src" -x
# A make of our own, not a sub-make of a parallel `make -jN check`.
unset MAKEFLAGS MFLAGS MAKELEVEL
(cd "$src" && DEB_BUILD_OPTIONS="parallel=2 nocheck" \
    dpkg-buildpackage -us -uc -b >"$T_DIR/build.log" 2>&1)
rc=$?
check_eq "dpkg-buildpackage -us -uc -b succeeds" 0 "$rc"
[ "$rc" -eq 0 ] || { tail -n 40 "$T_DIR/build.log"; t_done; }
check_not_contains "the build has no compiler warning" "warning:" \
    "$(cat "$T_DIR/build.log")"
check_contains "the build uses dpkg-buildflags' hardening" \
    "-D_FORTIFY_SOURCE=2" "$(grep -m1 ' -c -o build/release/' "$T_DIR/build.log")"

# The version is the agent's.
version=$(sed -n 's/^#define CUBE_VERSION[[:space:]]*"\(.*\)"/\1/p' \
    "$CUBE_ROOT/agent/agent.h")
check_eq "debian/changelog has the agent's version" "$version" \
    "$(cd "$src" && dpkg-parsechangelog -S Version)"
arch=$(dpkg --print-architecture)
agent_deb="$T_DIR/cube-agent_${version}_$arch.deb"
tools_deb="$T_DIR/cube-tools_${version}_$arch.deb"
check "cube-agent_${version}_$arch.deb is built" [ -f "$agent_deb" ]
check "cube-tools_${version}_$arch.deb is built" [ -f "$tools_deb" ]

# dpkg -c: the files (not the directories) of each, exactly.
files() { dpkg -c "$1" | awk '$1 !~ /^d/ { print $6 }' | sort; }
check_eq "cube-agent holds the daemon, its pages, unit and config" \
"./etc/cube/agent.conf
./lib/systemd/system/cube-agent.service
./usr/lib/sysusers.d/cube.conf
./usr/lib/tmpfiles.d/cube.conf
./usr/sbin/cube-agent
./usr/share/doc/cube-agent/README.md.gz
./usr/share/doc/cube-agent/changelog.gz
./usr/share/doc/cube-agent/copyright
./usr/share/man/man5/cube-agent.conf.5.gz
./usr/share/man/man8/cube-agent.8.gz" "$(files "$agent_deb")"
check_eq "cube-tools holds cubectl, cube-tui, their pages and completions" \
"./usr/bin/cube-tui
./usr/bin/cubectl
./usr/share/bash-completion/completions/cubectl
./usr/share/doc/cube-tools/README.md.gz
./usr/share/doc/cube-tools/changelog.gz
./usr/share/doc/cube-tools/copyright
./usr/share/fish/vendor_completions.d/cubectl.fish
./usr/share/man/man1/cube-tui.1.gz
./usr/share/man/man1/cubectl.1.gz
./usr/share/man/man5/cube-attest-policy.5.gz
./usr/share/zsh/vendor-completions/_cubectl" "$(files "$tools_deb")"
check_eq "programs are mode 0755 root:root" \
    "-rwxr-xr-x root/root -rwxr-xr-x root/root -rwxr-xr-x root/root" \
    "$( (dpkg -c "$agent_deb"; dpkg -c "$tools_deb") |
    awk '$1 !~ /^d/ && $6 ~ /bin\// { printf "%s%s %s", sep, $1, $2; sep = " " }')"

# dpkg-deb -I: what each depends on, the conffile, the scripts.
info=$(dpkg-deb -I "$agent_deb")
echo "$info" | grep -E '^ (Depends|Recommends):' | sed 's/^/# /'
for dep in "systemd | systemd-standalone-sysusers | systemd-sysusers" \
    libc6 libevent-2.1-7 libcurl4 libsqlite3-0 libsodium23 libssl3 \
    libcjson1 libcjose0 libhiredis0.14 libpcre2-8-0 libutf8proc2; do
	check_contains "cube-agent depends on $dep" "$dep" \
	    "$(echo "$info" | grep '^ Depends:')"
done
# The daemon has no SSH client in it: libssh is cube-tools' alone.
check_not_contains "cube-agent does not depend on libssh-4" libssh-4 \
    "$(echo "$info" | grep '^ Depends:')"
check_contains "cube-agent recommends cube-tools" " Recommends: cube-tools" "$info"
info=$(dpkg-deb -I "$tools_deb")
echo "$info" | grep -E '^ Depends:' | sed 's/^/# /'
for dep in libc6 libncursesw6 libtinfo6 libsodium23 libssh-4 libcjson1; do
	check_contains "cube-tools depends on $dep" "$dep" \
	    "$(echo "$info" | grep '^ Depends:')"
done
check_eq "/etc/cube/agent.conf is cube-agent's only conffile" \
    "/etc/cube/agent.conf" \
    "$(dpkg-deb --ctrl-tarfile "$agent_deb" | tar -xO ./conffiles)"
post=$(dpkg-deb --ctrl-tarfile "$agent_deb" | tar -xO ./postinst)
order=$(echo "$post" | grep -oE 'systemd-sysusers|systemd-tmpfiles|deb-systemd-helper enable|deb-systemd-invoke' |
    awk '!seen[$0]++' | tr '\n' ',')
check_eq "postinst: the user, then the directories, then the unit" \
    "systemd-sysusers,systemd-tmpfiles,deb-systemd-helper enable,deb-systemd-invoke," "$order"

# lintian: no error; its warnings are printed for the reader.
lint=$(lintian "$T_DIR/cube_${version}_$arch.changes" 2>&1)
echo "$lint" | grep -E '^[WE]:' | sed 's/^/# lintian /'
check_eq "lintian reports no error" "" "$(echo "$lint" | grep '^E:')"

# The packages' files, as dpkg would unpack them: the programs run, the
# config is the tree's and the agent takes it.
root="$T_DIR/root"
dpkg-deb -x "$agent_deb" "$root"
dpkg-deb -x "$tools_deb" "$root"
check_eq "the packaged cube-agent runs" "cube-agent $version" \
    "$("$root/usr/sbin/cube-agent" --version 2>&1)"
out=$("$root/usr/bin/cubectl" --help 2>&1)
check_eq "the packaged cubectl --help exits 0" 0 "$?"
check_contains "the packaged cubectl --help shows its usage" "usage: cubectl" "$out"
out=$("$root/usr/bin/cube-tui" --help 2>&1)
check_contains "the packaged cube-tui --help shows its usage" "usage: cube-tui" "$out"
check "/etc/cube/agent.conf is dist/agent.conf" \
    cmp -s "$CUBE_ROOT/dist/agent.conf" "$root/etc/cube/agent.conf"
check "the unit is dist/cube-agent.service" \
    cmp -s "$CUBE_ROOT/dist/cube-agent.service" \
    "$root/lib/systemd/system/cube-agent.service"
out=$("$root/usr/sbin/cube-agent" -c "$root/etc/cube/agent.conf" \
    --check-config 2>&1)
check_eq "the packaged agent takes the packaged config" "0 config ok" "$? $out"
check_contains "the unit runs the packaged config" \
    "ExecStart=/usr/sbin/cube-agent -c /etc/cube/agent.conf" \
    "$(cat "$root/lib/systemd/system/cube-agent.service")"

# dpkg --root: installed into an empty root, with the maintainer scripts
# run from here on that root (DPKG_ROOT), never on this machine's
# services: skipped where systemd runs, whose postinst would start the
# unit here.
if [ -d /run/systemd/system ]; then
	echo "# systemd runs here: dpkg --root install not tried"
elif [ "$(id -u)" -ne 0 ] || ! command -v systemd-sysusers >/dev/null; then
	echo "# not root or no systemd-sysusers: dpkg --root install not tried"
else
	inst="$T_DIR/inst"
	mkdir -p "$inst/var/lib/dpkg/info" "$inst/var/lib/dpkg/updates" \
	    "$inst/etc"
	: >"$inst/var/lib/dpkg/status"
	out=$(dpkg --root="$inst" --force-script-chrootless \
	    --force-depends --log=/dev/null -i "$agent_deb" "$tools_deb" 2>&1)
	check_eq "dpkg --root installs both packages" 0 "$?"
	check_eq "both are installed" "ii cube-agent ii cube-tools" \
	    "$(dpkg --root="$inst" -l cube-agent cube-tools 2>/dev/null |
	    awk '/^ii/ { printf "%s%s %s", sep, $1, $2; sep = " " }')"
	check_contains "postinst made system user cube" \
	    "cube:x:" "$(cat "$inst/etc/passwd" 2>/dev/null)"
	check_contains "... with group cube" \
	    "cube:x:" "$(cat "$inst/etc/group" 2>/dev/null)"
	check "postinst made /var/lib/cube" [ -d "$inst/var/lib/cube" ]
	uid=$(awk -F: '$1 == "cube" { print $3 }' "$inst/etc/passwd")
	gid=$(awk -F: '$1 == "cube" { print $3 }' "$inst/etc/group")
	check_eq "/var/lib/cube is the agent's alone" "700 $uid $gid" \
	    "$(stat -c '%a %u %g' "$inst/var/lib/cube" 2>/dev/null)"
	check_eq "/etc/cube/agent.conf: root's, group cube reads it" \
	    "640 0 $gid" "$(stat -c '%a %u %g' "$inst/etc/cube/agent.conf")"
	check_eq "postinst enabled the unit in that root" \
	    /lib/systemd/system/cube-agent.service \
	    "$(readlink "$inst/etc/systemd/system/multi-user.target.wants/cube-agent.service")"
	out=$(dpkg --root="$inst" --force-script-chrootless --log=/dev/null \
	    --purge cube-tools cube-agent 2>&1)
	check_eq "dpkg --root purges both" 0 "$?"
	check "purge removed the config" [ ! -e "$inst/etc/cube/agent.conf" ]
fi
t_done
