#!/usr/bin/env python3
"""Ask for a large stream, stop reading for a while, report how much the
agent's resident memory grew meanwhile, then read the rest and report how
much arrived. Proves the gateway applies backpressure instead of buffering
the whole answer. Usage: slow-reader.py URL TOKEN BODY_FILE AGENT_PID PAUSE_S"""
import socket, sys, time
from urllib.parse import urlsplit

url, token, body_file, pid, pause = sys.argv[1:6]
body = open(body_file).read()

def rss_kb():
    with open("/proc/%s/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])

u = urlsplit(url)
s = socket.create_connection((u.hostname, u.port))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
req = ("POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
       "Content-Type: application/json\r\nContent-Length: %d\r\n"
       "Connection: close\r\n\r\n" % (u.path, token, len(body))).encode() + body.encode()
s.sendall(req)
first = s.recv(4096)
before = rss_kb()
time.sleep(float(pause))
during = rss_kb()
total = len(first)
tail = first
while True:
    b = s.recv(1 << 20)
    if not b:
        break
    total += len(b)
    tail = (tail + b)[-64:]
print("rss_growth_kb", during - before)
print("bytes", total)
print("done", b"data: [DONE]" in tail)
