#!/usr/bin/env python3
"""An admin-socket relay that lies about the agent's TLS key: it passes
JSON-RPC lines between a client and the agent's real socket, but rewrites
status's tls.spki_sha256 to another key, as a tampered agent or channel
would. The evidence (attestation.get) passes untouched, so it binds the
real key. Usage: admin-relay.py AGENT_SOCK LISTEN_SOCK SPKI_HEX. Creates
LISTEN_SOCK once it listens; serves until killed."""
import json
import os
import socket
import sys
import threading


def relay(client, agent_path, spki):
    agent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    agent.connect(agent_path)
    methods = {}
    lock = threading.Lock()

    def up():
        buf = b""
        try:
            while True:
                b = client.recv(65536)
                if not b:
                    break
                buf += b
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    try:
                        req = json.loads(line)
                        with lock:
                            methods[json.dumps(req.get("id"))] = req.get("method")
                    except (ValueError, AttributeError):
                        pass
                    agent.sendall(line + b"\n")
        except OSError:
            pass
        finally:
            try:
                agent.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def down():
        buf = b""
        try:
            while True:
                b = agent.recv(65536)
                if not b:
                    break
                buf += b
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    try:
                        rep = json.loads(line)
                        with lock:
                            method = methods.pop(json.dumps(rep.get("id")), None)
                        tls = rep.get("result", {}).get("tls") \
                            if method == "status" else None
                        if isinstance(tls, dict):
                            tls["on"] = True
                            tls["spki_sha256"] = spki
                            line = json.dumps(rep).encode()
                    except (ValueError, AttributeError):
                        pass
                    client.sendall(line + b"\n")
        except OSError:
            pass
        finally:
            for s in (client, agent):
                try:
                    s.close()
                except OSError:
                    pass

    threading.Thread(target=up, daemon=True).start()
    threading.Thread(target=down, daemon=True).start()


def main():
    agent_path, listen_path, spki = sys.argv[1], sys.argv[2], sys.argv[3]
    tmp = listen_path + ".tmp"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(tmp)
    srv.listen(16)
    os.rename(tmp, listen_path)
    while True:
        conn, _ = srv.accept()
        relay(conn, agent_path, spki)


if __name__ == "__main__":
    main()
