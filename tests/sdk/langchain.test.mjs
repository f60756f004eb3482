// LangChain JS (@langchain/openai on @langchain/core) against the agent,
// on chat completions. Its Responses mode (useResponsesApi) is in
// responses.test.mjs. Run by tests/scenario/sdk-clients.sh; see common.mjs.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";

import { ChatOpenAI, OpenAIEmbeddings } from "@langchain/openai";
import { AIMessage, HumanMessage, SystemMessage, ToolMessage } from
    "@langchain/core/messages";

import {
	ANSWER, BASE, CHAT, EMBED, EMBED_DIMENSIONS, PIECES, TOKEN, TOOL,
	TOOL_ARGS, WEATHER, WEATHER_RESULT, backendBody,
} from "./common.mjs";

function chat(model, opts = {}) {
	return new ChatOpenAI({
		model,
		apiKey: TOKEN,
		configuration: { baseURL: BASE },
		maxRetries: 0,
		...opts,
	});
}

test("langchain: ChatOpenAI invoke", async () => {
	const marker = randomUUID();
	const m = await chat(CHAT).invoke([
		new SystemMessage("Be brief."),
		new HumanMessage(`hello ${marker}`),
	]);
	assert.ok(m instanceof AIMessage);
	assert.equal(m.content, ANSWER);
	assert.equal(m.response_metadata.finish_reason, "stop");
	assert.ok(m.usage_metadata.input_tokens > 0);
	assert.ok(m.usage_metadata.output_tokens > 0);
	const body = await backendBody(marker);
	assert.deepEqual(body.messages.map((x) => x.role), ["system", "user"]);
});

test("langchain: ChatOpenAI stream", async () => {
	const pieces = [];
	let usage = null;
	for await (const chunk of await chat(CHAT, { streamUsage: true })
	    .stream("stream please")) {
		if (chunk.content)
			pieces.push(chunk.content);
		if (chunk.usage_metadata)
			usage = chunk.usage_metadata;
	}
	assert.equal(pieces.join(""), ANSWER);
	assert.equal(pieces.length, PIECES);
	assert.ok(usage && usage.output_tokens > 0, "the usage chunk arrived");
});

test("langchain: bindTools: the tool call, then the answer to its result", async () => {
	const model = chat(TOOL).bindTools([{
		type: "function", function: WEATHER,
	}]);
	const question = new HumanMessage("Weather in Paris?");
	const m = await model.invoke([question]);
	assert.equal(m.tool_calls.length, 1);
	const call = m.tool_calls[0];
	assert.equal(call.name, "get_weather");
	assert.deepEqual(call.args, TOOL_ARGS);
	assert.match(call.id, /^call_/);
	const answer = await model.invoke([question, m,
	    new ToolMessage({ content: WEATHER_RESULT, tool_call_id: call.id })]);
	assert.equal(answer.content, WEATHER_RESULT);
	assert.equal(answer.tool_calls.length, 0);
});

test("langchain: bindTools streamed: the call's chunks add up", async () => {
	const model = chat(TOOL).bindTools([{
		type: "function", function: WEATHER,
	}]);
	let full = null, argChunks = 0;
	for await (const chunk of await model.stream("Weather?")) {
		if (chunk.tool_call_chunks?.some((c) => c.args))
			argChunks++;
		full = full === null ? chunk : full.concat(chunk);
	}
	assert.ok(argChunks >= 2, `arguments in ${argChunks} chunks`);
	assert.equal(full.tool_calls.length, 1);
	assert.equal(full.tool_calls[0].name, "get_weather");
	assert.deepEqual(full.tool_calls[0].args, TOOL_ARGS);
});

test("langchain: OpenAIEmbeddings embedQuery and embedDocuments", async () => {
	const e = new OpenAIEmbeddings({
		model: EMBED, apiKey: TOKEN, configuration: { baseURL: BASE },
		maxRetries: 0,
	});
	const q = await e.embedQuery("hello");
	assert.equal(q.length, EMBED_DIMENSIONS);
	assert.ok(q.every((x) => Number.isFinite(x) && x >= -1 && x <= 1));
	const docs = await e.embedDocuments(["hello", "world"]);
	assert.equal(docs.length, 2);
	q.forEach((x, i) => assert.ok(Math.abs(x - docs[0][i]) < 1e-6,
	    "the same text, the same vector"));
	assert.notDeepEqual(docs[0], docs[1]);
});

test("langchain: an unknown model rejects with the gateway's 404", async () => {
	let err = null;
	try {
		await chat("no-such-model").invoke("x");
	} catch (e) {
		err = e;
	}
	assert.ok(err, "rejected");
	assert.equal(err.status, 404, err.message);
	assert.equal(err.code, "model_not_found");
	assert.equal(err.lc_error_code, "MODEL_NOT_FOUND");
});
