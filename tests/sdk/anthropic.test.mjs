// Anthropic's Messages API (POST /v1/messages, /v1/messages/count_tokens)
// with @anthropic-ai/sdk, as coding tools that speak it use it; the agent
// translates to chat completions for the fake backend. Run by
// tests/scenario/sdk-clients.sh; see common.mjs.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";

import Anthropic, {
	AuthenticationError,
	BadRequestError,
	NotFoundError,
} from "@anthropic-ai/sdk";

import {
	ANSWER, BAD_TOKEN, CHAT, PIECES, ROOT, TOKEN, TOOL, TOOL_ARGS,
	TOOL_PIECES, WEATHER, WEATHER_RESULT, agentPost, backendBody,
	backendRecord, rejectsWith, roleText, sseEvents,
} from "./common.mjs";

// The SDK's defaults: x-api-key with the key, anthropic-version, and
// baseURL + "/v1/messages".
function client(opts = {}) {
	return new Anthropic({ apiKey: TOKEN, baseURL: ROOT, maxRetries: 0,
	    timeout: 20_000, ...opts });
}

const weatherTool = {
	name: WEATHER.name,
	description: WEATHER.description,
	input_schema: WEATHER.parameters,
};

test("anthropic: messages.create with x-api-key (the SDK's default)", async () => {
	const marker = randomUUID();
	const m = await client().messages.create({
		model: CHAT,
		max_tokens: 256,
		system: "Be brief.",
		messages: [{ role: "user", content: `hello ${marker}` }],
	});
	assert.equal(m.type, "message");
	assert.equal(m.role, "assistant");
	assert.match(m.id, /^msg_/);
	assert.equal(m.model, CHAT, "the key asked for, not the backend's id");
	assert.deepEqual(m.content, [{ type: "text", text: ANSWER }]);
	assert.equal(m.stop_reason, "end_turn");
	assert.equal(m.stop_sequence, null);
	assert.ok(m.usage.input_tokens > 0 && m.usage.output_tokens > 0);
	const body = await backendBody(marker);
	assert.deepEqual(body.messages.map(roleText), [
		["system", "Be brief."],
		["user", `hello ${marker}`],
	]);
	assert.equal(body.max_tokens, 256);
	// The gateway's token went as x-api-key, never to the backend.
	const rec = await backendRecord(marker);
	assert.ok(!JSON.stringify(rec.headers ?? {}).includes(TOKEN));
});

test("anthropic: Authorization: Bearer works too (authToken)", async () => {
	const m = await new Anthropic({ authToken: TOKEN, apiKey: null,
	    baseURL: ROOT, maxRetries: 0 }).messages.create({
		model: CHAT, max_tokens: 16,
		messages: [{ role: "user", content: "hi" }],
	});
	assert.equal(m.content[0].text, ANSWER);
});

test("anthropic: messages.stream text: events and finalMessage()", async () => {
	const stream = client().messages.stream({
		model: CHAT, max_tokens: 256,
		messages: [{ role: "user", content: "stream" }],
	});
	const pieces = [];
	stream.on("text", (delta) => pieces.push(delta));
	const final = await stream.finalMessage();
	assert.equal(pieces.length, PIECES);
	assert.equal(pieces.join(""), ANSWER);
	assert.deepEqual(final.content.map((b) => [b.type, b.text]),
	    [["text", ANSWER]]);
	assert.equal(final.stop_reason, "end_turn");
	assert.equal(final.model, CHAT);
	assert.ok(final.usage.output_tokens > 0, "usage from message_delta");
});

test("anthropic: the stream on the wire: Anthropic's event sequence", async () => {
	const res = await agentPost(new URL(ROOT).pathname + "/v1/messages", {
		model: CHAT, max_tokens: 64, stream: true,
		messages: [{ role: "user", content: "raw" }],
	}, { "anthropic-version": "2023-06-01" });
	assert.equal(res.status, 200);
	assert.match(res.headers.get("content-type"), /^text\/event-stream/);
	const text = await res.text();
	const names = [...text.matchAll(/^event: (.*)$/gm)].map((m) => m[1])
	    .filter((n) => n !== "ping");
	const events = sseEvents(text).filter((e) => e.type !== "ping");
	assert.deepEqual(names, events.map((e) => e.type));
	assert.deepEqual(names, ["message_start", "content_block_start",
	    ...Array(PIECES).fill("content_block_delta"), "content_block_stop",
	    "message_delta", "message_stop"]);
	assert.equal(events.at(-2).delta.stop_reason, "end_turn");
	assert.ok(events.at(-2).usage.output_tokens > 0);
	assert.equal(events[0].message.model, CHAT);
});

test("anthropic: messages.stream with a tool, finalMessage(), then its result", async () => {
	const question = { role: "user", content: "Weather in Paris?" };
	const stream = client().messages.stream({
		model: TOOL, max_tokens: 256, tools: [weatherTool],
		messages: [question],
	});
	const partials = [];
	stream.on("inputJson", (partial) => {
		if (partial !== "")
			partials.push(partial);
	});
	const final = await stream.finalMessage();
	assert.equal(final.stop_reason, "tool_use");
	const uses = final.content.filter((b) => b.type === "tool_use");
	assert.equal(uses.length, 1);
	assert.equal(uses[0].name, "get_weather");
	assert.deepEqual(uses[0].input, TOOL_ARGS);
	assert.match(uses[0].id, /\S/);
	assert.equal(partials.length, TOOL_PIECES, "input_json_delta pieces");
	const marker = randomUUID();
	const answer = await client().messages.create({
		model: TOOL, max_tokens: 256, tools: [weatherTool],
		messages: [question, { role: "assistant", content: final.content },
		    { role: "user", content: [{ type: "tool_result",
		    tool_use_id: uses[0].id,
		    content: `${WEATHER_RESULT} ${marker}` }] }],
	});
	assert.equal(answer.stop_reason, "end_turn");
	assert.deepEqual(answer.content, [{ type: "text",
	    text: `${WEATHER_RESULT} ${marker}` }]);
	// OpenAI's shapes reached the backend: tool_calls, then a tool message.
	const msgs = (await backendBody(marker)).messages;
	assert.equal(msgs.at(-2).role, "assistant");
	assert.equal(msgs.at(-2).tool_calls[0].id, uses[0].id);
	assert.deepEqual(JSON.parse(msgs.at(-2).tool_calls[0].function.arguments),
	    TOOL_ARGS);
	assert.equal(msgs.at(-1).tool_call_id, uses[0].id);
	assert.deepEqual(roleText(msgs.at(-1)),
	    ["tool", `${WEATHER_RESULT} ${marker}`]);
	const [fn] = (await backendBody(marker)).tools;
	assert.equal(fn.type, "function");
	assert.equal(fn.function.name, WEATHER.name);
	assert.equal(fn.function.description, WEATHER.description);
	assert.deepEqual(fn.function.parameters, WEATHER.parameters);
});

test("anthropic: messages.countTokens", async () => {
	const short = await client().messages.countTokens({
		model: CHAT, messages: [{ role: "user", content: "hi" }],
	});
	assert.ok(Number.isInteger(short.input_tokens) && short.input_tokens > 0,
	    JSON.stringify(short));
	const long = await client().messages.countTokens({
		model: CHAT, system: "Be brief.",
		messages: [{ role: "user", content: "hi ".repeat(200) }],
	});
	assert.ok(long.input_tokens > short.input_tokens);
	await rejectsWith(client().messages.countTokens({
		model: "no-such-model", messages: [{ role: "user", content: "x" }],
	}), NotFoundError, 404);
});

test("anthropic: typed errors in Anthropic's shape", async () => {
	const nf = await rejectsWith(client().messages.create({
		model: "no-such-model", max_tokens: 16,
		messages: [{ role: "user", content: "x" }],
	}), NotFoundError, 404);
	assert.equal(nf.error.type, "error");
	assert.equal(nf.error.error.type, "not_found_error");
	assert.doesNotMatch(nf.message, /object Object/);
	const auth = await rejectsWith(client({ apiKey: BAD_TOKEN }).messages
	    .create({ model: CHAT, max_tokens: 16,
	    messages: [{ role: "user", content: "x" }] }),
	    AuthenticationError, 401);
	assert.equal(auth.error.error.type, "authentication_error");
	await rejectsWith(client({ apiKey: BAD_TOKEN }).messages.stream({
		model: CHAT, max_tokens: 16,
		messages: [{ role: "user", content: "x" }],
	}).finalMessage(), AuthenticationError, 401);
	// max_tokens is required on messages.
	const bad = await rejectsWith(client().messages.create({
		model: CHAT, messages: [{ role: "user", content: "x" }],
	}), BadRequestError, 400);
	assert.equal(bad.error.error.type, "invalid_request_error");
	assert.match(bad.message, /max_tokens/);
});
