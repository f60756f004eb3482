/* The -H target and StrictHostKeyChecking, read as ssh reads them. */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sshconf.h"
#include "xmalloc.h"

#define SSHCONF_MAX_LINE	4096

static const struct {
	const char		*word;
	enum sshconf_strict	 value;
} sshconf_strict_words[] = {
	{ "yes",	SSHCONF_STRICT_YES },
	{ "true",	SSHCONF_STRICT_YES },
	{ "ask",	SSHCONF_STRICT_ASK },
	{ "accept-new",	SSHCONF_STRICT_ACCEPT_NEW },
	{ "no",		SSHCONF_STRICT_NO },
	{ "false",	SSHCONF_STRICT_NO },
	{ "off",	SSHCONF_STRICT_NO },
};

static int
sshconf_port(const char *s, int *port)
{
	char	*end;
	long	 n;

	errno = 0;
	n = strtol(s, &end, 10);
	if (*s == '\0' || !isdigit((unsigned char)*s) || *end != '\0' ||
	    errno != 0 || n < 1 || n > 65535)
		return -1;
	*port = (int)n;
	return 0;
}

int
sshconf_parse_target(const char *arg, struct sshconf_target *t,
    char *err, size_t errlen)
{
	const char	*at, *host, *colon, *end;

	memset(t, 0, sizeof(*t));
	if ((at = strrchr(arg, '@')) != NULL) {
		if (at == arg) {
			snprintf(err, errlen, "'%s': empty user name", arg);
			return -1;
		}
		t->user = xstrndup(arg, at - arg);
		host = at + 1;
	} else
		host = arg;

	if (*host == '[') {	/* [v6addr] or [v6addr]:port */
		if ((end = strchr(host, ']')) == NULL || end == host + 1 ||
		    (end[1] != '\0' && end[1] != ':')) {
			snprintf(err, errlen, "'%s': bad [address]", arg);
			goto fail;
		}
		t->host = xstrndup(host + 1, end - host - 1);
		colon = end[1] == ':' ? end + 1 : NULL;
	} else if ((colon = strchr(host, ':')) != NULL &&
	    strchr(colon + 1, ':') != NULL) {
		t->host = xstrdup(host);	/* a bare IPv6 address */
		colon = NULL;
	} else
		t->host = colon != NULL ? xstrndup(host, colon - host) :
		    xstrdup(host);

	if (*t->host == '\0') {
		snprintf(err, errlen, "'%s': empty host name", arg);
		goto fail;
	}
	if (colon != NULL && sshconf_port(colon + 1, &t->port) == -1) {
		snprintf(err, errlen, "'%s': the port is not 1-65535", arg);
		goto fail;
	}
	return 0;
fail:
	sshconf_target_clear(t);
	return -1;
}

void
sshconf_target_clear(struct sshconf_target *t)
{
	free(t->user);
	free(t->host);
	memset(t, 0, sizeof(*t));
}

/*
 * Does a Host line's pattern list match alias? As ssh: any negated pattern
 * that matches rules the section out; otherwise one plain match is enough.
 */
static int
sshconf_host_matches(char *patterns, const char *alias)
{
	char	*p, *save = NULL;
	int	 matched = 0;

	for (p = strtok_r(patterns, " \t,", &save); p != NULL;
	    p = strtok_r(NULL, " \t,", &save)) {
		if (*p == '!') {
			if (fnmatch(p + 1, alias, FNM_CASEFOLD) == 0)
				return 0;
		} else if (fnmatch(p, alias, FNM_CASEFOLD) == 0)
			matched = 1;
	}
	return matched;
}

/* Split "Keyword value", "Keyword=value" or "Keyword = value". */
static int
sshconf_split(char *line, char **key, char **value)
{
	char	*p = line, *v;
	size_t	 n;

	p += strspn(p, " \t");
	if (*p == '\0' || *p == '#')
		return -1;
	*key = p;
	p += strcspn(p, " \t=");
	if (*p == '\0')
		return -1;
	v = p + strspn(p, " \t");
	if (*v == '=')
		v++;
	*p = '\0';
	v += strspn(v, " \t");
	n = strlen(v);
	while (n > 0 && isspace((unsigned char)v[n - 1]))
		v[--n] = '\0';
	if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
		v[n - 1] = '\0';
		v++;
	}
	*value = v;
	return 0;
}

static enum sshconf_strict
sshconf_strict_word(const char *word)
{
	size_t	i;

	for (i = 0; i < sizeof(sshconf_strict_words) /
	    sizeof(sshconf_strict_words[0]); i++)
		if (strcasecmp(sshconf_strict_words[i].word, word) == 0)
			return sshconf_strict_words[i].value;
	return SSHCONF_STRICT_YES;	/* ssh refuses a bad value; be strict */
}

enum sshconf_strict
sshconf_strict(const char *path, const char *alias)
{
	FILE			*f;
	char			 line[SSHCONF_MAX_LINE], *key, *value;
	enum sshconf_strict	 found = SSHCONF_STRICT_UNSET;
	int			 active = 1;	/* before any Host line */

	if (path == NULL || (f = fopen(path, "re")) == NULL)
		return SSHCONF_STRICT_UNSET;
	while (found == SSHCONF_STRICT_UNSET &&
	    fgets(line, sizeof(line), f) != NULL) {
		if (sshconf_split(line, &key, &value) == -1)
			continue;
		if (strcasecmp(key, "Host") == 0)
			active = sshconf_host_matches(value, alias);
		else if (strcasecmp(key, "Match") == 0)
			active = 0;
		else if (active && strcasecmp(key, "StrictHostKeyChecking") == 0)
			found = sshconf_strict_word(value);
	}
	fclose(f);
	return found;
}
