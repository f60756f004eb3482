#!/usr/bin/env python3
"""Read an SSE response incrementally and print one line per event:
seconds since the request was sent, then the event's data. Used to prove a
gateway relays events as they arrive instead of buffering the answer."""
import http.client, json, sys, time
from urllib.parse import urlsplit

url, token, body = sys.argv[1], sys.argv[2], sys.argv[3]
u = urlsplit(url)
conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
t0 = time.monotonic()
conn.request("POST", u.path, body=body, headers={
    "Authorization": "Bearer " + token, "Content-Type": "application/json"})
resp = conn.getresponse()
print("status", resp.status, resp.getheader("Content-Type"))
buf = b""
while True:
    chunk = resp.read1(65536)
    if not chunk:
        break
    buf += chunk
    while b"\n\n" in buf:
        event, buf = buf.split(b"\n\n", 1)
        data = b"\n".join(l[5:].strip() for l in event.split(b"\n") if l.startswith(b"data:"))
        print("%.3f %s" % (time.monotonic() - t0, data.decode()), flush=True)
