// JWTs for tests/scenario/jwt.sh, with node's own crypto (no npm package):
// an identity provider's keys, tokens signed with them, and the forgeries
// a gateway must refuse. Keys are made at test time, never kept.
//   node jwt.mjs keys DIR KID...        RSA keys for kids rsa*, P-256 for ec*;
//                                       DIR/KID.pem each, DIR/jwks.json (public)
//   node jwt.mjs sign DIR ALG KID JSON  a compact JWS of the claims JSON
//   node jwt.mjs none JSON              alg none, no signature
//   node jwt.mjs hs256 DIR KID JSON     HS256 keyed with KID's public key
//                                       (PEM text): the confusion attack
//   node jwt.mjs id ISS SUB             the agent's id for the subject
import { createHash, createHmac, createPrivateKey, createPublicKey,
	generateKeyPairSync, sign } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";

const b64url = (buf) => Buffer.from(buf).toString("base64url");
const hashes = { 256: "sha256", 384: "sha384", 512: "sha512" };

function keys(dir, kids) {
	const jwks = { keys: [] };
	for (const kid of kids) {
		const { publicKey, privateKey } = kid.startsWith("ec") ?
		    generateKeyPairSync("ec", { namedCurve: "P-256" }) :
		    generateKeyPairSync("rsa", { modulusLength: 2048 });
		writeFileSync(`${dir}/${kid}.pem`,
		    privateKey.export({ type: "pkcs8", format: "pem" }));
		jwks.keys.push({ ...publicKey.export({ format: "jwk" }), kid,
		    use: "sig" });
	}
	writeFileSync(`${dir}/jwks.json`, JSON.stringify(jwks));
}

function signed(dir, alg, kid, claims) {
	const head = b64url(JSON.stringify({ alg, typ: "JWT", kid }));
	const body = b64url(claims);
	const input = Buffer.from(`${head}.${body}`);
	const key = createPrivateKey(readFileSync(`${dir}/${kid}.pem`));
	const hash = hashes[alg.slice(2)];
	let sig;
	if (alg.startsWith("ES"))
		sig = sign(hash, input, { key, dsaEncoding: "ieee-p1363" });
	else if (alg.startsWith("PS"))
		sig = sign(hash, input, { key, padding: 6, saltLength: 32 });
	else
		sig = sign(hash, input, key);
	return `${head}.${body}.${b64url(sig)}`;
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === "keys") {
	keys(args[0], args.slice(1));
} else if (cmd === "sign") {
	console.log(signed(args[0], args[1], args[2], args[3]));
} else if (cmd === "none") {
	console.log(`${b64url(JSON.stringify({ alg: "none", typ: "JWT" }))}.` +
	    `${b64url(args[0])}.`);
} else if (cmd === "hs256") {
	const [dir, kid, claims] = args;
	const pub = createPublicKey(readFileSync(`${dir}/${kid}.pem`))
	    .export({ type: "spki", format: "pem" });
	const input = `${b64url(JSON.stringify({ alg: "HS256", typ: "JWT",
	    kid }))}.${b64url(claims)}`;
	console.log(`${input}.${b64url(createHmac("sha256", pub).update(input)
	    .digest())}`);
} else if (cmd === "id") {
	const h = createHash("sha256").update(args[0]).update("\0")
	    .update(args[1]).digest("hex");
	console.log(`jwt:${h.slice(0, 24)}`);
} else {
	console.error("usage: jwt.mjs keys|sign|none|hs256|id ...");
	process.exit(2);
}
