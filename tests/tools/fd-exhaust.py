#!/usr/bin/env python3
"""Run the agent out of file descriptors and send one request meanwhile.

usage: fd-exhaust.py HOST:PORT PID LOG TOKEN PATH WAIT_FOR BODY...

Opens one connection R and makes sure the agent accepted it, lowers the
agent's RLIMIT_NOFILE to a little above what it has open, then holds idle
connections until the agent fails to accept (its log says "accept: Too
many open files") and a few more wait in its backlog, so the table stays
full. Then sends each BODY to PATH on R: the agent has to open a new
upstream connection and cannot. Prints after a line "--- reply" the
statuses of the tries (a 200 while a descriptor was free for a moment
is tried again, up to 10 times) and the last reply, then waits (30 s at most) for WAIT_FOR, a
regular expression, to appear in the agent's log (a health round that ran
during the shortage), prints "seen" or "not seen", and releases
everything.
"""
import os
import re
import resource
import socket
import sys
import time


def log_has(path, pattern, start):
    with open(path, "rb") as f:
        f.seek(start)
        return re.search(pattern.encode(), f.read()) is not None


def fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def request(sock, host, method, path, token, body=b""):
    head = ("%s %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
            "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
            % (method, path, host, token, len(body))).encode()
    sock.sendall(head + body)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return head + b"\r\n\r\n" + rest


def main():
    addr, pid, log, token, path, wait_for = sys.argv[1:7]
    bodies = sys.argv[7:]
    host, port = addr.rsplit(":", 1)
    pid = int(pid)
    start = os.path.getsize(log)

    r = socket.create_connection((host, int(port)), timeout=20)
    reply = request(r, addr, "GET", "/healthz", token)
    if b" 200 " not in reply.split(b"\r\n", 1)[0]:
        print("healthz on R failed: %r" % reply[:200])
        return 1

    limit = fds(pid) + 24
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (limit, limit))
    held = []
    deadline = time.monotonic() + 30
    extra = 0
    while extra < 8:
        if time.monotonic() > deadline:
            print("the agent never ran out of descriptors (%d open)"
                  % fds(pid))
            return 1
        held.append(socket.create_connection((host, int(port)), timeout=5))
        if extra or log_has(log, r"accept: Too many open files", start):
            extra += 1
        else:
            time.sleep(0.02)
    sys.stderr.write("fd-exhaust: %d connections held, agent has %d of %d\n"
                     % (len(held), fds(pid), limit))

    # A descriptor the agent frees for a moment (a health check's) may let
    # one request through: try again, on a backend that closes each
    # connection, until the shortage answers.
    for body in bodies:
        statuses = []
        for _ in range(10):
            reply = request(r, addr, "POST", path, token, body.encode())
            statuses.append(reply.split(b" ", 2)[1].decode())
            if statuses[-1] != "200":
                break
        sys.stdout.write("--- reply\nstatuses: %s\n%s\n" % (
            " ".join(statuses), reply.decode("utf-8", "replace")))

    deadline = time.monotonic() + 30
    seen = False
    while time.monotonic() < deadline:
        if log_has(log, wait_for, start):
            seen = True
            break
        time.sleep(0.1)
    print("seen" if seen else "not seen")
    for s in held:
        s.close()
    r.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
