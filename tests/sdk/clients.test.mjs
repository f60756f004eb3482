// Real OpenAI-compatible clients against a running cube-agent: the official
// OpenAI Node SDK (latest) and Continue's model layer
// (@continuedev/openai-adapters). tests/scenario/sdk-clients.sh starts
// fake-llm and the agent, sets up the domain and runs each tests/sdk file
// with `node --test`; common.mjs says what the environment holds.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";

import OpenAI, {
	APIError,
	APIUserAbortError,
	AuthenticationError,
	InternalServerError,
	NotFoundError,
} from "openai";
import { constructLlmApi } from "@continuedev/openai-adapters";

import {
	AGENT_URL, ALL_MODELS, ANSWER, BACKEND_URL, BASE, BROKEN, CHAT, EMBED,
	EMBED_DIMENSIONS, FOREIGN, LONG, PIECES, RESET, TOKEN, TOOL, TOOL_ARGS,
	TOOL_PIECES, WEATHER, WEATHER_RESULT, backendBody, backendRecord,
	eventually, rejectsWith, userSays,
} from "./common.mjs";

// No retries: a gateway error must show, not be retried away.
function client(opts = {}) {
	return new OpenAI({
		apiKey: TOKEN,
		baseURL: BASE,
		maxRetries: 0,
		timeout: 20_000,
		...opts,
	});
}

// --- OpenAI Node SDK, baseURL .../proxy/DOMAIN/v1 ------------------------

test("openai: models.list() lists the domain's model keys", async () => {
	const ids = [];
	for await (const m of client().models.list())
		ids.push(m.id);
	assert.deepEqual([...ids].sort(), [...ALL_MODELS].sort());
	assert.ok(!ids.includes(FOREIGN), "another domain's model is not listed");
	const page = await client().models.list();
	for (const m of page.data) {
		assert.equal(m.object, "model");
		assert.equal(typeof m.owned_by, "string");
	}
});

test("openai: chat.completions.create, non-streaming", async () => {
	const marker = randomUUID();
	const c = await client().chat.completions.create({
		model: CHAT,
		messages: userSays(`Say hello ${marker}`),
	});
	assert.equal(c.object, "chat.completion");
	assert.equal(c.choices.length, 1);
	assert.equal(c.choices[0].message.role, "assistant");
	assert.equal(c.choices[0].message.content, ANSWER);
	assert.equal(c.choices[0].finish_reason, "stop");
	assert.ok(c.usage.total_tokens > 0, "usage relayed");
	const rec = await backendRecord(marker);
	assert.equal(rec.status, 200);
	assert.ok(rec.model.startsWith("fake-chat"), "backend got the model id, not the key");
});

test("openai: chat.completions.create with stream: true yields the deltas in order", async () => {
	const marker = randomUUID();
	const stream = await client().chat.completions.create({
		model: CHAT,
		messages: userSays(`Stream ${marker}`),
		stream: true,
		stream_options: { include_usage: true },
	});
	const pieces = [];
	const arrivals = [];
	let finish = null, usage = null, chunks = 0;
	for await (const chunk of stream) {
		chunks++;
		assert.equal(chunk.object, "chat.completion.chunk");
		if (chunk.usage)
			usage = chunk.usage;
		for (const ch of chunk.choices) {
			if (ch.delta?.content) {
				pieces.push(ch.delta.content);
				arrivals.push(Date.now());
			}
			if (ch.finish_reason)
				finish = ch.finish_reason;
		}
	}
	assert.equal(pieces.length, PIECES, `${PIECES} content deltas`);
	assert.equal(pieces.join(""), ANSWER);
	assert.equal(finish, "stop");
	assert.ok(usage && usage.total_tokens > 0, "include_usage chunk relayed");
	// The backend spaces the pieces 100 ms apart: they must not arrive
	// all at once (a buffering gateway would deliver them together).
	assert.ok(arrivals.at(-1) - arrivals[0] >= 250,
	    `deltas arrive as sent (spread ${arrivals.at(-1) - arrivals[0]} ms)`);
	assert.ok(chunks >= PIECES + 2);
	const rec = await backendRecord(marker);
	assert.equal(rec.completed, true);
	assert.equal(rec.client_hung_up, false);
});

test("openai: stream helper chat.completions.stream() and finalChatCompletion()", async () => {
	const stream = client().chat.completions.stream({
		model: CHAT,
		messages: userSays("helper"),
	});
	let text = "";
	stream.on("content", (delta) => { text += delta; });
	const final = await stream.finalChatCompletion();
	assert.equal(text, ANSWER);
	assert.equal(final.choices[0].message.content, ANSWER);
});

test("openai: legacy completions, plain and streaming", async () => {
	const c = await client().completions.create({ model: CHAT, prompt: "Say hi" });
	assert.equal(c.object, "text_completion");
	assert.equal(c.choices[0].text, ANSWER);
	const stream = await client().completions.create({
		model: CHAT, prompt: "Say hi", stream: true,
	});
	let text = "";
	for await (const chunk of stream)
		text += chunk.choices[0]?.text ?? "";
	assert.equal(text, ANSWER);
});

test("openai: embeddings.create returns one vector per input", async () => {
	const marker = randomUUID();
	// The SDK asks for base64 unless told otherwise and decodes it.
	const e = await client().embeddings.create({
		model: EMBED,
		input: [`first ${marker}`, "second"],
	});
	assert.equal(e.object, "list");
	assert.equal(e.data.length, 2);
	for (const [i, d] of e.data.entries()) {
		assert.equal(d.index, i);
		assert.equal(d.embedding.length, EMBED_DIMENSIONS);
		assert.ok(d.embedding.every((x) => typeof x === "number" && Number.isFinite(x)));
	}
	assert.notDeepEqual(e.data[0].embedding, e.data[1].embedding);
	const rec = await backendRecord(marker);
	assert.equal(JSON.parse(rec.body).encoding_format, "base64",
	    "the SDK's encoding_format reaches the backend");
	const f = await client().embeddings.create({
		model: EMBED, input: "hello", encoding_format: "float",
	});
	assert.equal(f.data.length, 1);
	assert.equal(f.data[0].embedding.length, EMBED_DIMENSIONS);
});

test("openai: unknown model raises NotFoundError model_not_found", async () => {
	const err = await rejectsWith(client().chat.completions.create({
		model: "no-such-model", messages: userSays("x"),
	}), NotFoundError, 404, "model_not_found");
	assert.equal(err.type, "invalid_request_error");
	await rejectsWith(client().chat.completions.create({
		model: "no-such-model", messages: userSays("x"), stream: true,
	}), NotFoundError, 404, "model_not_found");
	await rejectsWith(client().embeddings.create({
		model: "no-such-model", input: "x",
	}), NotFoundError, 404, "model_not_found");
	// Another domain's model does not resolve with this token either.
	await rejectsWith(client().chat.completions.create({
		model: FOREIGN, messages: userSays("x"),
	}), NotFoundError, 404, "model_not_found");
});

test("openai: a bad key raises AuthenticationError invalid_api_key", async () => {
	const bad = client({ apiKey: "cube_" + "A".repeat(43) });
	await rejectsWith(bad.chat.completions.create({
		model: CHAT, messages: userSays("x"),
	}), AuthenticationError, 401, "invalid_api_key");
	await rejectsWith(bad.models.list(), AuthenticationError, 401,
	    "invalid_api_key");
	await rejectsWith(client({ apiKey: "sk-not-a-cube-token" }).chat.completions
	    .create({ model: CHAT, messages: userSays("x"), stream: true }),
	    AuthenticationError, 401, "invalid_api_key");
});

test("openai: backend failures surface as the gateway's upstream_error", async () => {
	// Non-streaming: backend 500 -> 502; the SDK's InternalServerError.
	await rejectsWith(client().chat.completions.create({
		model: BROKEN, messages: userSays("x"),
	}), InternalServerError, 502, "upstream_error");
	// Streaming: the backend resets after 2 pieces; the agent ends the
	// stream with an error event, which the SDK raises as an APIError.
	const stream = await client().chat.completions.create({
		model: RESET, messages: userSays("x"), stream: true,
	});
	let text = "", err = null;
	try {
		for await (const chunk of stream)
			text += chunk.choices[0]?.delta?.content ?? "";
	} catch (e) {
		err = e;
	}
	assert.ok(err instanceof APIError, `an APIError, got ${err?.constructor?.name}: ${err?.message}`);
	assert.equal(err.code, "upstream_error");
	assert.ok(text.length > 0 && ANSWER.startsWith(text) && text !== ANSWER,
	    `the pieces before the reset arrived (${JSON.stringify(text)})`);
});

// Read a long stream until two content deltas, then stop it with stop().
// Returns how long the stop took and the backend's record of the request.
async function abortMidway(stop, { signal, marker } = {}) {
	const stream = await client().chat.completions.create({
		model: LONG,
		messages: userSays(`long ${marker}`),
		stream: true,
	}, signal ? { signal } : undefined);
	let deltas = 0, stoppedAt = 0, threw = null;
	try {
		for await (const chunk of stream) {
			if (chunk.choices[0]?.delta?.content)
				deltas++;
			if (deltas === 2 && !stoppedAt) {
				stoppedAt = Date.now();
				if (stop(stream) === "break")
					break;
			}
		}
	} catch (e) {
		threw = e;
	}
	const took = Date.now() - stoppedAt;
	assert.ok(stoppedAt > 0, "the stream started");
	assert.ok(took < 2000, `the stream ended ${took} ms after the abort`);
	await eventually("the agent hung up on the backend", async () =>
	    (await backendRecord(marker)).client_hung_up === true);
	const rec = await backendRecord(marker);
	assert.equal(rec.completed, false, "the backend did not finish the stream");
	return { deltas, threw };
}

test("openai: stream.controller.abort() midway ends the stream", async () => {
	const { deltas, threw } = await abortMidway((s) => s.controller.abort(),
	    { marker: randomUUID() });
	assert.equal(threw, null, "iteration ends without an error");
	assert.ok(deltas <= 3);
});

test("openai: AbortController signal midway ends the stream", async () => {
	const ac = new AbortController();
	const { threw } = await abortMidway(() => ac.abort(),
	    { signal: ac.signal, marker: randomUUID() });
	// openai 7.57 ends the iteration quietly; an abort error would do too.
	// What matters is that it ends promptly and the backend is let go.
	if (threw !== null)
		assert.ok(threw instanceof APIUserAbortError || threw.name === "AbortError",
		    `unexpected ${threw?.constructor?.name}: ${threw?.message}`);
});

test("openai: break out of the stream midway", async () => {
	const { threw } = await abortMidway(() => "break", { marker: randomUUID() });
	assert.equal(threw, null);
});

test("openai: the agent still answers after the aborts", async () => {
	const c = await client().chat.completions.create({
		model: CHAT, messages: userSays("after"),
	});
	assert.equal(c.choices[0].message.content, ANSWER);
});

// --- tools and choices ---------------------------------------------------

const weatherTool = { type: "function", function: WEATHER };

test("openai: a tool call and its result, round trip", async () => {
	const marker = randomUUID();
	const messages = userSays(`Weather in Paris? ${marker}`);
	const c = await client().chat.completions.create({
		model: TOOL, messages, tools: [weatherTool],
	});
	assert.equal(c.choices[0].finish_reason, "tool_calls");
	const msg = c.choices[0].message;
	assert.equal(msg.content, null);
	assert.equal(msg.tool_calls.length, 1);
	const call = msg.tool_calls[0];
	assert.equal(call.type, "function");
	assert.equal(call.function.name, "get_weather");
	assert.deepEqual(JSON.parse(call.function.arguments), TOOL_ARGS);
	assert.match(call.id, /^call_/);
	// The tools reached the backend as sent.
	assert.deepEqual((await backendBody(marker)).tools, [weatherTool]);
	const answer = await client().chat.completions.create({
		model: TOOL,
		messages: [...messages, msg,
		    { role: "tool", tool_call_id: call.id, content: WEATHER_RESULT }],
		tools: [weatherTool],
	});
	assert.equal(answer.choices[0].finish_reason, "stop");
	assert.equal(answer.choices[0].message.content, WEATHER_RESULT);
});

test("openai: a streamed tool call: arguments in deltas, finalChatCompletion()", async () => {
	const stream = await client().chat.completions.create({
		model: TOOL, messages: userSays("Weather?"), tools: [weatherTool],
		stream: true,
	});
	const argDeltas = [];
	let name = null, id = null, finish = null;
	for await (const chunk of stream) {
		const ch = chunk.choices[0];
		if (!ch)
			continue;
		for (const tc of ch.delta?.tool_calls ?? []) {
			assert.equal(tc.index, 0);
			name ??= tc.function?.name ?? null;
			id ??= tc.id ?? null;
			if (tc.function?.arguments)
				argDeltas.push(tc.function.arguments);
		}
		if (ch.finish_reason)
			finish = ch.finish_reason;
	}
	assert.equal(name, "get_weather");
	assert.match(id ?? "", /^call_/);
	assert.equal(argDeltas.length, TOOL_PIECES, "the arguments in pieces");
	assert.deepEqual(JSON.parse(argDeltas.join("")), TOOL_ARGS);
	assert.equal(finish, "tool_calls");
	// The SDK's own accumulator puts the pieces together too.
	const final = await client().chat.completions.stream({
		model: TOOL, messages: userSays("Weather?"), tools: [weatherTool],
	}).finalChatCompletion();
	const call = final.choices[0].message.tool_calls[0];
	assert.equal(call.function.name, "get_weather");
	assert.deepEqual(JSON.parse(call.function.arguments), TOOL_ARGS);
	assert.equal(final.choices[0].finish_reason, "tool_calls");
});

test("openai: n > 1 gives n choices, plain and streamed", async () => {
	const c = await client().chat.completions.create({
		model: CHAT, messages: userSays("three"), n: 3,
	});
	assert.deepEqual(c.choices.map((ch) => ch.index), [0, 1, 2]);
	for (const ch of c.choices) {
		assert.equal(ch.message.content, ANSWER);
		assert.equal(ch.finish_reason, "stop");
	}
	const stream = await client().chat.completions.create({
		model: CHAT, messages: userSays("two"), n: 2, stream: true,
	});
	const text = ["", ""];
	for await (const chunk of stream)
		for (const ch of chunk.choices)
			text[ch.index] += ch.delta?.content ?? "";
	assert.deepEqual(text, [ANSWER, ANSWER]);
});

test("openai: logprobs with top_logprobs, and legacy completions' logprobs", async () => {
	const c = await client().chat.completions.create({
		model: CHAT, messages: userSays("lp"), logprobs: true,
		top_logprobs: 2,
	});
	const lp = c.choices[0].logprobs.content;
	assert.equal(lp.map((t) => t.token).join(""), ANSWER);
	for (const t of lp) {
		assert.ok(t.logprob <= 0);
		assert.equal(t.top_logprobs.length, 2);
		assert.equal(t.top_logprobs[0].token, t.token);
	}
	// Legacy completions: parallel arrays.
	const legacy = await client().completions.create({
		model: CHAT, prompt: "lp", logprobs: 2,
	});
	const l = legacy.choices[0].logprobs;
	assert.equal(l.tokens.join(""), ANSWER);
	assert.equal(l.token_logprobs.length, l.tokens.length);
	assert.deepEqual(l.top_logprobs.map((t) => Object.keys(t).length),
	    l.tokens.map(() => 2));
});

// --- x-request-id: the gateway's, on answers, streams and errors ---------

test("openai: answers, streams and errors carry the gateway's x-request-id", async () => {
	const ID = /^[0-9a-f]{32}$/;
	const ids = new Set();
	const c = await client().chat.completions.create({
		model: CHAT, messages: userSays("id"),
	});
	assert.match(c._request_id ?? "", ID, "a whole answer's _request_id");
	ids.add(c._request_id);
	const { data: stream, response } = await client().chat.completions
	    .create({ model: CHAT, messages: userSays("id"), stream: true })
	    .withResponse();
	for await (const _ of stream)
		;
	const sid = response.headers.get("x-request-id") ?? "";
	assert.match(sid, ID, "a stream's head");
	ids.add(sid);
	// Thunks: a request made before the loop awaits it could reject
	// unhandled meanwhile.
	for (const [call, cls, status, code] of [
		[() => client({ apiKey: "cube_" + "A".repeat(43) }).models.list(),
		    AuthenticationError, 401, "invalid_api_key"],
		[() => client().chat.completions.create({ model: "no-such-model",
		    messages: userSays("x") }), NotFoundError, 404,
		    "model_not_found"],
		[() => client().chat.completions.create({ model: BROKEN,
		    messages: userSays("x") }), InternalServerError, 502,
		    "upstream_error"],
	]) {
		const err = await rejectsWith(call(), cls, status, code);
		assert.match(err.requestID ?? "", ID, `the ${status}'s requestID`);
		ids.add(err.requestID);
	}
	assert.equal(ids.size, 5, "each request its own id");
});

// --- the /v1 alias: the domain comes from the token ----------------------

test("openai: /v1 alias (domain from the token)", async () => {
	const alias = client({ baseURL: `${AGENT_URL}/v1` });
	const ids = (await alias.models.list()).data.map((m) => m.id);
	assert.deepEqual([...ids].sort(), [...ALL_MODELS].sort());
	const c = await alias.chat.completions.create({
		model: CHAT, messages: userSays("alias"),
	});
	assert.equal(c.choices[0].message.content, ANSWER);
	const stream = await alias.chat.completions.create({
		model: CHAT, messages: userSays("alias"), stream: true,
	});
	let text = "";
	for await (const chunk of stream)
		text += chunk.choices[0]?.delta?.content ?? "";
	assert.equal(text, ANSWER);
	const e = await alias.embeddings.create({ model: EMBED, input: "x" });
	assert.equal(e.data[0].embedding.length, EMBED_DIMENSIONS);
	await rejectsWith(alias.chat.completions.create({
		model: "no-such-model", messages: userSays("x"),
	}), NotFoundError, 404, "model_not_found");
	await rejectsWith(client({ baseURL: `${AGENT_URL}/v1`, apiKey: "bad" })
	    .models.list(), AuthenticationError, 401, "invalid_api_key");
});

// --- Continue: @continuedev/openai-adapters, provider "openai" -----------
// Continue's BaseLLM appends "/" to apiBase and then calls
// constructLlmApi({ provider, apiKey, apiBase, requestOptions }).

function continueApi(apiKey = TOKEN) {
	const api = constructLlmApi({
		provider: "openai",
		apiKey,
		apiBase: `${BASE}/`,
		requestOptions: undefined,
	});
	assert.ok(api, "constructLlmApi knows provider openai");
	return api;
}

test("continue: chatCompletionStream streams the answer", async () => {
	const marker = randomUUID();
	const pieces = [];
	let usage = null, finish = null, afterUsage = 0;
	for await (const chunk of continueApi().chatCompletionStream({
		model: CHAT,
		messages: userSays(`continue ${marker}`),
		max_tokens: 4096,
		stream: true,
	}, new AbortController().signal)) {
		if (usage)
			afterUsage++;
		if (chunk.usage)
			usage = chunk.usage;
		for (const ch of chunk.choices ?? []) {
			if (ch.delta?.content)
				pieces.push(ch.delta.content);
			if (ch.finish_reason)
				finish = ch.finish_reason;
		}
	}
	assert.equal(pieces.length, PIECES);
	assert.equal(pieces.join(""), ANSWER);
	assert.equal(finish, "stop");
	assert.ok(usage && usage.completion_tokens > 0, "usage chunk arrives");
	assert.equal(afterUsage, 0, "usage chunk comes last");
	// The adapter adds stream_options.include_usage; it must get through.
	const body = JSON.parse((await backendRecord(marker)).body);
	assert.deepEqual(body.stream_options, { include_usage: true });
	assert.equal(body.model.split(";")[0], "fake-chat");
});

test("continue: chatCompletionNonStream", async () => {
	const c = await continueApi().chatCompletionNonStream({
		model: CHAT,
		messages: [
			{ role: "system", content: "Be brief." },
			...userSays("continue, no stream"),
		],
		max_tokens: 4096,
	}, new AbortController().signal);
	assert.equal(c.choices[0].message.content, ANSWER);
});

test("continue: list() of models", async () => {
	const models = await continueApi().list();
	assert.deepEqual(models.map((m) => m.id).sort(), [...ALL_MODELS].sort());
});

test("continue: completionStream and completionNonStream (autocomplete path)", async () => {
	const api = continueApi();
	const c = await api.completionNonStream({ model: CHAT, prompt: "def f(" },
	    new AbortController().signal);
	assert.equal(c.choices[0].text, ANSWER);
	let text = "";
	for await (const chunk of api.completionStream({
		model: CHAT, prompt: "def f(", stream: true,
	}, new AbortController().signal))
		text += chunk.choices[0]?.text ?? "";
	assert.equal(text, ANSWER);
});

test("continue: embed() with encoding_format float", async () => {
	const e = await continueApi().embed({
		model: EMBED, input: ["a", "b", "c"], encoding_format: "float",
	});
	assert.equal(e.data.length, 3);
	for (const d of e.data)
		assert.equal(d.embedding.length, EMBED_DIMENSIONS);
});

// Continue's embed() sends no encoding_format; the openai@5 inside the
// adapter then asks for base64 and decodes whatever comes back as base64.
// fake-llm ignores encoding_format and answers floats, which that SDK
// turns into nonsense: the vectors are only checked once it answers base64.
test("continue: embed() as Continue calls it (SDK default base64)", async (t) => {
	const marker = randomUUID();
	const e = await continueApi().embed({ model: EMBED, input: [marker, "b", "c"] });
	assert.equal(e.data.length, 3);
	const body = JSON.parse((await backendRecord(marker)).body);
	assert.equal(body.encoding_format, "base64", "encoding_format passed through");
	const probe = await (await fetch(`${BACKEND_URL}/v1/embeddings`, {
		method: "POST",
		headers: { "Content-Type": "application/json" },
		body: JSON.stringify({ model: "fake-embed", input: "x", encoding_format: "base64" }),
	})).json();
	if (Array.isArray(probe.data[0].embedding)) {
		t.skip("fake-llm answers floats to encoding_format=base64, vectors not checked");
		return;
	}
	for (const d of e.data)
		assert.equal(d.embedding.length, EMBED_DIMENSIONS);
});

test("continue: abort signal midway stops the stream", async () => {
	const marker = randomUUID();
	const ac = new AbortController();
	let deltas = 0, stoppedAt = 0, threw = null;
	try {
		for await (const chunk of continueApi().chatCompletionStream({
			model: LONG, messages: userSays(`long ${marker}`), stream: true,
		}, ac.signal)) {
			if (chunk.choices?.[0]?.delta?.content)
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
	const took = Date.now() - stoppedAt;
	assert.ok(took < 2000, `the stream ended ${took} ms after the abort`);
	if (threw !== null)
		assert.ok(threw.name === "AbortError" || /abort/i.test(threw.message),
		    `unexpected ${threw?.constructor?.name}: ${threw?.message}`);
	await eventually("the agent hung up on the backend", async () =>
	    (await backendRecord(marker)).client_hung_up === true);
});

test("continue: errors surface with the gateway's status and code", async () => {
	const signal = new AbortController().signal;
	let err = null;
	try {
		await continueApi().chatCompletionNonStream({
			model: "no-such-model", messages: userSays("x"),
		}, signal);
	} catch (e) {
		err = e;
	}
	assert.ok(err, "unknown model rejected");
	assert.equal(err.status, 404, err.message);
	assert.equal(err.code, "model_not_found");
	err = null;
	try {
		for await (const _ of continueApi("cube_bad").chatCompletionStream({
			model: CHAT, messages: userSays("x"), stream: true,
		}, signal))
			;
	} catch (e) {
		err = e;
	}
	assert.ok(err, "bad key rejected");
	assert.equal(err.status, 401, err.message);
	assert.equal(err.code, "invalid_api_key");
});
