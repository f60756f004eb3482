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

/*
 * What jscan_walk() tells its callback, in document order: each object
 * member's key, each scalar value, and each object or array as it opens
 * and closes.
 */
enum jscan_step {
	JSCAN_KEY,		/* span: the key, a string */
	JSCAN_VALUE,		/* span: a string, number, true, false or null */
	JSCAN_OPEN,		/* span.start: its '{' or '['; span.end is 0 */
	JSCAN_CLOSE,		/* span: the whole object or array */
};

/*
 * One step. depth is that of the container holding a key or value (the
 * members of the outermost object are at depth 1), or that of the object
 * or array itself when it opens or closes (the outermost one is 1).
 * escaped: the string (key or value) holds a backslash.
 */
struct jscan_token {
	enum jscan_step		 step;
	struct jscan_span	 span;
	int			 depth;
	int			 escaped;
};

/*
 * Scratch for jscan_walk()'s duplicate keys: the keys of the objects still
 * open. Zero it before first use; reuse it from walk to walk (it keeps its
 * memory); free what it grew with jscan_keys_free(). Holds
 * JSCAN_KEYS_INLINE keys without allocating.
 */
#define JSCAN_KEYS_INLINE	32
struct jscan_key {
	uint32_t		 start;		/* the key's span, quotes in */
	uint32_t		 end;
	uint32_t		 depth;		/* of its object; top bit: escaped */
};
struct jscan_keys {
	struct jscan_key	*heap;		/* NULL: inline holds them */
	size_t			 n;
	size_t			 cap;
	struct jscan_key	 inline_keys[JSCAN_KEYS_INLINE];
};
void	jscan_keys_free(struct jscan_keys *);	/* leaves it zeroed */

/*
 * Validate buf[0..len) as jscan_object() does (one JSON object, RFC 8259,
 * at most max_depth deep, valid UTF-8 and escapes) and call cb with each
 * step, in order. With dups, a key that appears twice in one object, at
 * any depth, is an error (keys compared after unescaping, so "a" and
 * "\u0061" are the same key). The check sorts the keys of a large object,
 * so its time is O(n log n) in them, never quadratic, and its memory 12
 * bytes a key of the objects open at once. Duplicates
 * are found when their object closes: the callback may have seen both.
 * cb may be NULL. A callback that returns -1 stops the walk: jscan_walk()
 * then returns -1 and leaves err alone. Returns 0, or -1 with a message
 * in err as jscan_object() does, or "duplicate key \"k\"". No recursion;
 * allocates only what dups grows to.
 */
int	jscan_walk(const char *buf, size_t len, int max_depth,
	    struct jscan_keys *dups, int (*cb)(void *, const struct jscan_token *),
	    void *arg, char *err, size_t errlen);

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
 * Single pass (jscan_walk() without dups), no allocation, no recursion;
 * never reads outside buf[0..len).
 * Every want[i].out->present is reset first. Returns 0, or -1 with a short
 * message in err (byte offsets are 0-based), e.g. "invalid JSON at byte 17:
 * expected ':'" or "duplicate key \"model\"". err may be NULL.
 */
int	jscan_object(const char *buf, size_t len, int max_depth,
	    struct jscan_want *want, size_t nwant, char *err, size_t errlen);

/*
 * jscan_object() that also refuses a key twice in any object, at any
 * depth, as jscan_walk() does with dups (its scratch).
 */
int	jscan_object_strict(const char *buf, size_t len, int max_depth,
	    struct jscan_want *want, size_t nwant, struct jscan_keys *dups,
	    char *err, size_t errlen);

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
 * jscan_object_get() for several keys in one pass over the members: each
 * want[i].out set (the last one of a key twice), or its present 0.
 * Returns how many keys were found. At most JSCAN_FIELDS_MAX wants.
 */
#define JSCAN_FIELDS_MAX	16
int	jscan_object_fields(const char *buf, const struct jscan_span *obj,
	    struct jscan_want *want, size_t nwant);
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
 * Parse any JSON number span ("1e6", "1000000.0", "1E+6", "-0") whose
 * value is an integer within int64_t range into *v, exactly (no floating
 * point). Returns 0; JSCAN_NOT_INTEGER if the value has a fraction;
 * JSCAN_OUT_OF_RANGE if it is an integer beyond int64_t; -1 if the span is
 * not a number.
 */
#define JSCAN_NOT_INTEGER	-2
#define JSCAN_OUT_OF_RANGE	-3
int	jscan_integer(const char *buf, const struct jscan_span *s, int64_t *v);

/*
 * Unescape as much of a string span (from a validated buffer) as fits in
 * dst[0..dstlen - 1) as whole UTF-8 characters, and NUL-terminate it.
 * Returns the length written (which may hold NUL bytes), or -1 if the
 * span is not a string or dstlen is 0.
 */
ssize_t	jscan_string_cut(const char *buf, const struct jscan_span *s,
	    char *dst, size_t dstlen);

/*
 * The length of the longest prefix of s[0..len) that is at most max bytes
 * and does not end inside a UTF-8 sequence: s[0..result) can be kept
 * without cutting a character in two.
 */
size_t	jscan_utf8_cut(const char *s, size_t len, size_t max);

/*
 * Does a string span of a validated buffer hold "\u0000"? cJSON would
 * cut the string there, so a parser downstream reads less than was
 * checked. Only escaped strings can.
 */
int	jscan_span_has_nul(const char *buf, const struct jscan_span *s);

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
