/*
 * Guardrails: detectors compiled once per registry snapshot and shared
 * read-only by the workers, run over prompts and answers (streams too).
 */
#ifndef CUBE_GUARD_H
#define CUBE_GUARD_H

#include <stddef.h>
#include <stdint.h>

enum guard_kind {
	GUARD_PII,
	GUARD_REGEX,
	GUARD_KEYWORDS,
	GUARD_LENGTH,
};

enum guard_action {
	GUARD_BLOCK,
	GUARD_REDACT,
	GUARD_LOG,
};

/* What a hit is; pii kinds select some of the first GUARD_PII_TYPES. */
enum guard_type {
	GUARD_EMAIL,
	GUARD_PHONE,
	GUARD_CARD,
	GUARD_IBAN,
	GUARD_SSN,
	GUARD_IPV4,
	GUARD_SECRET,
	GUARD_PATTERN,		/* a regex guardrail's pattern */
	GUARD_KEYWORD,
	GUARD_TOO_LONG,		/* a length guardrail's limit */
};
#define GUARD_PII_TYPES		7
#define GUARD_PII_ALL		((1u << GUARD_PII_TYPES) - 1)

/* Limits on a guardrail's parameters (admin-guardrail.c checks them). */
#define GUARD_PATTERNS_MAX	32
#define GUARD_PATTERN_MAX	1024
#define GUARD_WORDS_MAX		256
#define GUARD_WORD_MAX		128

/* Names as the admin API spells them; parse returns -1 when unknown. */
int		 guard_kind_parse(const char *);
const char	*guard_kind_name(enum guard_kind);
int		 guard_action_parse(const char *);
const char	*guard_action_name(enum guard_action);
int		 guard_type_parse(const char *);
const char	*guard_type_name(enum guard_type);	/* "email" */

/* A guardrail as the store describes it; nothing here is kept. */
struct guard_spec {
	const char		*key;
	enum guard_kind		 kind;
	enum guard_action	 action;
	unsigned		 types;		/* pii: 1 << GUARD_EMAIL | ... */
	const char *const	*patterns;	/* regex */
	size_t			 npatterns;
	const char *const	*words;		/* keywords */
	size_t			 nwords;
	int64_t			 max_chars;	/* length; 0: no limit */
	int64_t			 max_messages;
};

/*
 * Compile a guardrail: PCRE2 patterns once, JIT where available. Returns
 * NULL with err filled (a pattern's error names its position) when the
 * spec cannot be compiled. Caller owns the result; free with guard_free().
 */
struct guard	*guard_new(const struct guard_spec *, char *err,
		    size_t errlen);
void		 guard_free(struct guard *);		/* NULL is a no-op */
const char	*guard_key(const struct guard *);
enum guard_kind	 guard_kind(const struct guard *);
enum guard_action guard_action(const struct guard *);

/* A model's input or output guardrails, in order; borrowed pointers. */
struct guard_list {
	const struct guard	**guards;
	size_t			  n;
};

/*
 * What the guardrails did to one request: per guardrail and type, the
 * action and how many hits; never the matched text. Tracing reads it with
 * guard_report_hits(); keys point into the registry snapshot the request
 * holds.
 */
#define GUARD_REPORT_MAX	16
struct guard_hit {
	const char		*key;
	enum guard_type		 type;
	enum guard_action	 action;
	int			 output;	/* 0: on the prompt, 1: answer */
	unsigned		 count;
};
struct guard_report {
	struct guard_hit	 hits[GUARD_REPORT_MAX];
	size_t			 nhits;
	unsigned		 dropped;	/* hits past GUARD_REPORT_MAX */
	const char		*blocked_by;	/* key of the blocking one */
	int			 output;	/* hits now come from the answer */
};
const struct guard_hit *guard_report_hits(const struct guard_report *,
		    size_t *n);
/* Count n hits of type by g (merged with an existing entry). */
void		 guard_report_add(struct guard_report *, const struct guard *,
		    enum guard_type, unsigned n);
/*
 * The hits as a JSON array for a trace, [{"key","type","action","on",
 * "count"}], never the matched text; NULL when there are none. Caller
 * frees.
 */
char		*guard_report_json(const struct guard_report *);
/* Log the hits at debug level, prefixed with what (e.g. the model key). */
void		 guard_report_log(const struct guard_report *,
		    const char *what);

enum guard_result {
	GUARD_PASS,		/* nothing to change */
	GUARD_REDACTED,		/* *out is the text with [REDACTED:TYPE] */
	GUARD_BLOCKED,		/* report->blocked_by says which */
	GUARD_FAILED,		/* it could not be checked: refuse it */
};

/*
 * Run a list's text guardrails over text[0..len). On GUARD_REDACTED *out
 * (NUL-terminated, caller frees) and *outlen are the redacted text.
 */
enum guard_result guard_text(const struct guard_list *, const char *text,
		    size_t len, char **out, size_t *outlen,
		    struct guard_report *);
/* A list's length limits against a request's characters and messages. */
enum guard_result guard_length(const struct guard_list *, uint64_t chars,
		    uint64_t messages, struct guard_report *);
/* Does the list hold anything at all, or anything that needs the text? */
int		 guard_list_empty(const struct guard_list *);
/* Unicode characters in UTF-8 text (continuation bytes do not count). */
uint64_t	 guard_utf8_chars(const char *, size_t);

/*
 * A stream filter: text goes in as the backend sends it and comes out
 * redacted, holding back only what an unfinished match may still need
 * (the end of a word, a number, a key being written), so a secret split
 * across chunks is caught and everything else flows at once. The output
 * is never longer than the input plus the markers put in.
 */
struct guard_stream;
/* list and report must outlive the filter. Free with guard_stream_free(). */
struct guard_stream *guard_stream_new(const struct guard_list *,
		    struct guard_report *);
void		 guard_stream_free(struct guard_stream *);
/*
 * Feed text; *out and *outlen are what may be sent now (valid until the
 * next call). GUARD_BLOCKED: a blocking guardrail matched; nothing of the
 * match was released and the filter is spent.
 */
enum guard_result guard_stream_feed(struct guard_stream *, const char *,
		    size_t, const char **out, size_t *outlen);
/* End of text: release (redacted) what was held. */
enum guard_result guard_stream_finish(struct guard_stream *,
		    const char **out, size_t *outlen);
size_t		 guard_stream_held(const struct guard_stream *);
/* Hold at most this much; past it the held text is judged as final. */
#define GUARD_STREAM_MAX_HOLD	(64 * 1024)

/* guard-out.c: what an output hook sends, a buffer that grows. */
struct guard_out {
	char	*buf;
	size_t	 len;
	size_t	 cap;
};
void	 guard_out_put(struct guard_out *, const char *, size_t);
void	 guard_out_puts(struct guard_out *, const char *);
void	 guard_out_quote(struct guard_out *, const char *, size_t);
void	 guard_out_quote_from(struct guard_out *, size_t mark);
void	 guard_out_clear(struct guard_out *);	/* frees, and empties */
/*
 * A buffered answer changed in place: bytes [start, end) of the backend's
 * answer become with, or (with NULL) text, quoted; in the order they
 * stand in it. Every other byte goes as it came.
 */
struct guard_edit {
	size_t		 start;
	size_t		 end;
	const char	*with;
	char		*text;		/* a redaction, owned */
	size_t		 textlen;
};
#define GUARD_EDITS_MAX	32
struct guard_edits {
	struct guard_edit	 e[GUARD_EDITS_MAX];
	size_t			 n;
	char			*plain;		/* a text, unescaped */
	size_t			 plaincap;
};
/*
 * One text of an answer jscan validated (text, a string span of body)
 * through the list, whole. GUARD_REDACTED gives the text to send in *r
 * (freed by the caller), GUARD_FAILED says the text holds \u0000 (a
 * client in C would show less than was checked).
 */
struct jscan_span;
enum guard_result guard_out_check(struct guard_edits *,
		    const struct guard_list *, const char *body,
		    const struct jscan_span *text, char **r, size_t *rlen,
		    struct guard_report *);
/*
 * guard_out_check(), its redaction an edit: -1 when the text cannot be
 * checked or the edits are full, else 0 and what the list says in *res.
 */
int		 guard_out_check_edit(struct guard_edits *,
		    const struct guard_list *, const char *body,
		    const struct jscan_span *text, struct guard_report *,
		    enum guard_result *res);
/* An edit more, GUARD_FAILED when they are full (text is then freed). */
enum guard_result guard_out_edit(struct guard_edits *, size_t start,
		    size_t end, const char *with, char *text, size_t textlen);
/* Edits e[from..n) in the order they stand in the answer. */
void		 guard_out_sort(struct guard_edits *, size_t from);
/*
 * guard_out_check(), and what it says as edits: a redaction replaces the
 * text; a block empties it and makes its reason "content_filter" (the
 * value span reason, or when the answer has none, insert at insert_at).
 * GUARD_FAILED also when the edits are full: do not send the answer.
 */
enum guard_result guard_out_text(struct guard_edits *,
		    const struct guard_list *, const char *body,
		    const struct jscan_span *text,
		    const struct jscan_span *reason, size_t insert_at,
		    const char *insert, struct guard_report *);
/* The answer with its edits, NULL when none; and free what they hold. */
char		*guard_out_apply(struct guard_edits *, const char *body,
		    size_t len, size_t *outlen);
void		 guard_out_edits_free(struct guard_edits *);

/*
 * guard-fold.c: the normalised view a scan matches on (NFKC, ignorable
 * and format characters dropped), the look-alike view (letters and digits
 * of other scripts as the ASCII they look like, marks on them dropped),
 * and the map back to the original text.
 */
struct guard_fold_run {		/* n alike units that changed */
	size_t			 o;	/* original offset of the first */
	size_t			 v;	/* view offset of the first */
	uint32_t		 ou;	/* original bytes of each */
	uint32_t		 vu;	/* view bytes of each; 0: dropped */
	uint32_t		 n;
};
struct guard_fold_key;
struct guard_fold {
	char			*s;	/* the view, when it differs */
	size_t			 len;
	size_t			 cap;
	int			 active;	/* s is the view */
	size_t			 done;	/* original bytes s stands for */
	size_t			 olen;	/* original bytes the view covers */
	size_t			 from;	/* the scan's from, in the view */
	/*
	 * With looks set, the look-alike view is built alongside (its own s
	 * and runs), in look, allocated the first time text is not ASCII.
	 */
	int			 looks;
	struct guard_fold	*look;
	struct guard_fold_run	*runs;	/* sorted, by o and by v alike */
	size_t			 nruns;
	size_t			 capruns;
	int32_t			*u;	/* one unit's code points */
	size_t			 nu;
	size_t			 ucap;
	char			*w;	/* one unit's normal form */
	size_t			 wcap;
	struct guard_fold_key	*keys;	/* canonical ordering's scratch */
	size_t			 keycap;
#define GUARD_FOLD_CANON	64
	uint32_t		 canon[GUARD_FOLD_CANON]; /* letters seen */
};
/*
 * The view of s[0..len) for a scan from from: 1 when it differs (f->s,
 * f->len), 0 when s[0..f->olen) is its own view. Not final: the view
 * stops before the last unit, which more text may change (f->olen).
 * With f->looks, the look-alike view too: f->look->active when it
 * differs (f->look may be NULL for ASCII text).
 */
int	 guard_fold_build(struct guard_fold *, const char *, size_t len,
	    size_t from, int final);
/* Where the original code points of view byte v start, of v - 1 end. */
size_t	 guard_fold_start(const struct guard_fold *, size_t view);
size_t	 guard_fold_end(const struct guard_fold *, size_t view);
size_t	 guard_fold_view_at(const struct guard_fold *, size_t orig);
size_t	 guard_fold_floor(const struct guard_fold *, const char *,
	    size_t orig);
void	 guard_fold_clear(struct guard_fold *);	/* frees; stays usable */
/* The view of a whole string (with look, the look-alike one). */
char	*guard_fold_string(const char *, int look);	/* caller frees */

/* guard-scan: matches found in a buffer (guard.c, guard-pii.c). */
struct guard_match {
	size_t			 start;
	size_t			 end;
	enum guard_type		 type;
	const struct guard	*guard;
};

struct guard_scan {
	const char		*s;
	size_t			 len;
	size_t			 from;	/* matches start here or later */
	int			 final;	/* no more text follows s */
	size_t			 hold;	/* unfinished matches may start here */
	const struct guard	*guard;	/* the one scanning now */
	struct guard_match	*m;
	size_t			 nm;
	size_t			 cap;
	size_t			*starts;	/* guard-pii.c's run starts */
	size_t			 nstarts;
	size_t			 capstarts;
	struct guard_fold	 fold;	/* the views the guardrails saw */
	int			 looked;	/* fold.look is this scan's */
	int			 looking;	/* keywords in look-alike form */
};
/* Free what a scan allocated (its matches); the struct stays. */
void	 guard_scan_clear(struct guard_scan *);
void	 guard_scan_hit(struct guard_scan *, size_t start, size_t end,
	    enum guard_type);
void	 guard_scan_hold(struct guard_scan *, size_t pos);
/*
 * Every text guardrail of a list over sc->s, matched on its normalised
 * view; sc->m (sorted by start) and sc->hold are offsets in sc->s. On a
 * stream the last unit (a character and the combining marks that may
 * still come to it, or an unfinished UTF-8 sequence) is always held.
 */
void	 guard_list_scan(const struct guard_list *, struct guard_scan *);
/* Where a stream may cut its context: a unit's start at or before pos. */
size_t	 guard_scan_floor(const struct guard_scan *, size_t pos);
/* The first blocking match starting before limit, or NULL. */
const struct guard_match *guard_list_blocked(const struct guard_scan *,
	    size_t limit);
/*
 * Append s[from..to) to the growable *out with the redacting matches
 * inside it replaced by markers, counting each match applied in report.
 * Returns the number of markers put in.
 */
size_t	 guard_list_apply(const struct guard_scan *, size_t from, size_t to,
	    struct guard_report *, char **out, size_t *outlen, size_t *outcap);
int64_t	 guard_max_chars(const struct guard *);	/* 0: none */
/* guard-pii.c: the built-in detectors of the selected types. */
void	 guard_pii_scan(struct guard_scan *, unsigned types);
/* Luhn and ISO 13616 mod-97 checks, for tests and the detectors. */
int	 guard_pii_luhn(const char *digits, size_t n);
int	 guard_pii_iban_valid(const char *alnum, size_t n);

#endif
