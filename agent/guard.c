/*
 * Guardrails: compiling one (PCRE2, with JIT where the process may map
 * executable memory, for patterns and keywords),
 * running a model's list over a text, and the report of what they did.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcre2.h>

#include "guard.h"
#include "log.h"
#include "xmalloc.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

struct guard {
	char			*key;
	enum guard_kind		 kind;
	enum guard_action	 action;
	unsigned		 types;
	pcre2_code		**codes;	/* regex: one per pattern */
	size_t			 ncodes;	/* keywords: one for all */
	/* Keywords: the words' look-alike form, when it differs. */
	pcre2_code		*look;
	int64_t			 max_chars;
	int64_t			 max_messages;
};

static const char *const guard_kinds[] = {
	[GUARD_PII] = "pii",
	[GUARD_REGEX] = "regex",
	[GUARD_KEYWORDS] = "keywords",
	[GUARD_LENGTH] = "length",
};

static const char *const guard_actions[] = {
	[GUARD_BLOCK] = "block",
	[GUARD_REDACT] = "redact",
	[GUARD_LOG] = "log",
};

/* Admin names, then the upper-case form redaction markers use. */
static const char *const guard_types[][2] = {
	[GUARD_EMAIL] = { "email", "EMAIL" },
	[GUARD_PHONE] = { "phone", "PHONE" },
	[GUARD_CARD] = { "card", "CARD" },
	[GUARD_IBAN] = { "iban", "IBAN" },
	[GUARD_SSN] = { "ssn", "SSN" },
	[GUARD_IPV4] = { "ipv4", "IPV4" },
	[GUARD_SECRET] = { "secret", "SECRET" },
	[GUARD_PATTERN] = { "regex", "REGEX" },
	[GUARD_KEYWORD] = { "keyword", "KEYWORD" },
	[GUARD_TOO_LONG] = { "length", "LENGTH" },
};

static int
guard_name_parse(const char *const *names, size_t n, const char *s)
{
	size_t	i;

	for (i = 0; s != NULL && i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

int
guard_kind_parse(const char *s)
{
	return guard_name_parse(guard_kinds, nitems(guard_kinds), s);
}

const char *
guard_kind_name(enum guard_kind k)
{
	return (size_t)k < nitems(guard_kinds) ? guard_kinds[k] : "unknown";
}

int
guard_action_parse(const char *s)
{
	return guard_name_parse(guard_actions, nitems(guard_actions), s);
}

const char *
guard_action_name(enum guard_action a)
{
	return (size_t)a < nitems(guard_actions) ? guard_actions[a] :
	    "unknown";
}

/* Only the pii types can be selected. */
int
guard_type_parse(const char *s)
{
	size_t	i;

	for (i = 0; s != NULL && i < GUARD_PII_TYPES; i++)
		if (strcmp(guard_types[i][0], s) == 0)
			return (int)i;
	return -1;
}

const char *
guard_type_name(enum guard_type t)
{
	return (size_t)t < nitems(guard_types) ? guard_types[t][0] :
	    "unknown";
}

/* --- compiling ------------------------------------------------------------ */

/*
 * PCRE2's JIT needs writable executable memory, which a hardened service
 * may deny (MemoryDenyWriteExecute=, PR_SET_MDWE): the pattern then runs
 * in the interpreter, slower and otherwise the same. Said once a process.
 */
static void
guard_jit_failed(int rc)
{
	static int	said;
	PCRE2_UCHAR	msg[256];

	if (__atomic_exchange_n(&said, 1, __ATOMIC_RELAXED))
		return;
	pcre2_get_error_message(rc, msg, sizeof(msg));
	log_info("guardrails: PCRE2 JIT unavailable (%s); patterns run in"
	    " the interpreter", (const char *)msg);
}

static pcre2_code *
guard_compile(const char *pattern, uint32_t options, const char *what,
    char *err, size_t errlen)
{
	pcre2_code		*code;
	pcre2_match_data	*md;
	PCRE2_UCHAR		 msg[256];
	PCRE2_SIZE		 off;
	int			 rc;

	code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
	    options | PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &rc, &off, NULL);
	if (code == NULL) {
		pcre2_get_error_message(rc, msg, sizeof(msg));
		snprintf(err, errlen, "%s: %s at offset %zu", what,
		    (const char *)msg, (size_t)off);
		return NULL;
	}
	/* JIT is optional: the interpreter gives the same answers. */
	if ((rc = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE |
	    PCRE2_JIT_PARTIAL_HARD)) < 0)
		guard_jit_failed(rc);
	/* A pattern that matches nothing at all would match everywhere. */
	if ((md = pcre2_match_data_create_from_pattern(code, NULL)) == NULL)
		fatalx("%s: out of memory", __func__);
	rc = pcre2_match(code, (PCRE2_SPTR)"", 0, 0, 0, md, NULL);
	pcre2_match_data_free(md);
	if (rc >= 0) {
		snprintf(err, errlen, "%s: matches the empty string", what);
		pcre2_code_free(code);
		return NULL;
	}
	return code;
}

/*
 * The keywords as one caseless pattern: each word in its normalised form,
 * as the text is matched on (with look, in its look-alike form, for that
 * view), and literal (punctuation escaped), any run of white space inside
 * a phrase as \s+, and the whole alternation between word boundaries.
 */
static char *
guard_keywords_pattern(const char *const *words, size_t n, int look,
    char *err, size_t errlen)
{
	char		*p, *out, **folded;
	const char	*w, *end;
	size_t		 i, cap = 64, nonempty = 0;

	folded = xcalloc(n, sizeof(*folded));
	for (i = 0; i < n; i++) {
		folded[i] = guard_fold_string(words[i], look);
		cap += 4 * strlen(folded[i]) + 8;
	}
	p = out = xmalloc(cap);
	p += sprintf(p, "(?<!\\w)(?:");
	for (i = 0; i < n; i++) {
		for (w = folded[i]; *w == ' ' || *w == '\t'; w++)
			;
		for (end = w + strlen(w); end > w && (end[-1] == ' ' ||
		    end[-1] == '\t'); end--)
			;
		if (w == end)
			continue;
		if (nonempty++ > 0)
			*p++ = '|';
		for (; w < end; w++) {
			unsigned char	c = *w;

			if (c == ' ' || c == '\t') {
				while (w + 1 < end && (w[1] == ' ' ||
				    w[1] == '\t'))
					w++;
				p += sprintf(p, "\\s+");
			} else if (c < 0x80 && !((c >= 'a' && c <= 'z') ||
			    (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
				*p++ = '\\';
				*p++ = c;
			} else
				*p++ = c;
		}
	}
	p += sprintf(p, ")(?!\\w)");
	for (i = 0; i < n; i++)
		free(folded[i]);
	free(folded);
	if (nonempty == 0) {
		snprintf(err, errlen, "words: give at least one word");
		free(out);
		return NULL;
	}
	return out;
}

struct guard *
guard_new(const struct guard_spec *spec, char *err, size_t errlen)
{
	struct guard	*g;
	char		 what[64], *pattern, *look;
	size_t		 i;

	g = xcalloc(1, sizeof(*g));
	g->key = xstrdup(spec->key);
	g->kind = spec->kind;
	g->action = spec->action;
	g->types = spec->types != 0 ? spec->types & GUARD_PII_ALL :
	    GUARD_PII_ALL;
	g->max_chars = spec->max_chars;
	g->max_messages = spec->max_messages;
	switch (spec->kind) {
	case GUARD_REGEX:
		if (spec->npatterns == 0) {
			snprintf(err, errlen, "patterns: give at least one");
			goto fail;
		}
		g->codes = xcalloc(spec->npatterns, sizeof(*g->codes));
		for (i = 0; i < spec->npatterns; i++) {
			snprintf(what, sizeof(what), "patterns[%zu]", i);
			if ((g->codes[i] = guard_compile(spec->patterns[i], 0,
			    what, err, errlen)) == NULL)
				goto fail;
			g->ncodes++;
		}
		break;
	case GUARD_KEYWORDS:
		/* None: refused before xcalloc(0) in the pattern could abort. */
		if (spec->nwords == 0) {
			snprintf(err, errlen, "words: give at least one word");
			goto fail;
		}
		if ((pattern = guard_keywords_pattern(spec->words,
		    spec->nwords, 0, err, errlen)) == NULL)
			goto fail;
		g->codes = xcalloc(1, sizeof(*g->codes));
		g->codes[0] = guard_compile(pattern, PCRE2_CASELESS |
		    PCRE2_UCP, "words", err, errlen);
		if (g->codes[0] == NULL) {
			free(pattern);
			goto fail;
		}
		g->ncodes = 1;
		/* "café" is "cafe" in the look-alike view: so is the word. */
		look = guard_keywords_pattern(spec->words, spec->nwords, 1,
		    err, errlen);
		if (look != NULL && strcmp(look, pattern) != 0 &&
		    (g->look = guard_compile(look, PCRE2_CASELESS | PCRE2_UCP,
		    "words", err, errlen)) == NULL) {
			free(look);
			free(pattern);
			goto fail;
		}
		free(look);
		free(pattern);
		break;
	case GUARD_LENGTH:
		if (spec->max_chars <= 0 && spec->max_messages <= 0) {
			snprintf(err, errlen, "give max_chars, max_messages"
			    " or both");
			goto fail;
		}
		if (spec->action == GUARD_REDACT) {
			snprintf(err, errlen, "a length guardrail blocks or"
			    " logs; it cannot redact");
			goto fail;
		}
		break;
	case GUARD_PII:
		break;
	default:
		snprintf(err, errlen, "unknown kind");
		goto fail;
	}
	return g;
fail:
	guard_free(g);
	return NULL;
}

void
guard_free(struct guard *g)
{
	size_t	i;

	if (g == NULL)
		return;
	for (i = 0; i < g->ncodes; i++)
		pcre2_code_free(g->codes[i]);
	pcre2_code_free(g->look);
	free(g->codes);
	free(g->key);
	free(g);
}

const char *
guard_key(const struct guard *g)
{
	return g->key;
}

enum guard_kind
guard_kind(const struct guard *g)
{
	return g->kind;
}

enum guard_action
guard_action(const struct guard *g)
{
	return g->action;
}

/* --- scanning ------------------------------------------------------------- */

void
guard_scan_clear(struct guard_scan *sc)
{
	free(sc->m);
	free(sc->starts);
	sc->m = NULL;
	sc->starts = NULL;
	sc->nm = sc->cap = sc->nstarts = sc->capstarts = 0;
	guard_fold_clear(&sc->fold);	/* and its look-alike view */
	sc->looked = 0;
}

void
guard_scan_hold(struct guard_scan *sc, size_t pos)
{
	if (pos < sc->from)
		pos = sc->from;
	if (pos < sc->hold)
		sc->hold = pos;
}

/*
 * A match; on a stream one that reaches the end of what has come so far
 * may still grow, so it only holds the text from its start.
 */
void
guard_scan_hit(struct guard_scan *sc, size_t start, size_t end,
    enum guard_type type)
{
	if (start < sc->from)
		start = sc->from;
	if (end <= start)
		return;
	if (!sc->final && end >= sc->len) {
		guard_scan_hold(sc, start);
		return;
	}
	if (sc->nm == sc->cap) {
		sc->cap = sc->cap == 0 ? 16 : sc->cap * 2;
		sc->m = xreallocarray(sc->m, sc->cap, sizeof(*sc->m));
	}
	sc->m[sc->nm++] = (struct guard_match){ start, end, type, sc->guard };
}

static void
guard_scan_pii(const struct guard *g, struct guard_scan *sc)
{
	guard_pii_scan(sc, g->types);
}

/*
 * Patterns: every match, and on a stream where a partial one starts.
 * Only the whole match's offsets are read, so one pair of them serves
 * every pattern (pcre2_match() returns 0 when a match has groups that
 * did not fit: still a match, its offsets set), and one pair a thread
 * serves every scan: they are read right after each match and kept by
 * nothing. Without memory for it the text counts as matched from where
 * the scan starts: fail closed.
 */
static pthread_once_t	 guard_md_once = PTHREAD_ONCE_INIT;
static pthread_key_t	 guard_md_key;
static int		 guard_md_keyed;

static void
guard_md_free(void *md)
{
	pcre2_match_data_free(md);
}

static void
guard_md_init(void)
{
	guard_md_keyed = pthread_key_create(&guard_md_key, guard_md_free) == 0;
}

/* This thread's match data (freed when it ends), or NULL. */
static pcre2_match_data *
guard_md(void)
{
	pcre2_match_data	*md;

	pthread_once(&guard_md_once, guard_md_init);
	if (!guard_md_keyed)
		return NULL;
	if ((md = pthread_getspecific(guard_md_key)) != NULL)
		return md;
	if ((md = pcre2_match_data_create(1, NULL)) == NULL)
		return NULL;
	if (pthread_setspecific(guard_md_key, md) != 0) {
		pcre2_match_data_free(md);
		return NULL;
	}
	return md;
}

static void
guard_scan_regex(const struct guard *g, struct guard_scan *sc)
{
	pcre2_match_data	*md;
	const pcre2_code	*code;
	PCRE2_SIZE		*ov;
	size_t			 i, off;
	uint32_t		 opts = sc->final ? 0 : PCRE2_PARTIAL_HARD;
	int			 rc;

	if ((md = guard_md()) == NULL) {
		guard_scan_hit(sc, sc->from, sc->len, g->kind == GUARD_REGEX ?
		    GUARD_PATTERN : GUARD_KEYWORD);
		return;
	}
	ov = pcre2_get_ovector_pointer(md);
	for (i = 0; i < g->ncodes; i++) {
		code = sc->looking && g->look != NULL ? g->look : g->codes[i];
		for (off = sc->from; off <= sc->len;) {
			rc = pcre2_match(code, (PCRE2_SPTR)sc->s,
			    sc->len, off, opts, md, NULL);
			if (rc == PCRE2_ERROR_PARTIAL) {
				guard_scan_hold(sc, ov[0]);
				break;
			}
			if (rc == PCRE2_ERROR_NOMATCH)
				break;
			if (rc < 0) {
				/* Match limits: fail closed, the rest matches. */
				guard_scan_hit(sc, off, sc->len,
				    g->kind == GUARD_REGEX ? GUARD_PATTERN :
				    GUARD_KEYWORD);
				break;
			}
			guard_scan_hit(sc, ov[0], ov[1], g->kind ==
			    GUARD_REGEX ? GUARD_PATTERN : GUARD_KEYWORD);
			off = ov[1] > off ? ov[1] : off + 1;
			while (off < sc->len &&
			    ((unsigned char)sc->s[off] & 0xc0) == 0x80)
				off++;
		}
	}
}

/* How each kind scans text; length guardrails do not. */
static void (*const guard_scanners[])(const struct guard *,
    struct guard_scan *) = {
	[GUARD_PII] = guard_scan_pii,
	[GUARD_REGEX] = guard_scan_regex,
	[GUARD_KEYWORDS] = guard_scan_regex,
	[GUARD_LENGTH] = NULL,
};

/* By start, the longest first; then by guardrail and type, so alike meet. */
static int
guard_match_cmp(const void *a, const void *b)
{
	const struct guard_match	*ma = a, *mb = b;

	if (ma->start != mb->start)
		return ma->start < mb->start ? -1 : 1;
	if (ma->end != mb->end)
		return ma->end > mb->end ? -1 : 1;
	if (ma->guard != mb->guard)
		return (uintptr_t)ma->guard < (uintptr_t)mb->guard ? -1 : 1;
	return ma->type < mb->type ? -1 : ma->type > mb->type;
}

/* How a pass over one view scans. */
enum guard_pass {
	GUARD_PASS_NFKC,	/* every guardrail */
	GUARD_PASS_LOOK,	/* every guardrail, keywords in look-alike form */
	GUARD_PASS_WORDS,	/* only keywords whose look-alike form differs */
};

/*
 * The guardrails over one view of the text (view: f->s, else the text
 * itself up to f->olen); the matches from sc->m[first] on and the hold
 * are mapped back to the text. Returns the hold.
 */
static size_t
guard_scan_view(const struct guard_list *l, struct guard_scan *sc,
    const struct guard_fold *f, int view, enum guard_pass pass)
{
	const struct guard	*g;
	const char		*text = sc->s;
	size_t			 len = sc->len, from = sc->from, hold, i;
	size_t			 first = sc->nm;

	if (view) {
		sc->s = f->s;
		sc->len = f->len;
		sc->from = f->from;
	} else
		sc->len = f->olen;	/* a stream's last unit is held */
	sc->hold = sc->len;
	sc->looking = pass != GUARD_PASS_NFKC;
	for (i = 0; l != NULL && i < l->n; i++) {
		sc->guard = g = l->guards[i];
		if (guard_scanners[g->kind] != NULL &&
		    (pass != GUARD_PASS_WORDS || g->look != NULL))
			guard_scanners[g->kind](g, sc);
	}
	sc->guard = NULL;
	sc->looking = 0;
	hold = sc->hold;
	if (view) {
		for (i = first; i < sc->nm; i++) {
			sc->m[i].start = guard_fold_start(f, sc->m[i].start);
			sc->m[i].end = guard_fold_end(f, sc->m[i].end);
		}
		hold = guard_fold_start(f, hold);
	}
	sc->s = text;
	sc->len = len;
	sc->from = from;
	return hold;
}

/* Has a keyword guardrail of the list a look-alike form of its own? */
static int
guard_list_looks(const struct guard_list *l)
{
	size_t	i;

	for (i = 0; l != NULL && i < l->n; i++)
		if (l->guards[i]->look != NULL)
			return 1;
	return 0;
}

/*
 * What two passes found of one thing is one match: a guardrail's match
 * of a type that lies inside another of its own (the same, or one the
 * other view saw wider: "xy" in "x\u0301xy" against "x+y", "xxy" in the
 * look-alike view) goes. One pass finds no two such: a pattern's next
 * match starts where its last ended. sc->m is sorted by start.
 */
static void
guard_scan_dedup(const struct guard_list *l, struct guard_scan *sc)
{
	size_t			 end[GUARD_TOO_LONG + 1];
	const struct guard	*g;
	size_t			 i, k, n;
	int			 t;

	for (k = 0; k < l->n; k++) {
		g = l->guards[k];
		for (t = 0; t <= GUARD_TOO_LONG; t++)
			end[t] = 0;
		for (i = n = 0; i < sc->nm; i++) {
			t = sc->m[i].type;
			if (sc->m[i].guard == g && t >= 0 &&
			    t <= GUARD_TOO_LONG) {
				if (sc->m[i].end <= end[t])
					continue;
				end[t] = sc->m[i].end;
			}
			sc->m[n++] = sc->m[i];
		}
		sc->nm = n;
	}
}

/*
 * Every text guardrail of the list over sc, matched on the normalised
 * view of the text (guard-fold.c), and on its look-alike view: a match in
 * either counts. Where the look-alike view is the same, only keywords
 * whose look-alike form differs ("café", matched as "cafe") scan again.
 * Matches and the hold are mapped back to the text, sorted by start, one
 * of each. ASCII text is its own view.
 */
void
guard_list_scan(const struct guard_list *l, struct guard_scan *sc)
{
	size_t	hold, look = SIZE_MAX;
	int	view, again;

	sc->nm = 0;
	sc->fold.looks = 1;
	view = guard_fold_build(&sc->fold, sc->s, sc->len, sc->from,
	    sc->final);
	hold = guard_scan_view(l, sc, &sc->fold, view, GUARD_PASS_NFKC);
	sc->looked = sc->fold.look != NULL && sc->fold.look->active;
	again = sc->looked || guard_list_looks(l);
	if (sc->looked)
		look = guard_scan_view(l, sc, sc->fold.look, 1,
		    GUARD_PASS_LOOK);
	else if (again)
		look = guard_scan_view(l, sc, &sc->fold, view,
		    GUARD_PASS_WORDS);
	if (look < hold)
		hold = look;
	sc->hold = hold;
	if (sc->nm > 1)
		qsort(sc->m, sc->nm, sizeof(*sc->m), guard_match_cmp);
	if (again && l != NULL)
		guard_scan_dedup(l, sc);
}

/*
 * Both views cut the text into the same units; the look-alike one records
 * more of them.
 */
size_t
guard_scan_floor(const struct guard_scan *sc, size_t pos)
{
	size_t	a = guard_fold_floor(&sc->fold, sc->s, pos), b;

	if (!sc->looked)
		return a;
	b = guard_fold_floor(sc->fold.look, sc->s, pos);
	return a < b ? a : b;
}

/* The first blocking match that starts before limit, or NULL. */
const struct guard_match *
guard_list_blocked(const struct guard_scan *sc, size_t limit)
{
	size_t	i;

	for (i = 0; i < sc->nm && sc->m[i].start < limit; i++)
		if (sc->m[i].guard->action == GUARD_BLOCK)
			return &sc->m[i];
	return NULL;
}

/*
 * Write s[from..to) to *out with each redacting match that lies inside
 * replaced by its marker (overlaps merged, the first one's type), and
 * count every match applied. Returns the number of redactions.
 */
size_t
guard_list_apply(const struct guard_scan *sc, size_t from, size_t to,
    struct guard_report *report, char **out, size_t *outlen, size_t *outcap)
{
	const struct guard_match	*m;
	size_t				 i, pos = from, need, nred = 0;
	size_t				 span_end = from;
	char				 marker[32];
	int				 n;

	for (i = 0; i < sc->nm; i++) {
		m = &sc->m[i];
		if (m->start < from || m->end > to)
			continue;
		guard_report_add(report, m->guard, m->type, 1);
		if (m->guard->action != GUARD_REDACT)
			continue;
		if (m->start < span_end) {
			/* Inside a span already replaced: widen it. */
			if (m->end > span_end)
				pos = span_end = m->end;
			continue;
		}
		n = snprintf(marker, sizeof(marker), "[REDACTED:%s]",
		    guard_types[m->type][1]);
		need = *outlen + (m->start - pos) + n + (to - m->start) + 1;
		if (need > *outcap) {
			*outcap = need * 2;
			*out = xreallocarray(*out, 1, *outcap);
		}
		memcpy(*out + *outlen, sc->s + pos, m->start - pos);
		*outlen += m->start - pos;
		memcpy(*out + *outlen, marker, n);
		*outlen += n;
		pos = span_end = m->end;
		nred++;
	}
	need = *outlen + (to - pos) + 1;
	if (need > *outcap) {
		*outcap = need;
		*out = xreallocarray(*out, 1, *outcap);
	}
	memcpy(*out + *outlen, sc->s + pos, to - pos);
	*outlen += to - pos;
	(*out)[*outlen] = '\0';
	return nred;
}

/*
 * A redaction can make a match that was not there: what is left of a run
 * a detector cut short ("i@e.xxx…" before a 64-byte local part), or two
 * halves that meet around a marker. So the redacted text is scanned again
 * until nothing more is found; matches that only log were counted in the
 * first round and are not counted again. Text that still changes after
 * GUARD_REDACT_ROUNDS rounds (a pattern that matches its own marker) is
 * blocked rather than passed half clean.
 */
#define GUARD_REDACT_ROUNDS	4

static void
guard_scan_only_redact(struct guard_scan *sc)
{
	size_t	i, n = 0;

	for (i = 0; i < sc->nm; i++)
		if (sc->m[i].guard->action != GUARD_LOG)
			sc->m[n++] = sc->m[i];
	sc->nm = n;
}

enum guard_result
guard_text(const struct guard_list *l, const char *text, size_t len,
    char **out, size_t *outlen, struct guard_report *report)
{
	struct guard_scan		 sc;
	const struct guard_match	*b;
	char				*red, *prev = NULL;
	size_t				 redlen, cap, nred, prevlen = 0;
	int				 round;

	*out = NULL;
	*outlen = 0;
	for (round = 0;; round++) {
		memset(&sc, 0, sizeof(sc));
		sc.s = prev != NULL ? prev : text;
		sc.len = prev != NULL ? prevlen : len;
		sc.final = 1;
		guard_list_scan(l, &sc);
		if (round > 0)
			guard_scan_only_redact(&sc);
		b = guard_list_blocked(&sc, sc.len);
		if (b == NULL && round == GUARD_REDACT_ROUNDS && sc.nm > 0)
			b = &sc.m[0];
		if (b != NULL) {
			guard_report_add(report, b->guard, b->type, 1);
			report->blocked_by = b->guard->key;
			guard_scan_clear(&sc);
			free(prev);
			return GUARD_BLOCKED;
		}
		if (sc.nm == 0) {	/* nothing to count or redact: no copy */
			guard_scan_clear(&sc);
			break;
		}
		red = NULL;
		redlen = cap = 0;
		nred = guard_list_apply(&sc, 0, sc.len, report, &red, &redlen,
		    &cap);
		guard_scan_clear(&sc);
		if (nred == 0) {
			free(red);
			break;
		}
		free(prev);
		prev = red;
		prevlen = redlen;
	}
	if (prev == NULL)
		return GUARD_PASS;
	*out = prev;
	*outlen = prevlen;
	return GUARD_REDACTED;
}

enum guard_result
guard_length(const struct guard_list *l, uint64_t chars, uint64_t messages,
    struct guard_report *report)
{
	const struct guard	*g;
	size_t			 i;

	for (i = 0; l != NULL && i < l->n; i++) {
		g = l->guards[i];
		if (g->kind != GUARD_LENGTH)
			continue;
		if (!((g->max_chars > 0 && chars > (uint64_t)g->max_chars) ||
		    (g->max_messages > 0 &&
		    messages > (uint64_t)g->max_messages)))
			continue;
		guard_report_add(report, g, GUARD_TOO_LONG, 1);
		if (g->action == GUARD_BLOCK) {
			report->blocked_by = g->key;
			return GUARD_BLOCKED;
		}
	}
	return GUARD_PASS;
}

int64_t
guard_max_chars(const struct guard *g)
{
	return g->max_chars;
}

int
guard_list_empty(const struct guard_list *l)
{
	return l == NULL || l->n == 0;
}

uint64_t
guard_utf8_chars(const char *s, size_t len)
{
	uint64_t	n = 0;
	size_t		i;

	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

/* --- the report ------------------------------------------------------------ */

void
guard_report_add(struct guard_report *r, const struct guard *g,
    enum guard_type type, unsigned n)
{
	struct guard_hit	*h;
	size_t			 i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nhits; i++) {
		h = &r->hits[i];
		if (h->key == g->key && h->type == type &&
		    h->output == r->output) {
			h->count += n;
			return;
		}
	}
	if (r->nhits == GUARD_REPORT_MAX) {
		r->dropped += n;
		return;
	}
	r->hits[r->nhits++] = (struct guard_hit){ g->key, type, g->action,
	    r->output, n };
}

const struct guard_hit *
guard_report_hits(const struct guard_report *r, size_t *n)
{
	*n = r->nhits;
	return r->hits;
}

char *
guard_report_json(const struct guard_report *r)
{
	const struct guard_hit	*h;
	char			*out;
	size_t			 i, len = 2, n = 0;

	if (r->nhits == 0)
		return NULL;
	/* Keys are of a JSON-safe charset (GUARDRAIL_KEY_CHARSET). */
	for (i = 0; i < r->nhits; i++)
		len += strlen(r->hits[i].key) + 128;
	out = xmalloc(len);
	out[n++] = '[';
	for (i = 0; i < r->nhits; i++) {
		h = &r->hits[i];
		n += snprintf(out + n, len - n, "%s{\"key\":\"%s\",\"type\":"
		    "\"%s\",\"action\":\"%s\",\"on\":\"%s\",\"count\":%u}",
		    i == 0 ? "" : ",", h->key, guard_type_name(h->type),
		    guard_action_name(h->action), h->output ? "answer" :
		    "prompt", h->count);
	}
	snprintf(out + n, len - n, "]");
	return out;
}

void
guard_report_log(const struct guard_report *r, const char *what)
{
	size_t	i;

	for (i = 0; i < r->nhits; i++)
		log_debug("guardrail %s on %s of %s: %s x%u, %s",
		    r->hits[i].key, r->hits[i].output ? "answer" : "prompt",
		    what, guard_type_name(r->hits[i].type), r->hits[i].count,
		    guard_action_name(r->hits[i].action));
	if (r->dropped > 0)
		log_debug("guardrail hits on %s: %u more not itemised", what,
		    r->dropped);
}
