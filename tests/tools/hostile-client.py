#!/usr/bin/env python3
"""Raw-socket clients that behave badly, for tests/scenario/hostile-clients.sh.
Each subcommand prints "key value" lines for the script to check.

  raw HOST PORT REQUEST [WAIT_S]
      send REQUEST (Python escapes: \\r\\n...), read until the server closes
      or WAIT_S pass (default 3); print each response's status, fields
      ("field:NAME value") and body length, whether the server closed, and
      when.
  drip HOST PORT HEAD DRIP EVERY_MS MAX_S
      send HEAD, then DRIP one byte every EVERY_MS, round and round, until
      the server closes or MAX_S pass; print the first status, its fields
      and when the server closed.
  announce HOST PORT PATH N CONTENT_LENGTH AGENT_PID
      N connections at once each announce a body of CONTENT_LENGTH with no
      token, wait up to 2 s for an answer, then push the body as fast as
      the server takes it until one comes; print the statuses, the slowest
      answer, the body bytes the server took, and how much the agent's
      resident memory grew.
  flood HOST PORT PATH N
      N requests without a valid token (half none, half a bad one), each
      on its own connection with an X-Request-Id of its own; print how
      many got each status, and how many distinct x-request-ids of 32
      hex digits came back.
  hold HOST PORT N HEAD RELEASE_FILE MAX_S
      open N connections, send HEAD on each, print "held N", and keep them
      open until RELEASE_FILE exists or MAX_S pass; then close them all.
"""
import os, re, socket, sys, threading, time


def unescape(s):
    return s.encode("latin-1").decode("unicode_escape").encode("latin-1")


def rss_kb(pid):
    with open("/proc/%s/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def parse_responses(data):
    """Responses in data: (status, {field: value}, body length)."""
    out = []
    while data.startswith(b"HTTP/1.1 "):
        end = data.find(b"\r\n\r\n")
        if end < 0:
            break
        lines = data[:end].decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        fields = {}
        for l in lines[1:]:
            k, _, v = l.partition(":")
            fields[k.strip().lower()] = v.strip()
        n = int(fields.get("content-length", "0"))
        if status < 200:
            n = 0
        out.append((status, fields, len(data[end + 4:end + 4 + n])))
        data = data[end + 4 + n:]
    return out


def cmd_raw(host, port, request, wait="3"):
    s = socket.create_connection((host, int(port)))
    t0 = time.monotonic()
    s.sendall(unescape(request))
    s.settimeout(float(wait))
    data, closed = b"", False
    try:
        while True:
            b = s.recv(65536)
            if not b:
                closed = True
                break
            data += b
    except socket.timeout:
        pass
    except ConnectionResetError:
        closed = True
    for status, fields, n in parse_responses(data):
        print("status", status)
        for k, v in sorted(fields.items()):
            print("field:%s %s" % (k, v))
        print("body_len", n)
    print("closed", closed)
    print("elapsed %.3f" % (time.monotonic() - t0))


def cmd_drip(host, port, head, drip, every_ms, max_s):
    s = socket.create_connection((host, int(port)))
    s.setblocking(False)
    t0 = time.monotonic()
    s.sendall(unescape(head))
    drip = unescape(drip)
    data, closed, i = b"", False, 0
    next_at = t0
    while time.monotonic() - t0 < float(max_s):
        try:
            b = s.recv(65536)
            if not b:
                closed = True
                break
            data += b
        except BlockingIOError:
            pass
        except ConnectionResetError:
            closed = True
            break
        if time.monotonic() >= next_at:
            try:
                s.send(drip[i % len(drip):i % len(drip) + 1])
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            i += 1
            next_at += int(every_ms) / 1000.0
        time.sleep(0.005)
    r = parse_responses(data)
    print("status", r[0][0] if r else 0)
    for k, v in sorted(r[0][1].items() if r else []):
        print("field:%s %s" % (k, v))
    print("closed", closed)
    print("closed_after %.3f" % (time.monotonic() - t0))
    print("dripped", i)


def cmd_announce(host, port, path, n, length, pid):
    n, length = int(n), int(length)
    before = rss_kb(pid)
    peak = [before]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_kb(pid))
            time.sleep(0.02)

    results = []

    def client():
        s = socket.create_connection((host, int(port)))
        head = ("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                "\r\nContent-Length: %d\r\n\r\n" % (path, length)).encode()
        s.sendall(head)
        t0 = time.monotonic()
        chunk = b"x" * 65536
        sent, data, answered_at = 0, b"", None
        # An answer to the head alone, within 2 s; else push the body.
        s.settimeout(2)
        try:
            data = s.recv(65536)
            if b"\r\n\r\n" in data:
                answered_at = time.monotonic() - t0
        except socket.timeout:
            pass
        except ConnectionResetError:
            pass
        s.setblocking(False)
        while answered_at is None and time.monotonic() - t0 < 10:
            try:
                b = s.recv(65536)
                if not b:
                    break
                data += b
                if b"\r\n\r\n" in data:
                    answered_at = time.monotonic() - t0
                    break
            except BlockingIOError:
                pass
            except ConnectionResetError:
                break
            if sent < length:
                try:
                    sent += s.send(chunk[:min(len(chunk), length - sent)])
                except BlockingIOError:
                    time.sleep(0.001)
                except (BrokenPipeError, ConnectionResetError):
                    break
            else:
                time.sleep(0.005)
        r = parse_responses(data)
        results.append((r[0][0] if r else 0, answered_at, sent))
        s.close()

    t = threading.Thread(target=sample)
    t.start()
    clients = [threading.Thread(target=client) for _ in range(n)]
    for c in clients:
        c.start()
    for c in clients:
        c.join()
    done.set()
    t.join()
    print("statuses", " ".join(sorted(set(str(r[0]) for r in results))))
    answered = [r[1] for r in results if r[1] is not None]
    print("answered", len(answered))
    print("slowest %.3f" % (max(answered) if answered else 99))
    print("body_bytes_taken", sum(r[2] for r in results))
    print("rss_growth_kb", peak[0] - before)


def cmd_flood(host, port, path, n):
    counts, ids = {}, set()
    for i in range(int(n)):
        auth = "" if i % 2 == 0 else \
            "Authorization: Bearer cube_%s\r\n" % ("A" * 43)
        body = b'{"model":"chat","messages":[]}'
        req = ("POST %s HTTP/1.1\r\nHost: x\r\n%sContent-Length: %d\r\n"
               "X-Request-Id: flood-%d\r\nConnection: close\r\n\r\n" %
               (path, auth, len(body), i)).encode()
        s = socket.create_connection((host, int(port)))
        s.sendall(req + body)
        s.settimeout(5)
        data = b""
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                data += b
        except (socket.timeout, ConnectionResetError):
            pass
        s.close()
        r = parse_responses(data)
        st = r[0][0] if r else 0
        counts[st] = counts.get(st, 0) + 1
        rid = r[0][1].get("x-request-id", "") if r else ""
        if re.fullmatch(r"[0-9a-f]{32}", rid):
            ids.add(rid)
    for st, c in sorted(counts.items()):
        print("status_%d %d" % (st, c))
    print("ids_unique", len(ids))


def cmd_hold(host, port, n, head, release, max_s):
    socks = []
    for _ in range(int(n)):
        s = socket.create_connection((host, int(port)))
        if head:
            s.sendall(unescape(head))
        socks.append(s)
    print("held", len(socks), flush=True)
    t0 = time.monotonic()
    while not os.path.exists(release) and time.monotonic() - t0 < float(max_s):
        time.sleep(0.02)
    for s in socks:
        s.close()


if __name__ == "__main__":
    cmds = {"raw": cmd_raw, "drip": cmd_drip, "announce": cmd_announce,
            "flood": cmd_flood, "hold": cmd_hold}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        sys.exit(__doc__)
    cmds[sys.argv[1]](*sys.argv[2:])
