/*
 * libFuzzer target for agent/rewrite.c: a request as request_scan() takes
 * it, rewritten for the backend on each route and wire format, with and
 * without usage asked for. Whatever the bytes: what goes upstream is one
 * strict JSON object again (no key twice: a default is never added beside
 * the client's), its model is the model id, and the output cap recorded
 * is what it says.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "jscan.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fuzz_check(const char *out, size_t len, int ollama)
{
	struct request	rq;
	char		err[128];

	memset(&rq, 0, sizeof(rq));
	if (request_scan(&rq, out, len, ollama, err, sizeof(err)) != 0 ||
	    !rq.model.present ||
	    !jscan_string_eq(out, &rq.model, "up\"id", 5))
		abort();
	request_clear(&rq);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const enum route_kind routes[] = {
		ROUTE_CHAT, ROUTE_COMPLETIONS, ROUTE_EMBEDDINGS,
	};
	struct reg_model	 m;
	struct request		 rq;
	char			*buf, *out, err[128];
	size_t			 outlen, r;
	int			 ollama, ask;

	memset(&m, 0, sizeof(m));
	m.key = (char *)"k";
	m.model_id = (char *)"up\"id";
	m.model_id_json = (char *)"\"up\\\"id\"";
	m.has_temperature = 1;
	m.temperature = 0.25;
	m.max_tokens = 77;
	m.system_prompt = (char *)"Be \"brief\".\n";
	buf = malloc(len ? len : 1);
	memcpy(buf, data, len);
	memset(&rq, 0, sizeof(rq));
	for (ollama = 0; ollama < 2; ollama++)
		for (r = 0; r < 3; r++)
			for (ask = 0; ask < 2; ask++) {
				if (request_scan(&rq, buf, len, ollama, err,
				    sizeof(err)) != 0 || !rq.model.present)
					goto done;
				out = ollama ? rewrite_ollama(&rq, &m,
				    routes[r], &outlen) : rewrite_body(&rq, &m,
				    routes[r], ask, &outlen);
				if (strlen(out) != outlen)
					abort();
				fuzz_check(out, outlen, ollama);
				if (rq.max_output < -1 ||
				    rq.max_output > REQUEST_MAX_TOKENS)
					abort();
				free(out);
			}
done:
	request_clear(&rq);
	free(buf);
	return 0;
}
