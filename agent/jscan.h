/* Validating JSON scanner: find and splice fields without re-serialising. */
#ifndef CUBE_JSCAN_H
#define CUBE_JSCAN_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

/*
 * Hard ceiling on nesting: jscan_object() keeps one bit per level on the
 * stack, so a larger max_depth is clamped to this.
 */
#define JSCAN_DEPTH_MAX	1024

enum jscan_type {
	JSCAN_OBJECT,
	JSCAN_ARRAY,
	JSCAN_STRING,
	JSCAN_NUMBER,
	JSCAN_TRUE,
	JSCAN_FALSE,
	JSCAN_NULL
};

/*
 * One value inside a buffer: buf[start..end), end exclusive; a string
 * includes its quotes. present is 0 when the key was not found, in which
 * case the other fields are meaningless.
 */
struct jscan_span {
	enum jscan_type	 type;
	size_t		 start;
	size_t		 end;
	int		 present;
};

/* A top-level key to look for; key is NUL-terminated UTF-8. */
struct jscan_want {
	const char		*key;
	struct jscan_span	*out;
};

/*
 * Validate that buf[0..len) is exactly one JSON object (RFC 8259) with
 * optional surrounding whitespace, nested at most max_depth deep (the
 * object itself is level 1; max_depth is clamped to JSCAN_DEPTH_MAX), and
 * record in want[i].out the value span of each wanted top-level key. Strings
 * must be valid UTF-8 and their \u escapes valid, with surrogates paired.
 * Keys are compared after unescaping, so "mod\u0065l" matches "model". A
 * wanted key that appears twice at top level is an error, so that a second
 * "model" cannot be smuggled past us to an upstream that takes the last one.
 * Other keys, and duplicates below the top level, pass unchecked.
 *
 * Single pass, no allocation, no recursion; never reads outside buf[0..len).
 * Every want[i].out->present is reset first. Returns 0, or -1 with a short
 * message in err (byte offsets are 0-based), e.g. "invalid JSON at byte 17:
 * expected ':'" or "duplicate key \"model\"". err may be NULL.
 */
int	jscan_object(const char *buf, size_t len, int max_depth,
	    struct jscan_want *want, size_t nwant, char *err, size_t errlen);

/*
 * Iterate the elements of an array span from a buffer jscan_object()
 * validated. Set *cursor to 0 before the first call. Returns 1 and the next
 * element in *elem, or 0 at the end (or if the span is not an array).
 */
int	jscan_array_next(const char *buf, const struct jscan_span *array,
	    size_t *cursor, struct jscan_span *elem);

/*
 * Find key (compared after unescaping) among the members of an object span
 * from a validated buffer. If the key appears more than once the last one
 * wins, as in most JSON parsers. Returns 1 and the value in *out, or 0 if
 * absent (or if the span is not an object).
 */
int	jscan_object_get(const char *buf, const struct jscan_span *obj,
	    const char *key, struct jscan_span *out);

/*
 * Unescape a string span from a validated buffer into dst as UTF-8 and
 * NUL-terminate it. The result may contain NUL bytes (from \u0000); trust the
 * returned length. Returns the length, or -1 if it does not fit in dstlen
 * (including the NUL) or the span is not a string.
 */
ssize_t	jscan_string(const char *buf, const struct jscan_span *s, char *dst,
	    size_t dstlen);

/*
 * Does a string span from a validated buffer equal lit[0..litlen) after
 * unescaping? Returns 1 or 0; no allocation.
 */
int	jscan_string_eq(const char *buf, const struct jscan_span *s,
	    const char *lit, size_t litlen);

/*
 * Parse a number span that is an integer ("-12", not "1.0" or "1e3") within
 * int64_t range into *v. Returns 0, or -1 if it is not such a number.
 */
int	jscan_int64(const char *buf, const struct jscan_span *s, int64_t *v);

/*
 * Write src[0..len) as a JSON string literal, quotes included, into dst:
 * '"' and '\\' escaped, \b \f \n \r \t short forms, other control characters
 * as \u00XX, and each byte of invalid UTF-8 replaced by \ufffd, so the
 * result is always valid JSON. Like snprintf: writes at most dstlen - 1
 * bytes and a NUL if dstlen > 0, and returns the length of the whole
 * literal (excluding the NUL); it was truncated if that is >= dstlen.
 */
size_t	jscan_quote(char *dst, size_t dstlen, const char *src, size_t len);

#endif
