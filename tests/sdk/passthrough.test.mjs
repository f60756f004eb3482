// What the agent passes through or answers for every client: Continue's
// FIM (/v1/fim/completions) and rerank (/v1/rerank) to backends that serve
// them, the `model` field equal to the key the client asked for (never the
// backend's model id), GET /v1/models/KEY for a key with "/". Run by
// tests/scenario/sdk-clients.sh; see common.mjs.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";

import OpenAI from "openai";
import OpenAIv4 from "openai-v4";
import { constructLlmApi } from "@continuedev/openai-adapters";

import {
	AGENT_URL, ANSWER, BASE, CHAT, EMBED, FIM, RERANK, SLASH, TOKEN,
	agentPost, backendRecord, rejection,
} from "./common.mjs";

const opts = { apiKey: TOKEN, baseURL: BASE, maxRetries: 0, timeout: 20_000 };
const PATH = new URL(BASE).pathname;

function continueApi() {
	return constructLlmApi({ provider: "openai", apiKey: TOKEN,
	    apiBase: `${BASE}/`, requestOptions: undefined });
}

// --- Continue: FIM and rerank, passed through ----------------------------

test("continue: fimStream streams the backend's fill-in-the-middle", async () => {
	const marker = randomUUID();
	const prompt = `def add(a, b): # ${marker}`;
	const pieces = [];
	for await (const chunk of continueApi().fimStream({
		model: FIM, prompt, suffix: "return c", max_tokens: 64,
	}, new AbortController().signal)) {
		assert.equal(chunk.model, FIM, "the key, not the backend's id");
		if (chunk.choices[0]?.delta?.content)
			pieces.push(chunk.choices[0].delta.content);
	}
	// The FIM model answers its prompt back, in 3 pieces.
	assert.equal(pieces.join(""), prompt);
	assert.equal(pieces.length, 3);
	const rec = await backendRecord(marker);
	assert.equal(rec.path, "/v1/fim/completions");
	const body = JSON.parse(rec.body);
	assert.equal(body.model.split(";")[0], "fake-chat");
	assert.equal(body.suffix, "return c");
	assert.equal(body.stream, true);
});

test("fim: a whole answer, and an unknown model's 404", async () => {
	const res = await agentPost(`${PATH}/fim/completions`,
	    { model: FIM, prompt: "x = ", suffix: ";" });
	assert.equal(res.status, 200);
	const c = await res.json();
	assert.equal(c.model, FIM);
	assert.equal(c.choices[0].message.content, "x = ");
	assert.match(res.headers.get("x-request-id") ?? "", /^[0-9a-f]{32}$/);
	const nf = await agentPost(`${PATH}/fim/completions`,
	    { model: "no-such-model", prompt: "x" });
	assert.equal(nf.status, 404);
	assert.equal((await nf.json()).error.code, "model_not_found");
});

test("continue: rerank passes through, results by relevance", async () => {
	const marker = randomUUID();
	const r = await continueApi().rerank({
		model: RERANK,
		query: `capital of France ${marker}`,
		documents: ["Berlin is in Germany", "Paris is the capital of France"],
	});
	assert.equal(r.model, RERANK, "the key, not the backend's id");
	assert.deepEqual(r.results.map((x) => x.index), [1, 0]);
	assert.ok(r.results[0].relevance_score > r.results[1].relevance_score);
	const rec = await backendRecord(marker);
	assert.equal(rec.path, "/v1/rerank");
	assert.equal(JSON.parse(rec.body).model, "fake-rerank");
});

test("rerank: top_n and return_documents reach the backend", async () => {
	const res = await agentPost(`${PATH}/rerank`, {
		model: RERANK, query: "France", documents: ["Spain", "France"],
		top_n: 1, return_documents: false,
	});
	assert.equal(res.status, 200);
	assert.deepEqual((await res.json()).results,
	    [{ index: 1, relevance_score: 1 }]);
});

// --- the model field is the key the client asked for ---------------------

test("model field: the key on answers, chunks and embeddings", async () => {
	const c = new OpenAI(opts);
	const whole = await c.chat.completions.create({
		model: CHAT, messages: [{ role: "user", content: "x" }],
	});
	assert.equal(whole.model, CHAT);
	assert.equal(whole.choices[0].message.content, ANSWER);
	const stream = await c.chat.completions.create({
		model: CHAT, messages: [{ role: "user", content: "x" }],
		stream: true, stream_options: { include_usage: true },
	});
	for await (const chunk of stream)
		assert.equal(chunk.model, CHAT);
	const legacy = await c.completions.create({ model: CHAT, prompt: "x" });
	assert.equal(legacy.model, CHAT);
	const e = await c.embeddings.create({ model: EMBED, input: "x" });
	assert.equal(e.model, EMBED);
});

// --- GET /v1/models/KEY ----------------------------------------------------

test("models: retrieve a key with '/', percent-encoded or not", async () => {
	const list = await new OpenAI(opts).models.list();
	const listed = list.data.find((m) => m.id === SLASH);
	assert.ok(listed, `${SLASH} is listed`);
	// openai 7 percent-encodes the id; openai 4 sends it as it is.
	for (const c of [new OpenAI(opts), new OpenAIv4(opts)]) {
		const m = await c.models.retrieve(SLASH);
		assert.equal(m.id, SLASH);
		assert.equal(m.object, "model");
		assert.equal(m.created, listed.created, "the list's created");
		assert.equal(m.owned_by, listed.owned_by);
	}
	for (const path of [`${PATH}/models/${encodeURIComponent(SLASH)}`,
	    `${PATH}/models/${SLASH}`]) {
		const res = await fetch(`${AGENT_URL}${path}`,
		    { headers: { Authorization: `Bearer ${TOKEN}` } });
		assert.equal(res.status, 200, path);
		assert.equal((await res.json()).id, SLASH);
	}
	const err = await rejection(new OpenAI(opts).models.retrieve("no/such"));
	assert.equal(err.status, 404);
	assert.equal(err.code, "model_not_found");
});
