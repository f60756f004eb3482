/*
 * What a host's status says of TLS on its inference port (status.tls,
 * docs/admin-api.md), read once per draw for the header, the Fleet and
 * the Attestation view. Runs on the main thread; everything in the status
 * is the agent's word, so it is checked and bounded before it is shown.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cube-tui.h"

#define HOST_TLS_SOON	(14 * 86400)	/* an expiry this close warns */

/* How the key came to be, by mode and TEE. */
static const char *
host_tls_how(const char *mode, const char *tee)
{
	if (strcmp(mode, "files") == 0)
		return "key and certificate from files";
	if (strcmp(mode, "generated") != 0)
		return "key of an unknown kind";
	if (tee == NULL)
		return "key generated in memory";
	if (strcmp(tee, "sim") == 0)
		return "key generated in memory, simulated TEE";
	if (strcmp(tee, "none") == 0)
		return "key generated in memory, no TEE";
	return "key generated in TEE memory";
}

/* Is ADDR:PORT one only this host reaches? As the agent decides it. */
static int
host_tls_loopback(const char *listen)
{
	return strncmp(listen, "127.", 4) == 0 ||
	    strncmp(listen, "[::1]:", 6) == 0 ||
	    strncmp(listen, "localhost:", 10) == 0;
}

/* s, when it is printable ASCII shorter than size, into buf; else "". */
static void
host_tls_copy(char *buf, size_t size, const cJSON *v)
{
	const char	*s;
	size_t		 i;

	buf[0] = '\0';
	if (!cJSON_IsString(v) || (s = v->valuestring) == NULL)
		return;
	for (i = 0; s[i] != '\0'; i++)
		if (i + 1 >= size || s[i] < 0x21 || s[i] > 0x7e)
			return;
	memcpy(buf, s, i + 1);
}

/* "YYYY-MM-DDTHH:MM:SSZ" to a time; -1 for anything else. */
static time_t
host_tls_time(const char *s)
{
	struct tm	 tm;
	const char	*end;

	if (strlen(s) != 20)
		return -1;
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL ||
	    strcmp(end, "Z") != 0)
		return -1;
	return timegm(&tm);
}

/*
 * Read status (NULL: none yet) into *tls; now is the time expiry is
 * judged at. Anything malformed reads as not known, never as TLS on.
 */
void
host_tls_read(const cJSON *status, time_t now, struct host_tls *tls)
{
	const cJSON	*o, *on, *tee;
	char		 mode[16], when[32];
	size_t		 i;

	memset(tls, 0, sizeof(*tls));
	tls->how = "";
	host_tls_copy(tls->listen, sizeof(tls->listen),
	    cJSON_GetObjectItemCaseSensitive(status, "listen"));
	tls->loopback = host_tls_loopback(tls->listen);
	o = cJSON_GetObjectItemCaseSensitive(status, "tls");
	on = cJSON_GetObjectItemCaseSensitive(o, "on");
	if (!cJSON_IsBool(on))
		return;
	if (!cJSON_IsTrue(on)) {
		tls->state = HOST_TLS_OFF;
		return;
	}
	tls->state = HOST_TLS_ON;
	host_tls_copy(mode, sizeof(mode),
	    cJSON_GetObjectItemCaseSensitive(o, "mode"));
	tee = cJSON_GetObjectItemCaseSensitive(status, "tee");
	tls->how = host_tls_how(mode, cJSON_IsString(tee) ?
	    tee->valuestring : NULL);
	host_tls_copy(tls->spki, sizeof(tls->spki),
	    cJSON_GetObjectItemCaseSensitive(o, "spki_sha256"));
	for (i = 0; tls->spki[i] != '\0'; i++) {
		if (!isxdigit((unsigned char)tls->spki[i]))
			break;
		tls->spki[i] = (char)tolower((unsigned char)tls->spki[i]);
	}
	if (i != 64 || tls->spki[i] != '\0')
		tls->spki[0] = '\0';
	host_tls_copy(when, sizeof(when),
	    cJSON_GetObjectItemCaseSensitive(o, "not_after"));
	if (when[0] != '\0' && (tls->not_after = host_tls_time(when)) != -1) {
		memcpy(tls->expires, when, 10);
		tls->expires[10] = '\0';
		tls->expired = tls->not_after <= now;
		tls->expires_soon = !tls->expired &&
		    tls->not_after - now < HOST_TLS_SOON;
	} else
		tls->not_after = 0;
}

/*
 * A short mark for the header and the Fleet ("[TLS]", "[no TLS]"), and
 * the role to draw it in. The words differ where the colours do.
 */
const char *
host_tls_mark(const struct host_tls *tls, enum draw_role *role)
{
	switch (tls->state) {
	case HOST_TLS_ON:
		if (tls->spki[0] == '\0') {
			*role = ROLE_ERROR;
			return "[TLS bad]";
		}
		if (tls->expired) {
			*role = ROLE_ERROR;
			return "[TLS EXP]";
		}
		*role = tls->expires_soon ? ROLE_WARN : ROLE_OK;
		return tls->expires_soon ? "[TLS exp]" : "[TLS]";
	case HOST_TLS_OFF:
		*role = tls->loopback ? ROLE_WARN : ROLE_ERROR;
		return tls->loopback ? "[no TLS]" : "[NO TLS!]";
	default:
		*role = ROLE_MUTED;
		return "[TLS ?]";
	}
}
