/*
 * libFuzzer target for tui/hosts.c: the input as a hosts file's text and
 * as a -H list. Whatever it is: every host taken is non-empty, within
 * HOSTS_NAME_MAX, of the hosts charset, not an option, at most HOSTS_MAX,
 * and a -H list names none twice; a refusal leaves a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cubectl.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The hosts taken; unique: none twice (a file may repeat one). */
static void
fuzz_check(char *const *names, size_t n, int unique)
{
	size_t	i, j, len;

	if (n > HOSTS_MAX)
		abort();
	for (i = 0; i < n; i++) {
		len = strlen(names[i]);
		if (len == 0 || len > HOSTS_NAME_MAX || names[i][0] == '-' ||
		    !hosts_valid(names[i], len) ||
		    strpbrk(names[i], " \t\n,#/") != NULL)
			abort();
		for (j = 0; unique && j < i; j++)
			if (strcmp(names[i], names[j]) == 0)
				abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hosts	 h = { .n = 0 };
	char		*text, *names[HOSTS_MAX], err[512];
	size_t		 i;
	int		 n;

	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	err[0] = '\0';
	n = hosts_parse(text, names, HOSTS_MAX, err, sizeof(err));
	if (n == -1 && err[0] == '\0')
		abort();
	if (n >= 0) {
		fuzz_check(names, (size_t)n, 0);
		for (i = 0; i < (size_t)n; i++)
			free(names[i]);
	}

	err[0] = '\0';
	if (hosts_add_list(&h, text, "-H", err, sizeof(err)) == -1 &&
	    err[0] == '\0')
		abort();
	fuzz_check(h.names, h.n, 1);
	for (i = 0; i < h.n; i++)
		if (hosts_add(&h, h.names[i], strlen(h.names[i]), "-H", err,
		    sizeof(err)) != -1)
			abort();	/* a second time is always refused */
	hosts_clear(&h);
	free(text);
	return 0;
}
