#!/usr/bin/env python3
"""Open N streaming chat requests at once and hold them open, reading
every event as it comes. Prints "open N" once every stream has its first
event (or "failed K: why" and exits 1), then keeps reading until a line
arrives on stdin or stdin closes, and prints "events E" (the events read
in all) before it closes the connections. Used to measure the agent's
memory per open stream. Usage: hold-streams.py URL TOKEN BODY N [TIMEOUT_S]"""
import asyncio, sys
from urllib.parse import urlsplit

url, token, body, n = sys.argv[1], sys.argv[2], sys.argv[3].encode(), int(sys.argv[4])
timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 60.0
u = urlsplit(url)
req = ("POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
       "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
       % (u.path, u.netloc, token, len(body))).encode() + body
events = 0


async def one(ready, failures, done):
    global events
    try:
        r, w = await asyncio.open_connection(u.hostname, u.port)
    except OSError as e:
        failures.append("connect: %s" % e)
        ready.release()
        return
    w.write(req)
    got, buf = False, b""
    try:
        while not done.is_set():
            data = await r.read(65536)
            if not data:
                if not got:
                    failures.append("closed before the first event: %r"
                                    % buf[:200])
                break
            buf += data
            if not got:
                if b"\r\n\r\n" in buf and not buf.startswith(b"HTTP/1.1 200"):
                    failures.append(buf.split(b"\r\n", 1)[0].decode("latin1"))
                    break
                if b"data:" in buf:
                    got = True
                    ready.release()
            events += buf.count(b"data:")
            buf = buf[buf.rfind(b"\n") + 1:] if b"data:" in buf else buf
    except OSError as e:
        if not got:
            failures.append("read: %s" % e)
    finally:
        if not got:
            ready.release()
        w.close()


async def main():
    ready = asyncio.Semaphore(0)
    failures, done = [], asyncio.Event()
    tasks = []
    for i in range(n):
        tasks.append(asyncio.create_task(one(ready, failures, done)))
        if i % 200 == 199:
            await asyncio.sleep(0)	# let the first connections in
    try:
        for _ in range(n):
            await asyncio.wait_for(ready.acquire(), timeout)
    except asyncio.TimeoutError:
        failures.append("timed out waiting for the first events")
    if failures:
        print("failed %d: %s" % (len(failures), failures[0]), flush=True)
        done.set()
        for t in tasks:
            t.cancel()
        sys.exit(1)
    print("open %d" % n, flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)
    print("events %d" % events, flush=True)
    done.set()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

asyncio.run(main())
