// An OTLP/HTTP trace receiver for tests/scenario/otlp.sh. It decodes what
// the agent posts with the OpenTelemetry project's own code: the protobuf
// classes @opentelemetry/otlp-transformer generates from opentelemetry-proto
// (ExportTraceServiceRequest.fromObject, then encode and decode on the
// wire), so a field the agent misnames is lost here and the test sees it,
// instead of our encoder being graded by our own decoder. Not a test file.
//
// usage: node otlp-receiver.mjs PORT_FILE OUT_FILE
//   Writes each decoded span as one JSON line to OUT_FILE:
//   {traceId, spanId, parentSpanId, name, kind, start, end, status,
//    attributes: {key: value}, resource: {key: value}, scope}
//   POST /_mode with "ok", "hang", "garbage" or "503" changes how it answers
//   /v1/traces: hang never answers, garbage answers 200 with bytes that are
//   not OTLP, 503 refuses. GET /_stats: {"posts": N, "spans": N, "errors": N}.
import fs from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const root = require(
    "@opentelemetry/otlp-transformer/build/src/generated/root.js");
const Request =
    root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

const [portFile, outFile] = process.argv.slice(2);
let mode = "ok";
const stats = { posts: 0, spans: 0, errors: 0 };

// OTLP/JSON writes trace and span ids as hex (not protobuf JSON's base64).
function hexToBytes(hex, n, what) {
	if (typeof hex !== "string" || hex.length !== 2 * n ||
	    !/^[0-9a-f]*$/.test(hex))
		throw new Error(`${what}: ${JSON.stringify(hex)} is not ${2 * n} lower-case hex digits`);
	return Buffer.from(hex, "hex");
}

function idsToBytes(req) {
	for (const rs of req.resourceSpans ?? [])
		for (const ss of rs.scopeSpans ?? [])
			for (const span of ss.spans ?? []) {
				span.traceId = hexToBytes(span.traceId, 16, "traceId");
				span.spanId = hexToBytes(span.spanId, 8, "spanId");
				if (span.parentSpanId !== undefined)
					span.parentSpanId = hexToBytes(span.parentSpanId, 8,
					    "parentSpanId");
			}
	return req;
}

function anyValue(v) {
	if (v === undefined || v === null)
		return undefined;
	if ("stringValue" in v) return v.stringValue;
	if ("intValue" in v) return { int: String(v.intValue) };
	if ("doubleValue" in v) return { double: v.doubleValue };
	if ("boolValue" in v) return v.boolValue;
	return { unknown: v };
}

function attributes(list) {
	const out = {};
	for (const kv of list ?? [])
		out[kv.key] = anyValue(kv.value);
	return out;
}

const hex = (b) => b === undefined ? undefined : Buffer.from(b, "base64").toString("hex");

function decode(body) {
	const msg = Request.fromObject(idsToBytes(JSON.parse(body)));
	const wire = Request.encode(msg).finish();
	const back = Request.toObject(Request.decode(wire), {
		longs: String, enums: String, bytes: String,
	});
	const spans = [];
	for (const rs of back.resourceSpans ?? []) {
		const resource = attributes(rs.resource?.attributes);
		for (const ss of rs.scopeSpans ?? [])
			for (const s of ss.spans ?? [])
				spans.push({
					traceId: hex(s.traceId), spanId: hex(s.spanId),
					parentSpanId: hex(s.parentSpanId) || undefined,
					name: s.name, kind: s.kind,
					start: s.startTimeUnixNano, end: s.endTimeUnixNano,
					status: s.status ?? null,
					attributes: attributes(s.attributes),
					resource, scope: ss.scope ?? null,
				});
	}
	return spans;
}

const server = http.createServer((req, res) => {
	const chunks = [];
	req.on("data", (c) => chunks.push(c));
	req.on("end", () => {
		const body = Buffer.concat(chunks).toString("utf8");
		if (req.url === "/_mode" && req.method === "POST") {
			mode = body.trim();
			res.end("ok\n");
			return;
		}
		if (req.url === "/_stats") {
			res.setHeader("Content-Type", "application/json");
			res.end(JSON.stringify(stats));
			return;
		}
		if (req.url !== "/v1/traces" || req.method !== "POST") {
			res.statusCode = 404;
			res.end();
			return;
		}
		stats.posts++;
		if (mode === "hang")
			return;	/* never answers; the agent's timeout ends it */
		if (mode === "503") {
			res.statusCode = 503;
			res.end("busy\n");
			return;
		}
		if (mode === "garbage") {
			res.setHeader("Content-Type", "application/json");
			res.end("\u0000\u00ff{not otlp".repeat(1000));
			return;
		}
		let spans;
		try {
			if (req.headers["content-type"] !== "application/json")
				throw new Error(`content-type ${req.headers["content-type"]}`);
			spans = decode(body);
		} catch (e) {
			stats.errors++;
			fs.appendFileSync(outFile, JSON.stringify({ error: String(e) }) + "\n");
			res.statusCode = 400;
			res.end(JSON.stringify({ error: String(e) }));
			return;
		}
		for (const s of spans) {
			s.authorization = req.headers["authorization"] ?? null;
			fs.appendFileSync(outFile, JSON.stringify(s) + "\n");
		}
		stats.spans += spans.length;
		res.setHeader("Content-Type", "application/json");
		res.end("{}");
	});
});

server.listen(0, "127.0.0.1", () => {
	fs.writeFileSync(portFile + ".tmp", String(server.address().port));
	fs.renameSync(portFile + ".tmp", portFile);
});
process.on("SIGTERM", () => process.exit(0));
