#!/usr/bin/env python3
"""A plain TCP forwarder whose destination can change: each new connection
goes to the port written in TARGETFILE at that moment, so a test can move
a client's next connection to another agent, or to a man in the middle,
without the client knowing. Usage: tcp-forward.py TARGETFILE PORTFILE.
Writes its port to PORTFILE once it listens; serves until killed."""
import socket
import sys
import threading


def pipe(src, dst):
    try:
        while True:
            b = src.recv(65536)
            if not b:
                break
            dst.sendall(b)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(conn, target_file):
    try:
        with open(target_file) as f:
            port = int(f.read().strip())
        up = socket.create_connection(("127.0.0.1", port), timeout=20)
        up.settimeout(None)
    except (OSError, ValueError):
        conn.close()
        return
    threading.Thread(target=pipe, args=(conn, up), daemon=True).start()
    pipe(up, conn)


def main():
    target_file, port_file = sys.argv[1], sys.argv[2]
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(ls.getsockname()[1]))
    import os
    os.rename(port_file + ".tmp", port_file)
    while True:
        conn, _ = ls.accept()
        threading.Thread(target=serve, args=(conn, target_file),
                         daemon=True).start()


if __name__ == "__main__":
    main()
