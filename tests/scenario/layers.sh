#!/usr/bin/env bash
# scripts/check-layers: the request path's objects (AGENT_PATH_SRCS)
# reference no store_* or sqlite3_*, and the check does fail, naming the
# object and the symbol, when one does (a store object slipped into the
# list; a stand-in nm that reports a path object calling the store).
. "$(dirname "$0")/../lib.sh"
cd "$CUBE_ROOT"

obj=$(dirname "$CUBE_BIN")
[ "$obj" != "$CUBE_ROOT" ] || obj=build/release	# CUBE_BIN=bin: release
paths=$(sed -n '/^AGENT_PATH_SRCS :=/,/[^\\]$/p' Makefile |
    sed 's/^AGENT_PATH_SRCS :=//; s/\\$//' | tr ' \t' '\n\n' | grep '\.c$')
check "AGENT_PATH_SRCS read from the Makefile" [ "$(echo "$paths" | wc -l)" -ge 40 ]
objs=()
for s in $paths; do
	objs+=("$obj/${s%.c}.o")
done
if [ ! -f "${objs[0]}" ] || [ ! -f "$obj/agent/store.o" ]; then
	echo "# SKIP no objects under $obj (build first)"
	t_done
	exit
fi

out=$(scripts/check-layers "${objs[@]}" 2>&1)
check_eq "the request path is clean: exit 0" 0 $?
check_contains "the request path is clean: says so" \
    "${#objs[@]} request-path objects reference no store_* or sqlite3_*" "$out"

# A doctored list: the store's own object among the request path's.
out=$(scripts/check-layers "${objs[@]}" "$obj/agent/store.o" 2>/dev/null)
check_eq "store.o in the list: exit 1" 1 $?
check_contains "store.o in the list: names it and a symbol" \
    "$obj/agent/store.o: references sqlite3_open_v2" "$out"
check_not_contains "store.o in the list: no path object blamed" \
    "agent/proxy.o" "$out"
out=$(scripts/check-layers "$obj/agent/proxy.o" "$obj/agent/trace-writer.o" \
    2>/dev/null)
check_eq "the trace writer in the list: exit 1" 1 $?
check_contains "the trace writer in the list: store_trace_insert named" \
    "$obj/agent/trace-writer.o: references store_trace_insert" "$out"

# A stand-in nm: a path object that calls the store, one that names a
# look-alike (response_store_get is no store_* call), both as nm -A -u
# prints them.
cat >"$T_DIR/nm" <<'NM'
#!/bin/sh
cat <<OUT
build/x/agent/proxy.o:                 U response_store_get
build/x/agent/proxy.o:                 U registry_acquire
build/x/agent/limit.o:                 U store_token_get
build/x/agent/limit.o:                 U sqlite3_step
OUT
NM
chmod +x "$T_DIR/nm"
out=$(NM="$T_DIR/nm" scripts/check-layers "$obj/agent/proxy.o" 2>/dev/null)
check_eq "stand-in nm: exit 1" 1 $?
check_eq "stand-in nm: exactly the store's symbols, with their object" \
    "build/x/agent/limit.o: references store_token_get
build/x/agent/limit.o: references sqlite3_step" "$out"
printf '#!/bin/sh\nexit 1\n' >"$T_DIR/nm"
NM="$T_DIR/nm" scripts/check-layers "$obj/agent/proxy.o" >/dev/null 2>&1
check_eq "nm failing: exit 2, not a pass" 2 $?
scripts/check-layers "$T_DIR/absent.o" >/dev/null 2>&1
check_eq "an object that is not there: exit 2" 2 $?
scripts/check-layers >/dev/null 2>&1
check_eq "no objects: usage, exit 2" 2 $?
t_done
