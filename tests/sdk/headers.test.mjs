// The headers SDKs and browser clients read, on answers, streams and
// errors: x-request-id, openai-processing-ms, Date, OpenAI's
// x-ratelimit-* for a token with limits; no CORS origin by default, Allow
// on a 405, HEAD where GET is served. Pending until the headers part
// lands (SDK_PENDING in tests/lib.sh); see common.mjs.
import assert from "node:assert/strict";
import { test } from "node:test";

import OpenAI from "openai";

import {
	AGENT_URL, BASE, CHAT, LIMITED_RPM, LIMITED_TOKEN, LIMITED_TPM,
	REQUEST_ID, TOKEN, sseEvents,
} from "./common.mjs";

const opts = { apiKey: TOKEN, baseURL: BASE, maxRetries: 0, timeout: 20_000 };
const PATH = new URL(BASE).pathname;

test("headers: x-request-id, openai-processing-ms and Date everywhere", async () => {
	const c = new OpenAI(opts);
	const { response } = await c.chat.completions.create({
		model: CHAT, messages: [{ role: "user", content: "h" }],
	}).withResponse();
	const raw = await c.chat.completions.create({
		model: CHAT, messages: [{ role: "user", content: "h" }],
		stream: true,
	}).asResponse();
	sseEvents(await raw.text());
	const nf = await fetch(`${AGENT_URL}${PATH}/models/no-such-model`,
	    { headers: { Authorization: `Bearer ${TOKEN}` } });
	for (const [what, r] of [["answer", response], ["stream", raw],
	    ["404", nf]]) {
		assert.match(r.headers.get("x-request-id") ?? "", REQUEST_ID,
		    what);
		assert.match(r.headers.get("openai-processing-ms") ?? "",
		    /^[0-9]+$/, what);
		assert.ok(!Number.isNaN(Date.parse(r.headers.get("date") ?? "")),
		    `${what}: a Date header`);
	}
});

test("headers: a token with limits gets OpenAI's x-ratelimit-* triples", async () => {
	const c = new OpenAI({ ...opts, apiKey: LIMITED_TOKEN });
	const { response } = await c.chat.completions.create({
		model: CHAT, messages: [{ role: "user", content: "limits" }],
	}).withResponse();
	const h = (name) => response.headers.get(name) ?? "";
	assert.equal(h("x-ratelimit-limit-requests"), String(LIMITED_RPM));
	assert.equal(h("x-ratelimit-limit-tokens"), String(LIMITED_TPM));
	const remaining = Number(h("x-ratelimit-remaining-requests"));
	assert.ok(Number.isInteger(remaining) && remaining >= 0 &&
	    remaining < LIMITED_RPM, `remaining-requests ${remaining}`);
	const tokens = Number(h("x-ratelimit-remaining-tokens"));
	assert.ok(Number.isInteger(tokens) && tokens >= 0 &&
	    tokens <= LIMITED_TPM, `remaining-tokens ${tokens}`);
	// OpenAI's durations: "1s", "6m0s", "120ms".
	for (const name of ["x-ratelimit-reset-requests",
	    "x-ratelimit-reset-tokens"])
		assert.match(h(name), /^([0-9]+h)?([0-9]+m)?([0-9.]+m?s)?$/, name);
	// A token without limits gets none.
	const plain = await new OpenAI(opts).chat.completions.create({
		model: CHAT, messages: [{ role: "user", content: "none" }],
	}).withResponse();
	assert.equal(plain.response.headers.get("x-ratelimit-limit-requests"),
	    null);
});

test("headers: no origin allowed by default, Allow on a 405, HEAD as GET", async () => {
	const pre = await fetch(`${AGENT_URL}${PATH}/chat/completions`, {
		method: "OPTIONS",
		headers: {
			Origin: "https://app.example.com",
			"Access-Control-Request-Method": "POST",
			"Access-Control-Request-Headers":
			    "authorization,content-type,x-stainless-os",
		},
	});
	assert.equal(pre.headers.get("access-control-allow-origin"), null,
	    "a domain allows no origin until told");
	const wrong = await fetch(`${AGENT_URL}${PATH}/chat/completions`,
	    { headers: { Authorization: `Bearer ${TOKEN}` } });
	assert.equal(wrong.status, 405);
	assert.match(wrong.headers.get("allow") ?? "", /\bPOST\b/);
	const get = await fetch(`${AGENT_URL}${PATH}/models`,
	    { headers: { Authorization: `Bearer ${TOKEN}` } });
	const head = await fetch(`${AGENT_URL}${PATH}/models`,
	    { method: "HEAD", headers: { Authorization: `Bearer ${TOKEN}` } });
	assert.equal(head.status, 200);
	assert.equal(head.headers.get("content-type"),
	    get.headers.get("content-type"));
	assert.equal(await head.text(), "");
	await get.text();
});
