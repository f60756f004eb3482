// ollama-js against the agent's Ollama routes, for models on an Ollama
// provider (the body passes through natively). Ollama's routes for models
// of OpenAI providers are in ollama-openai.test.mjs. Run by
// tests/scenario/sdk-clients.sh; see common.mjs.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";

import { Ollama } from "ollama";

import {
	ANSWER, EMBED_DIMENSIONS, OLLAMA_CHAT, OLLAMA_EMBED, ROOT, TOKEN,
	backendRecord, rejection,
} from "./common.mjs";

function client(token = TOKEN) {
	return new Ollama({
		host: ROOT,
		headers: { Authorization: `Bearer ${token}` },
	});
}

test("ollama-js: list() shows the Ollama provider's models by key", async () => {
	const { models } = await client().list();
	const names = models.map((m) => m.name);
	assert.ok(names.includes(OLLAMA_CHAT), `${OLLAMA_CHAT} in ${names}`);
	assert.ok(names.includes(OLLAMA_EMBED), `${OLLAMA_EMBED} in ${names}`);
	for (const m of models) {
		assert.equal(typeof m.model, "string");
		assert.ok(!Number.isNaN(Date.parse(m.modified_at)),
		    `modified_at ${m.modified_at} is a time`);
		assert.ok(!m.name.includes(";"), "no backend model id leaks");
	}
});

test("ollama-js: chat, not streamed", async () => {
	const marker = randomUUID();
	const r = await client().chat({
		model: OLLAMA_CHAT,
		messages: [{ role: "user", content: `hi ${marker}` }],
		stream: false,
	});
	assert.equal(r.message.role, "assistant");
	assert.equal(r.message.content, ANSWER);
	assert.equal(r.done, true);
	assert.equal(r.done_reason, "stop");
	assert.ok(r.eval_count > 0 && r.prompt_eval_count > 0);
	const rec = await backendRecord(marker);
	assert.equal(rec.path, "/api/chat", "forwarded natively");
	assert.equal(rec.model.split(";")[0], "fake-chat");
});

test("ollama-js: chat, streamed", async () => {
	const pieces = [];
	let last = null;
	for await (const part of await client().chat({
		model: OLLAMA_CHAT,
		messages: [{ role: "user", content: "stream" }],
		stream: true,
	})) {
		if (part.message.content)
			pieces.push(part.message.content);
		last = part;
	}
	assert.equal(pieces.join(""), ANSWER);
	assert.equal(pieces.length, 3, "the backend's 3 pieces, one by one");
	assert.equal(last.done, true);
	assert.ok(last.eval_count > 0);
});

test("ollama-js: generate, plain and streamed", async () => {
	const r = await client().generate({
		model: OLLAMA_CHAT, prompt: "why", stream: false,
	});
	assert.equal(r.response, ANSWER);
	assert.equal(r.done, true);
	let text = "", done = false;
	for await (const part of await client().generate({
		model: OLLAMA_CHAT, prompt: "why", stream: true,
	})) {
		text += part.response;
		done = part.done;
	}
	assert.equal(text, ANSWER);
	assert.equal(done, true);
});

test("ollama-js: embed", async () => {
	const r = await client().embed({
		model: OLLAMA_EMBED, input: ["one", "two"],
	});
	assert.equal(r.embeddings.length, 2);
	for (const e of r.embeddings)
		assert.equal(e.length, EMBED_DIMENSIONS);
	assert.notDeepEqual(r.embeddings[0], r.embeddings[1]);
});

test("ollama-js: errors read as text, not [object Object]", async () => {
	const err = await rejection(client().chat({
		model: "no-such-model",
		messages: [{ role: "user", content: "x" }],
		stream: false,
	}));
	assert.equal(err.name, "ResponseError");
	assert.equal(err.status_code, 404);
	assert.doesNotMatch(err.message, /object Object/);
	assert.match(err.message, /no-such-model|not found/i);
	const bad = await rejection(client("cube_bad").list());
	assert.equal(bad.status_code, 401);
	assert.doesNotMatch(bad.message, /object Object/);
});
