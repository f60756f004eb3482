/* Incremental NDJSON splitter: relay a stream line by line (Ollama's). */
#ifndef CUBE_NDJSON_H
#define CUBE_NDJSON_H

#include <stddef.h>

struct ndjson;

/*
 * A splitter that fails a line longer than max_line bytes (its "\n"
 * included). Caller owns the result; free with ndjson_free().
 */
struct ndjson	*ndjson_new(size_t max_line);
void		 ndjson_free(struct ndjson *);	/* NULL is a no-op */

/*
 * Feed bytes as they arrive. cb is called once per complete line, in
 * order, with its raw bytes including the "\n" that ends it ("\r\n" stays
 * as it came); they are valid only during the call. A line that lies
 * within one feed is passed as a pointer into data, only one that spans
 * feeds is copied. Empty lines are delivered too, so relaying each line
 * verbatim reproduces the stream. cb returns 0 to go on, non-zero to stop.
 *
 * Returns 0, or -1 if a line exceeds max_line or cb returned non-zero;
 * after -1 the splitter is spent and every further call returns -1.
 */
int	 ndjson_feed(struct ndjson *, const char *data, size_t len,
	    int (*cb)(void *arg, const char *line, size_t len), void *arg);

/*
 * At end of stream: deliver a last line the backend did not end with
 * "\n" (without one). Returns as ndjson_feed().
 */
int	 ndjson_finish(struct ndjson *,
	    int (*cb)(void *arg, const char *line, size_t len), void *arg);

#endif
