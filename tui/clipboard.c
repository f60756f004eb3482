/*
 * cube-tui's copy: text to the operator's clipboard with OSC 52, which
 * their terminal (and tmux, and an SSH session in between) understands,
 * written between two screen updates so it never lands mid-sequence, and
 * straight to the terminal with write(2): a secret's base64 never rests
 * in stdio's buffer, which nobody wipes. Runs on cube-tui's main thread.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curses.h>
#include <sodium.h>

#include "cube-tui.h"
#include "log.h"

/*
 * The OSC 52 sequence that puts the len bytes at s on the clipboard, in
 * guarded memory: free it with clipboard_free(). Only base64 goes between
 * its fixed head and tail, so no byte of s can drive the terminal.
 * NULL when len is over CLIPBOARD_MAX.
 */
char *
clipboard_osc52(const char *s, size_t len)
{
	static const char	 head[] = "\033]52;c;", tail[] = "\a";
	size_t			 b64, size;
	char			*out;

	if (len > CLIPBOARD_MAX)
		return NULL;
	b64 = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
	size = sizeof(head) - 1 + b64 + sizeof(tail);
	if ((out = sodium_malloc(size)) == NULL)
		fatalx("%s: out of memory", __func__);
	memcpy(out, head, sizeof(head) - 1);
	sodium_bin2base64(out + sizeof(head) - 1, b64, (const unsigned char *)s,
	    len, sodium_base64_VARIANT_ORIGINAL);
	/* b64 counts the NUL that the tail takes the place of. */
	memcpy(out + sizeof(head) - 1 + b64 - 1, tail, sizeof(tail));
	return out;
}

void
clipboard_free(char *seq)
{
	if (seq != NULL)
		sodium_free(seq);
}

/* Copy s to the clipboard: 0, -1 when it is too long, -2 if not written. */
int
clipboard_copy(const char *s)
{
	char	*seq;
	size_t	 len, off = 0;
	ssize_t	 n;
	int	 rc = 0;

	if ((seq = clipboard_osc52(s, strlen(s))) == NULL)
		return -1;
	/*
	 * ncurses has written out its last update (doupdate flushes); what
	 * stdio may hold goes first, so the sequence cannot split another.
	 */
	fflush(stdout);
	len = strlen(seq);
	while (off < len) {
		if ((n = write(STDOUT_FILENO, seq + off, len - off)) < 0) {
			if (errno == EINTR)
				continue;
			rc = -2;
			break;
		}
		off += (size_t)n;
	}
	clipboard_free(seq);
	return rc;
}
