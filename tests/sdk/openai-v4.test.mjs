// The oldest supported major of the OpenAI Node SDK (openai 4.x, installed
// as "openai-v4") against the agent: what older apps and frameworks pinned
// to it send and read. Run by tests/scenario/sdk-clients.sh; see common.mjs.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";

import OpenAI, {
	APIUserAbortError,
	AuthenticationError,
	NotFoundError,
} from "openai-v4";

import {
	ALL_MODELS, ANSWER, BAD_TOKEN, BASE, CHAT, EMBED, EMBED_DIMENSIONS, LONG,
	PIECES, REQUEST_ID, TOKEN, TOOL, TOOL_ARGS, TOOL_PIECES, WEATHER,
	WEATHER_RESULT, backendBody, backendRecord, eventually, rejectsWith,
	userSays,
} from "./common.mjs";

function client(opts = {}) {
	return new OpenAI({
		apiKey: TOKEN,
		baseURL: BASE,
		maxRetries: 0,
		timeout: 20_000,
		...opts,
	});
}

const weatherTool = { type: "function", function: WEATHER };

test("openai v4: the installed SDK is 4.x", async () => {
	const { VERSION } = await import("openai-v4/version");
	assert.match(VERSION, /^4\./);
});

test("openai v4: chat.completions.create, non-streaming", async () => {
	const marker = randomUUID();
	const c = await client().chat.completions.create({
		model: CHAT, messages: userSays(`v4 ${marker}`),
	});
	assert.equal(c.object, "chat.completion");
	assert.equal(c.choices.length, 1);
	assert.equal(c.choices[0].message.role, "assistant");
	assert.equal(c.choices[0].message.content, ANSWER);
	assert.equal(c.choices[0].finish_reason, "stop");
	assert.ok(c.usage.total_tokens > 0);
	assert.match(c._request_id ?? "", REQUEST_ID);
	const rec = await backendRecord(marker);
	assert.equal(rec.model.split(";")[0], "fake-chat");
});

test("openai v4: chat.completions.create with stream: true", async () => {
	const stream = await client().chat.completions.create({
		model: CHAT, messages: userSays("v4 stream"), stream: true,
		stream_options: { include_usage: true },
	});
	const pieces = [];
	let finish = null, usage = null;
	for await (const chunk of stream) {
		assert.equal(chunk.object, "chat.completion.chunk");
		if (chunk.usage)
			usage = chunk.usage;
		for (const ch of chunk.choices) {
			if (ch.delta?.content)
				pieces.push(ch.delta.content);
			if (ch.finish_reason)
				finish = ch.finish_reason;
		}
	}
	assert.equal(pieces.length, PIECES);
	assert.equal(pieces.join(""), ANSWER);
	assert.equal(finish, "stop");
	assert.ok(usage && usage.completion_tokens > 0);
});

test("openai v4: embeddings.create, base64 by default and float", async () => {
	const marker = randomUUID();
	const e = await client().embeddings.create({
		model: EMBED, input: [`a ${marker}`, "b"],
	});
	assert.equal(e.data.length, 2);
	for (const [i, d] of e.data.entries()) {
		assert.equal(d.index, i);
		assert.equal(d.embedding.length, EMBED_DIMENSIONS);
		assert.ok(d.embedding.every((x) => Number.isFinite(x) &&
		    x >= -1 && x <= 1));
	}
	assert.equal((await backendBody(marker)).encoding_format, "base64");
	const f = await client().embeddings.create({
		model: EMBED, input: `a ${marker}`, encoding_format: "float",
	});
	// The same text gives the same vector, float32 or float64.
	f.data[0].embedding.forEach((x, i) =>
	    assert.ok(Math.abs(x - e.data[0].embedding[i]) < 1e-6));
});

test("openai v4: models.list() and models.retrieve()", async () => {
	const ids = [];
	for await (const m of client().models.list())
		ids.push(m.id);
	assert.deepEqual([...ids].sort(), [...ALL_MODELS].sort());
	const m = await client().models.retrieve(CHAT);
	assert.equal(m.id, CHAT);
	assert.equal(m.object, "model");
	await rejectsWith(client().models.retrieve("no-such-model"),
	    NotFoundError, 404, "model_not_found");
});

test("openai v4: withResponse() and asResponse() show the headers", async () => {
	const { data, response } = await client().chat.completions.create({
		model: CHAT, messages: userSays("headers"),
	}).withResponse();
	assert.equal(data.choices[0].message.content, ANSWER);
	assert.equal(response.status, 200);
	assert.match(response.headers.get("x-request-id") ?? "", REQUEST_ID);
	assert.equal(data._request_id, response.headers.get("x-request-id"));
	const raw = await client().chat.completions.create({
		model: CHAT, messages: userSays("raw"), stream: true,
	}).asResponse();
	assert.equal(raw.status, 200);
	assert.match(raw.headers.get("content-type") ?? "", /^text\/event-stream/);
	assert.match(raw.headers.get("x-request-id") ?? "", REQUEST_ID);
	assert.match(await raw.text(), /data: \[DONE\]/);
});

test("openai v4: typed errors: NotFoundError, AuthenticationError", async () => {
	const err = await rejectsWith(client().chat.completions.create({
		model: "no-such-model", messages: userSays("x"),
	}), NotFoundError, 404, "model_not_found");
	assert.equal(err.type, "invalid_request_error");
	assert.match(err.request_id ?? "", REQUEST_ID);
	await rejectsWith(client().chat.completions.create({
		model: "no-such-model", messages: userSays("x"), stream: true,
	}), NotFoundError, 404, "model_not_found");
	await rejectsWith(client({ apiKey: BAD_TOKEN }).chat.completions.create({
		model: CHAT, messages: userSays("x"),
	}), AuthenticationError, 401, "invalid_api_key");
	await rejectsWith(client({ apiKey: BAD_TOKEN }).models.list(),
	    AuthenticationError, 401, "invalid_api_key");
});

test("openai v4: abort mid-stream lets the backend go", async () => {
	const marker = randomUUID();
	const ac = new AbortController();
	const stream = await client().chat.completions.create({
		model: LONG, messages: userSays(`long ${marker}`), stream: true,
	}, { signal: ac.signal });
	let deltas = 0, stoppedAt = 0, threw = null;
	try {
		for await (const chunk of stream) {
			if (chunk.choices[0]?.delta?.content)
				deltas++;
			if (deltas === 2 && !stoppedAt) {
				stoppedAt = Date.now();
				ac.abort();
			}
		}
	} catch (e) {
		threw = e;
	}
	assert.ok(stoppedAt > 0, "the stream started");
	assert.ok(Date.now() - stoppedAt < 2000, "the stream ended at once");
	if (threw !== null)
		assert.ok(threw instanceof APIUserAbortError ||
		    threw.name === "AbortError",
		    `unexpected ${threw?.constructor?.name}: ${threw?.message}`);
	await eventually("the agent hung up on the backend", async () =>
	    (await backendRecord(marker)).client_hung_up === true);
	assert.equal((await backendRecord(marker)).completed, false);
});

test("openai v4: a tool call round trip, plain and streamed", async () => {
	const messages = userSays("Weather in Paris?");
	const c = await client().chat.completions.create({
		model: TOOL, messages, tools: [weatherTool],
	});
	assert.equal(c.choices[0].finish_reason, "tool_calls");
	const call = c.choices[0].message.tool_calls[0];
	assert.equal(call.function.name, "get_weather");
	assert.deepEqual(JSON.parse(call.function.arguments), TOOL_ARGS);
	const answer = await client().chat.completions.create({
		model: TOOL, tools: [weatherTool],
		messages: [...messages, c.choices[0].message,
		    { role: "tool", tool_call_id: call.id, content: WEATHER_RESULT }],
	});
	assert.equal(answer.choices[0].message.content, WEATHER_RESULT);

	const runner = client().beta.chat.completions.stream({
		model: TOOL, messages, tools: [weatherTool],
	});
	let argDeltas = 0;
	runner.on("chunk", (chunk) => {
		if (chunk.choices[0]?.delta?.tool_calls?.[0]?.function?.arguments)
			argDeltas++;
	});
	const final = await runner.finalChatCompletion();
	assert.equal(argDeltas, TOOL_PIECES);
	assert.equal(final.choices[0].finish_reason, "tool_calls");
	assert.deepEqual(JSON.parse(final.choices[0].message.tool_calls[0]
	    .function.arguments), TOOL_ARGS);
});
