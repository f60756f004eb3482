#!/usr/bin/env python3
"""A backend that holds every request: it accepts on 127.0.0.1, reads the
request head, counts it in COUNT_FILE, and answers only once RELEASE_FILE
exists (with an OpenAI model list holding MODEL_ID), never if it does not.
Tests use it to keep an agent's probe waiting for as long as they need.
Usage: hold-backend.py PORT_FILE COUNT_FILE RELEASE_FILE MODEL_ID"""
import json, os, socket, sys, threading, time

port_file, count_file, release_file, model_id = sys.argv[1:5]
lock = threading.Lock()
count = 0
held = []	# open connections: never closed while held


def serve(conn):
    global count
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return
        data += chunk
    with lock:
        count += 1
        with open(count_file + ".tmp", "w") as f:
            f.write("%d\n" % count)
        os.rename(count_file + ".tmp", count_file)
    while not os.path.exists(release_file):
        time.sleep(0.02)
    body = json.dumps({"object": "list",
                       "data": [{"id": model_id, "object": "model"}]})
    try:
        conn.sendall(("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                      "Content-Length: %d\r\nConnection: close\r\n\r\n%s"
                      % (len(body), body)).encode())
        conn.close()
    except OSError:
        pass


s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(16)
with open(port_file + ".tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
os.rename(port_file + ".tmp", port_file)
while True:
    c, _ = s.accept()
    held.append(c)
    threading.Thread(target=serve, args=(c,), daemon=True).start()
