/* Incremental Server-Sent Events splitter: relay a stream event by event. */
#ifndef CUBE_SSE_H
#define CUBE_SSE_H

#include <sys/types.h>

#include <stddef.h>

struct sse;

/*
 * A splitter that fails an event longer than max_event bytes (blank line
 * included), e.g. 1 MiB. Caller owns the result; free with sse_free().
 */
struct sse	*sse_new(size_t max_event);
void		 sse_free(struct sse *);	/* NULL is a no-op */

/*
 * Feed bytes as they arrive. Lines end with "\r\n", "\n" or "\r" (mixed
 * freely, per the WHATWG event-stream grammar) and an event ends with a
 * blank line. cb is called once per complete event, in order, with the raw
 * bytes of the event including the blank line that ends it, exactly as
 * received; they are valid only during the call. cb returns 0 to go on,
 * non-zero to stop.
 *
 * An event that lies entirely within one feed is passed as a pointer into
 * data (no copy); only an event that spans feeds is copied into an internal
 * buffer. A "\r\n" split between two feeds is one line ending. An event
 * whose blank line ends in "\r" as the very last byte of a feed is held
 * until the next byte shows whether a "\n" belongs to it (or until
 * sse_finish()), so the events never depend on how the stream was split.
 * Every event, including a lone blank line or a comment-only event, is
 * delivered, so relaying each one verbatim reproduces the stream.
 *
 * Returns 0, or -1 if an event exceeds max_event or cb returned non-zero;
 * after -1 the splitter is spent and every further call returns -1.
 */
int	 sse_feed(struct sse *, const char *data, size_t len,
	    int (*cb)(void *arg, const char *event, size_t len), void *arg);

/*
 * At end of stream: deliver an event held for its possible trailing "\n".
 * Bytes of an unfinished event stay pending (the WHATWG parser discards
 * them). Returns as sse_feed().
 */
int	 sse_finish(struct sse *,
	    int (*cb)(void *arg, const char *event, size_t len), void *arg);

/* Bytes held of an unfinished (or held) event, e.g. to report at stream end. */
size_t	 sse_pending(const struct sse *);

/*
 * Helpers on one complete event as passed to cb. Field lines are parsed per
 * WHATWG: "name: value" with one optional space after the colon, a line
 * without a colon is a field with an empty value, lines starting with ':'
 * are comments, and a leading UTF-8 BOM is ignored.
 *
 * sse_event_is_done: is the data payload exactly "[DONE]" (one data line)?
 *
 * sse_event_data: the values of all "data" fields joined with "\n" into dst,
 * NUL-terminated. Returns the length (0 if there is no data field), or -1 if
 * it does not fit in dstlen including the NUL.
 */
int	 sse_event_is_done(const char *event, size_t len);
ssize_t	 sse_event_data(const char *event, size_t len, char *dst,
	    size_t dstlen);

#endif
