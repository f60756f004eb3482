// OpenAI's Responses API (POST /v1/responses) as the clients that default
// to it use it: openai 7 and 4 responses.create, @ai-sdk/openai's
// openai(id), LangChain's ChatOpenAI with useResponsesApi. The chat models'
// provider serves chat completions only, so the agent translates; the
// native model's serves /v1/responses and gets it passed through. Run by
// tests/scenario/sdk-clients.sh; see common.mjs.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";

import OpenAI, { BadRequestError, NotFoundError } from "openai";
import OpenAIv4 from "openai-v4";
import { generateText, streamText } from "ai";
import { createOpenAI } from "@ai-sdk/openai";
import { ChatOpenAI } from "@langchain/openai";

import {
	ANSWER, BASE, CHAT, JSON_MODEL, JSON_ANSWER, NATIVE, PIECES, REQUEST_ID,
	TOKEN, TOOL, TOOL_ARGS, TOOL_PIECES, WEATHER, WEATHER_RESULT, agentPost,
	backendBody, backendRecord, rejectsWith, roleText, sseEvents,
} from "./common.mjs";

const opts = { apiKey: TOKEN, baseURL: BASE, maxRetries: 0, timeout: 20_000 };
const clients = [["openai 7", () => new OpenAI(opts)],
    ["openai v4", () => new OpenAIv4(opts)]];

// A Responses function tool: flat, unlike chat's {type, function}.
const weatherTool = { type: "function", ...WEATHER, strict: true };

for (const [name, client] of clients) {
	test(`${name}: responses.create, plain: output_text and the Response`, async () => {
		const marker = randomUUID();
		const r = await client().responses.create({
			model: CHAT,
			instructions: "Be brief.",
			input: `Say hello ${marker}`,
		});
		assert.equal(r.object, "response");
		assert.match(r.id, /^resp_/);
		assert.equal(r.status, "completed");
		assert.equal(r.model, CHAT, "the key asked for, not the backend's id");
		assert.equal(r.output_text, ANSWER);
		assert.equal(r.output.length, 1);
		const msg = r.output[0];
		assert.equal(msg.type, "message");
		assert.equal(msg.role, "assistant");
		assert.equal(msg.status, "completed");
		assert.deepEqual(msg.content.map((c) => [c.type, c.text]),
		    [["output_text", ANSWER]]);
		assert.ok(r.usage.input_tokens > 0 && r.usage.output_tokens > 0);
		assert.equal(r.usage.total_tokens,
		    r.usage.input_tokens + r.usage.output_tokens);
		// What the chat backend got: instructions first, then the input.
		const body = await backendBody(marker);
		assert.deepEqual(body.messages.map(roleText), [
			["system", "Be brief."],
			["user", `Say hello ${marker}`],
		]);
	});

	test(`${name}: responses.create, streamed: the event sequence`, async () => {
		const stream = await client().responses.create({
			model: CHAT, input: "stream", stream: true,
		});
		const types = [], deltas = [];
		let seq = -1, done = null;
		for await (const ev of stream) {
			assert.equal(ev.sequence_number, seq + 1, "numbered in order");
			seq = ev.sequence_number;
			types.push(ev.type);
			if (ev.type === "response.output_text.delta")
				deltas.push(ev.delta);
			if (ev.type === "response.completed")
				done = ev.response;
		}
		assert.deepEqual(types.slice(0, 4), ["response.created",
		    "response.in_progress", "response.output_item.added",
		    "response.content_part.added"]);
		assert.deepEqual(types.slice(-4), ["response.output_text.done",
		    "response.content_part.done", "response.output_item.done",
		    "response.completed"]);
		assert.equal(deltas.length, PIECES, "one delta per backend piece");
		assert.equal(deltas.join(""), ANSWER);
		assert.equal(done.status, "completed");
		assert.equal(done.model, CHAT);
		assert.equal(done.output[0].content[0].text, ANSWER);
		assert.ok(done.usage.output_tokens > 0, "usage in the last event");
	});

	test(`${name}: a function tool, its call and output, round trip`, async () => {
		const input = [{ role: "user", content: "Weather in Paris?" }];
		const r = await client().responses.create({
			model: TOOL, input, tools: [weatherTool],
		});
		const calls = r.output.filter((o) => o.type === "function_call");
		assert.equal(calls.length, 1);
		assert.equal(calls[0].name, "get_weather");
		assert.deepEqual(JSON.parse(calls[0].arguments), TOOL_ARGS);
		assert.match(calls[0].call_id, /^call_/);
		assert.equal(r.output_text, "");
		const marker = randomUUID();
		const answer = await client().responses.create({
			model: TOOL, tools: [weatherTool],
			input: [...input, ...r.output, { type: "function_call_output",
			    call_id: calls[0].call_id,
			    output: `${WEATHER_RESULT} ${marker}` }],
		});
		assert.equal(answer.output_text, `${WEATHER_RESULT} ${marker}`);
		// The chat backend got the call and its result as OpenAI's chat
		// shapes: an assistant tool_calls message, then a tool message.
		const msgs = (await backendBody(marker)).messages;
		assert.equal(msgs.at(-2).role, "assistant");
		assert.equal(msgs.at(-2).tool_calls[0].id, calls[0].call_id);
		assert.equal(msgs.at(-2).tool_calls[0].function.name, "get_weather");
		assert.equal(msgs.at(-1).role, "tool");
		assert.equal(msgs.at(-1).tool_call_id, calls[0].call_id);
		assert.deepEqual(roleText(msgs.at(-1)),
		    ["tool", `${WEATHER_RESULT} ${marker}`]);
	});

	test(`${name}: a streamed function call: arguments deltas, then done`, async () => {
		const stream = await client().responses.create({
			model: TOOL, input: "Weather?", tools: [weatherTool],
			stream: true,
		});
		const deltas = [];
		let added = null, argsDone = null, done = null;
		for await (const ev of stream) {
			if (ev.type === "response.output_item.added" &&
			    ev.item.type === "function_call")
				added = ev.item;
			if (ev.type === "response.function_call_arguments.delta")
				deltas.push(ev.delta);
			if (ev.type === "response.function_call_arguments.done")
				argsDone = ev.arguments;
			if (ev.type === "response.completed")
				done = ev.response;
		}
		assert.equal(added?.name, "get_weather");
		assert.equal(deltas.length, TOOL_PIECES);
		assert.deepEqual(JSON.parse(deltas.join("")), TOOL_ARGS);
		assert.equal(argsDone, deltas.join(""));
		assert.deepEqual(JSON.parse(done.output.find((o) =>
		    o.type === "function_call").arguments), TOOL_ARGS);
	});

	test(`${name}: text.format json_schema reaches the backend as response_format`, async () => {
		const marker = randomUUID();
		const schema = {
			type: "object",
			properties: { city: { type: "string" },
			    unit: { type: "string" } },
			required: ["city", "unit"],
			additionalProperties: false,
		};
		const r = await client().responses.create({
			model: JSON_MODEL, input: `JSON please ${marker}`,
			text: { format: { type: "json_schema", name: "weather",
			    schema, strict: true } },
		});
		assert.deepEqual(JSON.parse(r.output_text), JSON_ANSWER);
		assert.deepEqual((await backendBody(marker)).response_format, {
			type: "json_schema",
			json_schema: { name: "weather", schema, strict: true },
		});
		assert.equal(r.text.format.type, "json_schema");
	});

	test(`${name}: withResponse() headers on responses.create`, async () => {
		const { data, response } = await client().responses.create({
			model: CHAT, input: "headers",
		}).withResponse();
		assert.equal(data.output_text, ANSWER);
		assert.match(response.headers.get("x-request-id") ?? "", REQUEST_ID);
		assert.equal(data._request_id, response.headers.get("x-request-id"));
	});
}

test("openai 7: responses.stream() helper and finalResponse()", async () => {
	const stream = new OpenAI(opts).responses.stream({
		model: CHAT, input: "helper",
	});
	let text = "";
	stream.on("response.output_text.delta", (ev) => { text += ev.delta; });
	const final = await stream.finalResponse();
	assert.equal(text, ANSWER);
	assert.equal(final.output_text, ANSWER);
});

test("openai 7: stored responses are refused with a 400 naming the field", async () => {
	const err = await rejectsWith(new OpenAI(opts).responses.create({
		model: CHAT, input: "x", previous_response_id: "resp_123",
	}), BadRequestError, 400);
	assert.equal(err.param, "previous_response_id");
	const err2 = await rejectsWith(new OpenAI(opts).responses.create({
		model: CHAT, input: "x", store: true,
	}), BadRequestError, 400);
	assert.equal(err2.param, "store");
	await rejectsWith(new OpenAI(opts).responses.create({
		model: "no-such-model", input: "x",
	}), NotFoundError, 404, "model_not_found");
});

test("responses: the SSE on the wire: event lines match each data's type", async () => {
	const res = await agentPost(new URL(BASE).pathname + "/responses",
	    { model: CHAT, input: "raw", stream: true });
	assert.equal(res.status, 200);
	assert.match(res.headers.get("content-type"), /^text\/event-stream/);
	const text = await res.text();
	const names = [...text.matchAll(/^event: (.*)$/gm)].map((m) => m[1]);
	const events = sseEvents(text);
	assert.deepEqual(names, events.map((e) => e.type));
	assert.ok(!events.includes("[DONE]"), "no chat [DONE] marker");
});

test("openai 7: a provider that serves /v1/responses gets it passed through", async () => {
	const marker = randomUUID();
	const client = new OpenAI(opts);
	const r = await client.responses.create({
		model: NATIVE, instructions: "Be brief.", input: `hi ${marker}`,
	});
	assert.equal(r.output_text, ANSWER);
	assert.equal(r.model, NATIVE, "the key asked for, not the backend's id");
	assert.ok(r.usage.input_tokens > 0 && r.usage.output_tokens > 0);
	const rec = await backendRecord(marker);
	assert.equal(rec.path, "/v1/responses");
	const body = JSON.parse(rec.body);
	assert.equal(body.instructions, "Be brief.");
	assert.equal(body.input, `hi ${marker}`);
	assert.equal(body.model, "fake-chat;chunks=5");

	const stream = client.responses.stream({ model: NATIVE, input: "s" });
	let text = "";
	stream.on("response.output_text.delta", (ev) => { text += ev.delta; });
	const final = await stream.finalResponse();
	assert.equal(text, ANSWER);
	assert.equal(final.model, NATIVE);
	assert.equal(final.output_text, ANSWER);
});

// --- Vercel AI SDK: openai(id) is the Responses API ---------------------

const aiOpenAI = createOpenAI({ baseURL: BASE, apiKey: TOKEN });

test("ai-sdk: openai(id) generateText goes to /responses", async () => {
	const r = await generateText({ model: aiOpenAI(CHAT), prompt: "hi",
	    maxRetries: 0 });
	assert.equal(r.text, ANSWER);
	assert.equal(r.finishReason, "stop");
	assert.match(r.providerMetadata.openai.responseId, /^resp_/);
	assert.ok(r.usage.outputTokens > 0);
});

test("ai-sdk: openai(id) streamText", async () => {
	const r = streamText({ model: aiOpenAI(CHAT), prompt: "hi",
	    maxRetries: 0 });
	const pieces = [];
	for await (const part of r.fullStream) {
		if (part.type === "error")
			throw part.error;
		if (part.type === "text-delta")
			pieces.push(part.text);
	}
	assert.equal(pieces.join(""), ANSWER);
	assert.equal(pieces.length, PIECES);
	assert.equal(await r.finishReason, "stop");
});

// --- LangChain: ChatOpenAI({ useResponsesApi: true }) --------------------

function lcResponses(model) {
	return new ChatOpenAI({ model, apiKey: TOKEN, useResponsesApi: true,
	    configuration: { baseURL: BASE }, maxRetries: 0 });
}

test("langchain: useResponsesApi invoke and stream", async () => {
	const m = await lcResponses(CHAT).invoke("hi");
	assert.equal(m.text, ANSWER);
	assert.match(m.response_metadata.id ?? m.id ?? "", /^resp_/);
	let text = "";
	for await (const chunk of await lcResponses(CHAT).stream("hi"))
		text += chunk.text;
	assert.equal(text, ANSWER);
});

test("langchain: useResponsesApi bindTools", async () => {
	const m = await lcResponses(TOOL).bindTools([{ type: "function",
	    function: WEATHER }]).invoke("Weather in Paris?");
	assert.equal(m.tool_calls.length, 1);
	assert.equal(m.tool_calls[0].name, "get_weather");
	assert.deepEqual(m.tool_calls[0].args, TOOL_ARGS);
});
