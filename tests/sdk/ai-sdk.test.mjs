// The Vercel AI SDK (ai, @ai-sdk/openai-compatible, @ai-sdk/openai's chat
// models) against the agent. Its Responses default, openai(id), is in
// responses.test.mjs. Run by tests/scenario/sdk-clients.sh; see common.mjs.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";

import { APICallError, embed, embedMany, generateText, jsonSchema,
	stepCountIs, streamText, tool } from "ai";
import { createOpenAI } from "@ai-sdk/openai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";

import {
	ANSWER, BASE, CHAT, EMBED, EMBED_DIMENSIONS, PIECES, TOKEN, TOOL,
	TOOL_ARGS, WEATHER, WEATHER_RESULT, backendBody, backendRequests,
} from "./common.mjs";

const compatible = createOpenAICompatible({
	name: "cube",
	baseURL: BASE,
	apiKey: TOKEN,
	includeUsage: true,
});

const weather = tool({
	description: WEATHER.description,
	inputSchema: jsonSchema(WEATHER.parameters),
	execute: async () => WEATHER_RESULT,
});

test("ai-sdk: openai-compatible generateText", async () => {
	const marker = randomUUID();
	const r = await generateText({
		model: compatible(CHAT), prompt: `Say hello ${marker}`,
		maxRetries: 0,
	});
	assert.equal(r.text, ANSWER);
	assert.equal(r.finishReason, "stop");
	assert.ok(r.usage.inputTokens > 0 && r.usage.outputTokens > 0,
	    `usage ${JSON.stringify(r.usage)}`);
	const body = await backendBody(marker);
	assert.equal(body.model.split(";")[0], "fake-chat");
	assert.equal(body.stream, undefined);
});

test("ai-sdk: openai-compatible streamText", async () => {
	const r = streamText({
		model: compatible(CHAT), prompt: "stream", maxRetries: 0,
	});
	const pieces = [];
	for await (const piece of r.textStream)
		pieces.push(piece);
	assert.equal(pieces.join(""), ANSWER);
	assert.equal(pieces.length, PIECES, "the pieces arrive as sent");
	assert.equal(await r.finishReason, "stop");
	const usage = await r.usage;
	assert.ok(usage.outputTokens > 0, `usage ${JSON.stringify(usage)}`);
});

test("ai-sdk: openai-compatible embed and embedMany", async () => {
	const { embedding } = await embed({
		model: compatible.embeddingModel(EMBED), value: "hello",
		maxRetries: 0,
	});
	assert.equal(embedding.length, EMBED_DIMENSIONS);
	const { embeddings } = await embedMany({
		model: compatible.embeddingModel(EMBED), values: ["a", "b", "c"],
		maxRetries: 0,
	});
	assert.equal(embeddings.length, 3);
	for (const e of embeddings)
		assert.equal(e.length, EMBED_DIMENSIONS);
	assert.notDeepEqual(embeddings[0], embeddings[1]);
});

test("ai-sdk: openai-compatible tools: the call, its result, the answer", async () => {
	const marker = randomUUID();
	const r = await generateText({
		model: compatible(TOOL), prompt: `Weather in Paris? ${marker}`,
		tools: { get_weather: weather }, stopWhen: stepCountIs(2),
		maxRetries: 0,
	});
	assert.equal(r.steps.length, 2);
	const [call] = r.steps[0].toolCalls;
	assert.equal(call.toolName, "get_weather");
	assert.deepEqual(call.input, TOOL_ARGS);
	assert.equal(r.steps[0].finishReason, "tool-calls");
	assert.equal(r.steps[0].toolResults[0].output, WEATHER_RESULT);
	assert.equal(r.text, WEATHER_RESULT, "the model answered the result");
	// The second request carried the result back under the call's id.
	const second = (await backendRequests()).filter((q) => q.body)
	    .map((q) => JSON.parse(q.body))
	    .filter((b) => JSON.stringify(b).includes(marker)).at(-1);
	const toolMsg = second.messages.at(-1);
	assert.equal(toolMsg.role, "tool");
	assert.equal(toolMsg.tool_call_id, call.toolCallId);
	assert.equal(second.tools[0].function.name, "get_weather");
});

test("ai-sdk: openai-compatible streamText with a tool", async () => {
	const r = streamText({
		model: compatible(TOOL), prompt: "Weather?",
		tools: { get_weather: weather }, stopWhen: stepCountIs(2),
		maxRetries: 0,
	});
	let text = "", calls = [];
	for await (const part of r.fullStream) {
		if (part.type === "text-delta")
			text += part.text;
		if (part.type === "tool-call")
			calls.push(part);
		if (part.type === "error")
			throw part.error;
	}
	assert.equal(calls.length, 1);
	assert.deepEqual(calls[0].input, TOOL_ARGS);
	assert.equal(text, WEATHER_RESULT);
});

test("ai-sdk: createOpenAI(...).chat(id) on chat completions", async () => {
	const openai = createOpenAI({ baseURL: BASE, apiKey: TOKEN });
	const r = await generateText({
		model: openai.chat(CHAT), prompt: "hi", maxRetries: 0,
	});
	assert.equal(r.text, ANSWER);
	const s = streamText({ model: openai.chat(CHAT), prompt: "hi",
	    maxRetries: 0 });
	let text = "";
	for await (const piece of s.textStream)
		text += piece;
	assert.equal(text, ANSWER);
	const { embedding } = await embed({
		model: openai.embedding(EMBED), value: "x", maxRetries: 0,
	});
	assert.equal(embedding.length, EMBED_DIMENSIONS);
});

test("ai-sdk: errors are APICallErrors with the gateway's status", async () => {
	let err = null;
	try {
		await generateText({ model: compatible("no-such-model"),
		    prompt: "x", maxRetries: 0 });
	} catch (e) {
		err = e;
	}
	assert.ok(APICallError.isInstance(err), `got ${err?.name}: ${err?.message}`);
	assert.equal(err.statusCode, 404);
	assert.match(err.responseBody, /model_not_found/);
	assert.equal(err.isRetryable, false);
});
