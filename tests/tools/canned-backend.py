#!/usr/bin/env python3
"""A backend that answers every connection with the bytes of one file.

canned-backend.py PORTFILE ANSWER HEADS: listens on 127.0.0.1 (a free
port, written to PORTFILE once listening); for each connection it reads
the request head, appends it to HEADS, sends ANSWER's bytes as they are
(read anew each time, so a test changes the answer between requests;
ANSWER.get instead for a GET when that file exists) without waiting for
the request's body, and closes. For answers no real server library would write: folded or
doubled headers, cut bodies, interim 1xx heads, huge chunked bodies.
"""
import os
import socket
import sys


def main():
    portfile, answer, heads = sys.argv[1:4]
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.getsockname()[1]))
    os.rename(tmp, portfile)
    while True:
        conn, _ = srv.accept()
        conn.settimeout(10)
        try:
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 65536:
                part = conn.recv(4096)
                if not part:
                    break
                head += part
            with open(heads, "ab") as f:
                f.write(head)
            name = answer
            if head.startswith(b"GET ") and os.path.exists(answer + ".get"):
                name = answer + ".get"
            with open(name, "rb") as f:
                conn.sendall(f.read())
            # A lingering close, as a careful server's: the rest of the
            # request is read and dropped, so the kernel does not reset
            # the connection (losing the answer) over unread bytes.
            conn.shutdown(socket.SHUT_WR)
            while conn.recv(65536):
                pass
        except OSError:
            pass
        finally:
            conn.close()


if __name__ == "__main__":
    main()
