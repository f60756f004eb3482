#!/usr/bin/env python3
"""A TLS terminator in front of a plain or TLS agent, as a man in the middle
would put one: it ends the client's TLS with its own certificate and
forwards the bytes to the agent. Usage: tls-mitm.py CERT KEY UPSTREAM_PORT
PORTFILE [--upstream-tls]. Writes its port to PORTFILE once it listens;
serves until killed."""
import socket
import select
import ssl
import sys
import threading


def relay(a, b):
    """Both directions in one thread: an SSL socket must never be read in
    one thread while another writes it (OpenSSL's objects are not safe for
    that, and Python releases the GIL around both)."""
    socks = [a, b]
    try:
        while True:
            ready = [s for s in socks
                     if isinstance(s, ssl.SSLSocket) and s.pending()]
            if not ready:
                ready, _, _ = select.select(socks, [], [])
            for s in ready:
                data = s.recv(65536)
                if not data:
                    return
                (b if s is a else a).sendall(data)
    except (OSError, ssl.SSLError):
        pass
    finally:
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


def serve(conn, ctx, upstream_port, upstream_tls):
    try:
        client = ctx.wrap_socket(conn, server_side=True)
        up = socket.create_connection(("127.0.0.1", upstream_port), timeout=20)
        if upstream_tls:
            uctx = ssl.create_default_context()
            uctx.check_hostname = False
            uctx.verify_mode = ssl.CERT_NONE
            up = uctx.wrap_socket(up, server_hostname="127.0.0.1")
    except (OSError, ssl.SSLError):
        conn.close()
        return
    up.settimeout(None)
    relay(client, up)


def main():
    cert, key, upstream_port, portfile = sys.argv[1:5]
    upstream_tls = "--upstream-tls" in sys.argv[5:]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(ls.getsockname()[1]))
    import os
    os.rename(portfile + ".tmp", portfile)
    while True:
        conn, _ = ls.accept()
        threading.Thread(target=serve, args=(conn, ctx, int(upstream_port),
                                             upstream_tls), daemon=True).start()


if __name__ == "__main__":
    main()
