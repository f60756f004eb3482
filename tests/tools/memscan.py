#!/usr/bin/env python3
"""Count each secret in what a core dump of a running process would hold.

Usage: memscan.py PID SECRET...  -> one line per secret: COUNT SECRET-INDEX

Each hit (the first 8 of a secret) is also told on stderr, where it lies (address, region, what
maps it), never its bytes, so a failing test says where to look.

Reads /proc/PID/mem (root, or the process's own user when it is dumpable)
region by region, keeping to the regions the kernel writes to a core file
by default: readable, not marked "dd" (MADV_DONTDUMP: sodium_malloc's
guarded pages, ASan's shadow) nor "io", anonymous or private. A plain
gcore of an ASan binary would try to write terabytes of shadow instead.
"""
import re
import sys

pid = sys.argv[1]
needles = [s.encode() for s in sys.argv[2:]]
counts = [0] * len(needles)
overlap = max((len(n) for n in needles), default=1) - 1
CHUNK = 1 << 20

regions = []
cur = None
with open("/proc/%s/smaps" % pid) as f:
    for line in f:
        m = re.match(r"^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ (\d+)\s*(.*)$",
                     line)
        if m:
            cur = [int(m[1], 16), int(m[2], 16), m[3], int(m[4]),
                   m[5] or "[anon]"]
            continue
        if line.startswith("VmFlags:") and cur is not None:
            flags = line.split()[1:]
            start, end, perms, inode, path = cur
            shared_file = perms[3] == "s" and inode != 0
            if (perms[0] == "r" and "dd" not in flags and "io" not in flags
                    and not shared_file and path != "[vsyscall]"):
                regions.append((start, end, path))
            cur = None

with open("/proc/%s/mem" % pid, "rb", buffering=0) as mem:
    for start, end, path in regions:
        tail = b""
        pos = start
        while pos < end:
            n = min(CHUNK, end - pos)
            try:
                mem.seek(pos)
                data = mem.read(n)
            except OSError:
                break
            if not data:
                break
            buf = tail + data
            for i, needle in enumerate(needles):
                j = buf.find(needle)
                while j >= 0:
                    counts[i] += 1
                    if counts[i] <= 8:
                        sys.stderr.write("memscan: secret %d at %#x in %#x-%#x %s\n"
                            % (i, pos - len(tail) + j, start, end, path))
                    j = buf.find(needle, j + 1)
            # The last bytes again in front of the next chunk: too short
            # to hold a whole secret, so a secret across two chunks counts
            # once and none counts twice.
            tail = buf[-overlap:] if overlap else b""
            pos += len(data)

for i, c in enumerate(counts):
    print(c, i)
