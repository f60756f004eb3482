/*
 * The commands of cube-tui's `:` command line: their table, parsing what
 * was typed and Tab completion. No screen and no host here (cmdline.c
 * runs them), so the unit tests hold them alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cube-tui.h"

/* The commands, in the order Tab lists them. */
static const struct command command_table_[] = {
	{ "attest", NULL, 0, COMMAND_WORDS_NONE, COMMAND_VIEW, 8,
	  "the Attestation view" },
	{ "chat", "KEY", 1, COMMAND_WORDS_MODELS, COMMAND_CHAT, -1,
	  "the playground with model KEY" },
	{ "deploy", NULL, 0, COMMAND_WORDS_NONE, COMMAND_DEPLOY, 2,
	  "deploy a model (the form)" },
	{ "domain", "NAME", 1, COMMAND_WORDS_DOMAINS, COMMAND_DOMAIN, -1,
	  "the domain in view" },
	{ "edit-domain", "[NAME]", 0, COMMAND_WORDS_DOMAINS,
	  COMMAND_DOMAIN_EDIT, -1,
	  "edit a domain's trace settings (the one in view)" },
	{ "fleet", NULL, 0, COMMAND_WORDS_NONE, COMMAND_VIEW, 0,
	  "the Fleet view" },
	{ "guardrails", NULL, 0, COMMAND_WORDS_NONE, COMMAND_VIEW, 4,
	  "the Guardrails view" },
	{ "host", "NAME", 1, COMMAND_WORDS_HOSTS, COMMAND_HOST, -1,
	  "the host in view" },
	{ "logs", "[KEY]", 0, COMMAND_WORDS_MODELS, COMMAND_LOGS, 6,
	  "the Logs view, of model KEY" },
	{ "model", "KEY", 1, COMMAND_WORDS_MODELS, COMMAND_MODEL, 2,
	  "the model page of KEY" },
	{ "models", NULL, 0, COMMAND_WORDS_NONE, COMMAND_VIEW, 2,
	  "the Models view" },
	{ "new-domain", NULL, 0, COMMAND_WORDS_NONE, COMMAND_DOMAIN_NEW, -1,
	  "create a domain (the form)" },
	{ "overview", NULL, 0, COMMAND_WORDS_NONE, COMMAND_VIEW, 1,
	  "the Overview view" },
	{ "providers", NULL, 0, COMMAND_WORDS_NONE, COMMAND_VIEW, 3,
	  "the Providers view" },
	{ "q", NULL, 0, COMMAND_WORDS_NONE, COMMAND_QUIT, -1,
	  "quit" },
	{ "tokens", NULL, 0, COMMAND_WORDS_NONE, COMMAND_VIEW, 5,
	  "the Tokens view" },
	{ "usage", "[RANGE]", 0, COMMAND_WORDS_NONE, COMMAND_USAGE, 7,
	  "the Usage view, of 24h, 7d, 30d or today" },
	{ NULL, NULL, 0, COMMAND_WORDS_NONE, COMMAND_VIEW, -1, NULL }
};

const struct command *
command_table(void)
{
	return command_table_;
}

/* The command named by the n bytes at name, or NULL. */
const struct command *
command_lookup(const char *name, size_t n)
{
	const struct command	*c;

	for (c = command_table_; c->name != NULL; c++)
		if (strlen(c->name) == n && strncmp(c->name, name, n) == 0)
			return c;
	return NULL;
}

/*
 * Parse line (what follows the ':'): returns the command, its argument in
 * arg (arglen bytes; "" when none), blanks trimmed. Returns NULL with a
 * message in err for an unknown command or a wrong argument.
 */
const struct command *
command_parse(const char *line, char *arg, size_t arglen, char *err,
    size_t errlen)
{
	const struct command	*c;
	const char		*a;
	size_t			 n, alen;

	if (arglen > 0)
		arg[0] = '\0';
	line += strspn(line, " ");
	n = strcspn(line, " ");
	a = line + n + strspn(line + n, " ");
	alen = strcspn(a, " ");
	if (n == 0) {
		snprintf(err, errlen, "no command (Tab lists them)");
		return NULL;
	}
	if ((c = command_lookup(line, n)) == NULL) {
		snprintf(err, errlen, "unknown command :%.*s (Tab lists them)",
		    (int)(n > 40 ? 40 : n), line);
		return NULL;
	}
	if (c->metavar == NULL && alen > 0) {
		snprintf(err, errlen, ":%s takes no argument", c->name);
		return NULL;
	}
	if ((c->needs_arg && alen == 0) || a[alen + strspn(a + alen, " ")] !=
	    '\0') {
		snprintf(err, errlen, "usage: :%s %s", c->name, c->metavar);
		return NULL;
	}
	if (alen >= arglen) {
		snprintf(err, errlen, ":%s: the argument is too long", c->name);
		return NULL;
	}
	memcpy(arg, a, alen);
	arg[alen] = '\0';
	return c;
}

/* How many leading bytes a and b share. */
static size_t
command_common(const char *a, const char *b)
{
	size_t	n = 0;

	while (a[n] != '\0' && a[n] == b[n])
		n++;
	return n;
}

/* Add word to the space-separated list in hint, when it fits whole. */
static void
command_hint_add(char *hint, size_t hintlen, const char *word)
{
	size_t	len;

	if (hintlen == 0)
		return;
	len = strlen(hint);
	if (len + 1 + strlen(word) + 1 > hintlen)
		return;
	snprintf(hint + len, hintlen - len, "%s%s", len > 0 ? " " : "", word);
}

/*
 * Tab: complete line into out (outlen bytes), commands for the first word
 * and words for the argument. One match is completed whole (a space after
 * a command that takes an argument); several to what they share, and hint
 * (hintlen bytes) lists them. Returns how many matched; 0 leaves out as
 * line.
 */
size_t
command_complete(const char *line, const char *const *words, size_t nwords,
    char *out, size_t outlen, char *hint, size_t hintlen)
{
	const struct command	*c;
	const char		*word, *first = NULL, *sp;
	size_t				 i, n, pre, matches = 0, common = 0;
	size_t				 nlist;

	snprintf(out, outlen, "%s", line);
	if (hintlen > 0)
		hint[0] = '\0';
	if ((sp = strchr(line, ' ')) == NULL) {
		/* The command. */
		n = strlen(line);
		for (c = command_table_; c->name != NULL; c++) {
			if (strncmp(c->name, line, n) != 0)
				continue;
			if (matches++ == 0) {
				first = c->name;
				common = strlen(first);
			} else
				common = command_common(first, c->name) < common
				    ? command_common(first, c->name) : common;
			command_hint_add(hint, hintlen, c->name);
		}
		if (matches == 1) {
			c = command_lookup(first, strlen(first));
			snprintf(out, outlen, "%s%s", first,
			    c->metavar != NULL ? " " : "");
			if (hintlen > 0)
				hint[0] = '\0';
		} else if (matches > 1)
			snprintf(out, outlen, "%.*s", (int)common, first);
		return matches;
	}

	/* The argument: after one space-separated command word. */
	if ((c = command_lookup(line, (size_t)(sp - line))) == NULL ||
	    c->metavar == NULL)
		return 0;
	pre = (size_t)(sp - line);
	sp += strspn(sp, " ");
	if (strchr(sp, ' ') != NULL)
		return 0;
	n = strlen(sp);
	for (i = 0, nlist = 0; i < nwords; i++) {
		word = words[i];
		if (word == NULL || strncmp(word, sp, n) != 0)
			continue;
		if (matches++ == 0) {
			first = word;
			common = strlen(first);
		} else if (command_common(first, word) < common)
			common = command_common(first, word);
		if (nlist++ < 8)
			command_hint_add(hint, hintlen, word);
	}
	if (matches == 0)
		return 0;
	if (matches == 1 && hintlen > 0)
		hint[0] = '\0';
	snprintf(out, outlen, "%.*s %.*s", (int)pre, line, (int)(matches == 1
	    ? strlen(first) : common), first);
	return matches;
}
