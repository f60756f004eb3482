// ollama-js against models of an OpenAI-compatible provider (Open WebUI
// pointed at Cube in front of vLLM): the agent translates Ollama's routes
// to chat completions and embeddings, and serves /api/show, /api/ps and
// /api/version itself, with the domain in the path or from the token.
// Run by tests/scenario/sdk-clients.sh; see common.mjs.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";

import { Ollama } from "ollama";

import {
	AGENT_URL, ANSWER, CHAT, EMBED, EMBED_DIMENSIONS, PIECES, ROOT, TOKEN,
	backendBody, backendRecord, rejection, roleText,
} from "./common.mjs";

function client(host = ROOT, token = TOKEN) {
	return new Ollama({ host, headers: { Authorization: `Bearer ${token}` } });
}

test("ollama-openai: list() shows the OpenAI provider's models too", async () => {
	const { models } = await client().list();
	const names = models.map((m) => m.name);
	assert.ok(names.includes(CHAT), `${CHAT} in ${names}`);
	assert.ok(names.includes(EMBED), `${EMBED} in ${names}`);
});

test("ollama-openai: chat, not streamed, becomes a chat completion", async () => {
	const marker = randomUUID();
	const r = await client().chat({
		model: CHAT,
		messages: [{ role: "system", content: "Be brief." },
		    { role: "user", content: `hi ${marker}` }],
		options: { temperature: 0.5, num_predict: 64 },
		stream: false,
	});
	assert.equal(r.model, CHAT, "the key asked for, not the backend's id");
	assert.equal(r.message.role, "assistant");
	assert.equal(r.message.content, ANSWER);
	assert.equal(r.done, true);
	assert.equal(r.done_reason, "stop");
	assert.ok(r.prompt_eval_count > 0 && r.eval_count > 0);
	const rec = await backendRecord(marker);
	assert.equal(rec.path, "/v1/chat/completions");
	const body = JSON.parse(rec.body);
	assert.deepEqual(body.messages.map(roleText), [
		["system", "Be brief."],
		["user", `hi ${marker}`],
	]);
	assert.equal(body.temperature, 0.5);
	assert.equal(body.max_tokens, 64);
});

test("ollama-openai: chat, streamed as NDJSON", async () => {
	const pieces = [];
	let last = null;
	for await (const part of await client().chat({
		model: CHAT, messages: [{ role: "user", content: "stream" }],
		stream: true,
	})) {
		assert.equal(part.model, CHAT);
		if (part.message.content)
			pieces.push(part.message.content);
		last = part;
	}
	assert.equal(pieces.length, PIECES);
	assert.equal(pieces.join(""), ANSWER);
	assert.equal(last.done, true);
	assert.equal(last.done_reason, "stop");
	assert.ok(last.eval_count > 0);
});

test("ollama-openai: generate, plain and streamed", async () => {
	const marker = randomUUID();
	const r = await client().generate({
		model: CHAT, prompt: `why ${marker}`, system: "Be brief.",
		stream: false,
	});
	assert.equal(r.response, ANSWER);
	assert.equal(r.done, true);
	assert.equal(r.model, CHAT);
	const rec = await backendRecord(marker);
	assert.match(rec.path, /^\/v1\/(chat\/)?completions$/);
	let text = "";
	for await (const part of await client().generate({
		model: CHAT, prompt: "why", stream: true,
	}))
		text += part.response;
	assert.equal(text, ANSWER);
});

test("ollama-openai: embed and the older embeddings", async () => {
	const marker = randomUUID();
	const r = await client().embed({ model: EMBED, input: [marker, "two"] });
	assert.equal(r.model, EMBED);
	assert.equal(r.embeddings.length, 2);
	for (const e of r.embeddings)
		assert.equal(e.length, EMBED_DIMENSIONS);
	const body = await backendBody(marker);
	assert.deepEqual(body.input, [marker, "two"]);
	const old = await client().embeddings({ model: EMBED, prompt: marker });
	assert.equal(old.embedding.length, EMBED_DIMENSIONS);
	old.embedding.forEach((x, i) =>
	    assert.ok(Math.abs(x - r.embeddings[0][i]) < 1e-6));
});

test("ollama-openai: show, ps and version", async () => {
	const s = await client().show({ model: CHAT });
	assert.equal(typeof s.details, "object");
	assert.equal(typeof s.modified_at, "string");
	assert.ok(!JSON.stringify(s).includes("fake-chat;"),
	    "no backend model id leaks");
	const ps = await client().ps();
	assert.ok(Array.isArray(ps.models));
	const v = await client().version();
	assert.match(v.version, /^\d+\.\d+\.\d+/);
	await assert.rejects(client().show({ model: "no-such-model" }),
	    (e) => e.status_code === 404 && !/object Object/.test(e.message));
});

test("ollama-openai: /api at the root, the domain from the token", async () => {
	const root = client(AGENT_URL);
	const r = await root.chat({ model: CHAT,
	    messages: [{ role: "user", content: "root" }], stream: false });
	assert.equal(r.message.content, ANSWER);
	assert.ok((await root.list()).models.some((m) => m.name === CHAT));
	assert.match((await root.version()).version, /^\d+\.\d+\.\d+/);
});

test("ollama-openai: errors are Ollama's {error: text}", async () => {
	const err = await rejection(client().chat({ model: "no-such-model",
	    messages: [{ role: "user", content: "x" }], stream: false }));
	assert.equal(err.status_code, 404);
	assert.doesNotMatch(err.message, /object Object/);
	assert.match(err.message, /no-such-model|not found/i);
	const bad = await rejection(client(ROOT, "cube_bad").chat({ model: CHAT,
	    messages: [{ role: "user", content: "x" }], stream: false }));
	assert.equal(bad.status_code, 401);
	assert.doesNotMatch(bad.message, /object Object/);
});
