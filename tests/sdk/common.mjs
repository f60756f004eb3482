// What every tests/sdk/*.test.mjs shares: the environment
// tests/lib.sh's sdk_domain_setup exports, and helpers that read the fake
// backend's record of what reached it. Not a test file itself.
//   AGENT_URL          http://127.0.0.1:PORT of the agent
//   BACKEND_URL        the fake backend (its /_requests record what arrived)
//   CUBE_DOMAIN        domain name; CUBE_TOKEN its API token
//   CUBE_LIMITED_TOKEN a token of it with limits: CUBE_LIMITED_RPM requests
//                      and CUBE_LIMITED_TPM tokens a minute
//   CUBE_CHAT_MODEL    chat model key (streams CUBE_ANSWER_PIECES pieces)
//   CUBE_EMBED_MODEL   embedding model key (fake-embed: 8 dimensions)
//   CUBE_TOOL_MODEL    chat model key that calls get_weather when offered
//                      (arguments CUBE_TOOL_ARGS, in CUBE_TOOL_PIECES deltas)
//                      and answers a tool's result with that result
//   CUBE_JSON_MODEL    chat model key that answers CUBE_JSON_ANSWER (JSON)
//   CUBE_LONG_MODEL    chat model key whose stream lasts several seconds
//   CUBE_BROKEN_MODEL  chat model key whose backend answers 500
//   CUBE_RESET_MODEL   chat model key whose backend resets mid-stream
//   CUBE_FIM_MODEL     a model key whose backend serves /v1/fim/completions
//   CUBE_RERANK_MODEL  a model key whose backend serves /v1/rerank
//   CUBE_SLASH_MODEL   a chat model key with a "/" in it
//   CUBE_OLLAMA_CHAT   chat model key on an Ollama provider
//   CUBE_OLLAMA_EMBED  embedding model key on an Ollama provider
//   CUBE_NATIVE_MODEL  chat model key on a provider that serves
//                      /v1/responses itself (passed through, not translated)
//   CUBE_ALL_MODELS    comma-separated keys models.list() must show
//   CUBE_FOREIGN_MODEL a model key of another domain (must stay invisible)
//   CUBE_ANSWER        the text the chat models answer
import assert from "node:assert/strict";

export function env(name, fallback) {
	const v = process.env[name] ?? fallback;
	if (v === undefined || v === "")
		throw new Error(`${name} is not set; run tests/scenario/sdk-clients.sh`);
	return v;
}

export const AGENT_URL = env("AGENT_URL");
export const BACKEND_URL = env("BACKEND_URL");
export const DOMAIN = env("CUBE_DOMAIN");
export const TOKEN = env("CUBE_TOKEN");
export const LIMITED_TOKEN = env("CUBE_LIMITED_TOKEN");
export const LIMITED_RPM = Number(env("CUBE_LIMITED_RPM"));
export const LIMITED_TPM = Number(env("CUBE_LIMITED_TPM"));
export const CHAT = env("CUBE_CHAT_MODEL");
export const EMBED = env("CUBE_EMBED_MODEL");
export const TOOL = env("CUBE_TOOL_MODEL");
export const TOOL_ARGS = JSON.parse(env("CUBE_TOOL_ARGS"));
export const TOOL_PIECES = Number(env("CUBE_TOOL_PIECES"));
export const JSON_MODEL = env("CUBE_JSON_MODEL");
export const JSON_ANSWER = JSON.parse(env("CUBE_JSON_ANSWER"));
export const LONG = env("CUBE_LONG_MODEL");
export const BROKEN = env("CUBE_BROKEN_MODEL");
export const RESET = env("CUBE_RESET_MODEL");
export const FIM = env("CUBE_FIM_MODEL");
export const RERANK = env("CUBE_RERANK_MODEL");
export const SLASH = env("CUBE_SLASH_MODEL");
export const OLLAMA_CHAT = env("CUBE_OLLAMA_CHAT");
export const OLLAMA_EMBED = env("CUBE_OLLAMA_EMBED");
export const NATIVE = env("CUBE_NATIVE_MODEL");
export const ALL_MODELS = env("CUBE_ALL_MODELS").split(",");
export const FOREIGN = env("CUBE_FOREIGN_MODEL");
export const ANSWER = env("CUBE_ANSWER", "Hello from fake-llm.");
export const PIECES = Number(env("CUBE_ANSWER_PIECES", "5"));
export const ROOT = `${AGENT_URL}/proxy/${DOMAIN}`;
export const BASE = `${ROOT}/v1`;
export const EMBED_DIMENSIONS = 8;
export const BAD_TOKEN = "cube_" + "A".repeat(43);
export const REQUEST_ID = /^[0-9a-f]{32}$/;

// The function the tool model calls, as JSON Schema; what it "returns".
export const WEATHER = {
	name: "get_weather",
	description: "The current weather in a city",
	parameters: {
		type: "object",
		properties: {
			city: { type: "string" },
			unit: { type: "string", enum: ["celsius", "fahrenheit"] },
		},
		required: ["city", "unit"],
		additionalProperties: false,
	},
};
export const WEATHER_RESULT = "22 degrees and sunny";

export function userSays(text) {
	return [{ role: "user", content: text }];
}

// A chat message as [role, its text]: content a string or text parts.
export function roleText(m) {
	const c = m.content;
	return [m.role, typeof c === "string" ? c :
	    (c ?? []).filter((p) => p.type === "text").map((p) => p.text)
	    .join("")];
}

// Every request the fake backend recorded, oldest first.
export async function backendRequests() {
	const res = await fetch(`${BACKEND_URL}/_requests`);
	return res.json();
}

// What the fake backend recorded for the one request whose body holds marker.
export async function backendRecord(marker) {
	const hits = (await backendRequests()).filter((r) => r.body &&
	    r.body.includes(marker));
	assert.equal(hits.length, 1, `one backend request carries ${marker}`);
	return hits[0];
}

// Its body, parsed.
export async function backendBody(marker) {
	return JSON.parse((await backendRecord(marker)).body);
}

export async function eventually(what, fn, ms = 3000) {
	const end = Date.now() + ms;
	for (;;) {
		if (await fn())
			return;
		if (Date.now() > end)
			assert.fail(`${what}: not within ${ms} ms`);
		await new Promise((r) => setTimeout(r, 50));
	}
}

// The error promise rejects with; fails when it resolves.
export async function rejection(promise) {
	try {
		await promise;
	} catch (e) {
		return e;
	}
	assert.fail("expected an error, the call succeeded");
}

// An SDK's typed error: its class, status and code.
export async function rejectsWith(promise, cls, status, code) {
	const err = await rejection(promise);
	assert.ok(err instanceof cls,
	    `expected ${cls.name}, got ${err?.constructor?.name}: ${err?.message}`);
	assert.equal(err.status, status);
	if (code !== undefined)
		assert.equal(err.code, code);
	assert.equal(typeof err.message, "string");
	return err;
}

// POST a JSON body to the agent with the token; the Response.
export function agentPost(path, body, headers = {}) {
	return fetch(`${AGENT_URL}${path}`, {
		method: "POST",
		headers: {
			Authorization: `Bearer ${TOKEN}`,
			"Content-Type": "application/json",
			...headers,
		},
		body: JSON.stringify(body),
	});
}

// The data: payloads of an SSE body, JSON-parsed ("[DONE]" kept as is).
export function sseEvents(text) {
	const out = [];
	for (const block of text.split(/\r?\n\r?\n/)) {
		const data = block.split(/\r?\n/).filter((l) => l.startsWith("data:"))
		    .map((l) => l.slice(5).replace(/^ /, "")).join("\n");
		if (data === "")
			continue;
		out.push(data === "[DONE]" ? data : JSON.parse(data));
	}
	return out;
}
