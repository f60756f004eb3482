/*
 * libFuzzer target for what a backend's answer may carry to a client:
 * agent/upstream-header.c on a header line, agent/backend-error.c on an
 * error body. Whatever comes in, what goes out is a clean header (visible
 * ASCII, bounded) or one valid JSON error object.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "agent.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fuzz_clean(const char *s, size_t max)
{
	size_t	i, n = strlen(s);

	if (n == 0 || n > max)
		abort();
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			abort();
}

static void
fuzz_headers(const char *data, size_t len)
{
	char			media[UPSTREAM_MEDIA_TYPE_MAX + 1];
	char			coding[48];
	struct upstream_header	h;

	if (upstream_header_media_type(data, len, media)) {
		fuzz_clean(media, UPSTREAM_MEDIA_TYPE_MAX);
		if (strchr(media, '/') == NULL || media[0] == ' ' ||
		    media[strlen(media) - 1] == ' ')
			abort();
	}
	if (upstream_header_relayed(data, len, &h)) {
		fuzz_clean(h.name, UPSTREAM_RELAY_NAME_MAX);
		fuzz_clean(h.value, UPSTREAM_RELAY_VALUE_MAX);
		if (strchr(h.name, ':') != NULL || strchr(h.name, ' ') != NULL)
			abort();
	}
	if (upstream_header_coding(data, len, coding, sizeof(coding)))
		fuzz_clean(coding, sizeof(coding) - 1);
}

static void
fuzz_error(const char *data, size_t len, int ollama)
{
	static char	 out[BACKEND_ERROR_BODY_MAX];
	const cJSON	*e;
	cJSON		*o;
	size_t		 n, i;

	n = backend_error_body(out, sizeof(out), ollama, data, len,
	    API_INVALID_REQUEST, "the model's backend answered HTTP 400");
	if (n != strlen(out) || n + 1 >= sizeof(out))
		abort();	/* cut short: no longer JSON */
	for (i = 0; i < n; i++)
		if ((unsigned char)out[i] < 0x20)
			abort();
	if ((o = cJSON_ParseWithLength(out, n)) == NULL)
		abort();
	e = cJSON_GetObjectItemCaseSensitive(o, "error");
	if (cJSON_GetArraySize(o) != 1 || (ollama ? !cJSON_IsString(e) :
	    !cJSON_IsObject(e) || cJSON_GetArraySize(e) != 4))
		abort();
	cJSON_Delete(o);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	fuzz_headers((const char *)data, len);
	fuzz_error((const char *)data, len, 0);
	fuzz_error((const char *)data, len, 1);
	return 0;
}
