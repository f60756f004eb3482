# An agent from before stats.get's "series", for tests/scenario/tui-views.sh:
# a JSON-RPC admin socket (one object a line) that answers status,
# domain.list, stats.get (refusing "series" as such an agent does: an
# unknown parameter) and logs.list, and method_not_found to the rest.
import json, os, socket, sys, threading

FIG = {"requests": 7, "errors": 1, "requests_per_s": 0.002,
       "error_rate": 0.1429, "latency_p50_ms": 40, "latency_p99_ms": 90,
       "streams": 0, "ttft_p50_ms": None, "ttft_p99_ms": None,
       "prompt_tokens": 70, "completion_tokens": 35}
FIGURES = {"spend_today_usd": "0.25", "1m": FIG, "5m": FIG, "1h": FIG}
STATS = {"time": "2026-12-06T00:00:00Z", "day": "2026-12-06",
         "windows": {"1m": 60, "5m": 300, "1h": 3600}, "host": FIGURES,
         "domains": [dict(domain="d1", name="acme", models=[
             dict(model="chat", **FIGURES)], **FIGURES)]}

def answer(req):
    m, p = req.get("method"), req.get("params") or {}
    if m == "status":
        return {"result": {"version": "0.0.1-old", "uptime_s": 5, "tee": "none"}}
    if m == "domain.list":
        return {"result": [{"id": "d1", "name": "acme", "log_content": False,
                            "trace_retention_days": 30}]}
    if m == "stats.get":
        for k in p:
            if k not in ("domain", "model"):
                return {"error": {"code": -32602,
                                  "message": "unknown parameter '%s'" % k}}
        return {"result": STATS}
    if m == "logs.list":
        return {"result": []}
    return {"error": {"code": -32601, "message": "method not found"}}

def serve(c):
    f = c.makefile("rw")
    for line in f:
        req = json.loads(line)
        if "id" not in req:
            continue
        out = {"jsonrpc": "2.0", "id": req["id"]}
        out.update(answer(req))
        f.write(json.dumps(out) + "\n")
        f.flush()

path = sys.argv[1]
s = socket.socket(socket.AF_UNIX)
s.bind(path)
s.listen(8)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
