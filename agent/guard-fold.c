/*
 * The normalised view guardrails match on: NFKC (fullwidth forms,
 * ligatures, superscripts, circled digits fold to what they look like)
 * with the default ignorable and format characters dropped (zero-width
 * spaces and joiners, soft hyphens, bidi controls, variation selectors,
 * tags), and a map back to the original bytes, so that a match found on
 * the view redacts exactly the original code points it came from. Runs
 * on the worker threads, inside guard_list_scan() (guard.c).
 *
 * Unicode data comes from libutf8proc (Debian libutf8proc-dev) rather
 * than ICU or libunistring: it is one small C library with no locale
 * data, and it works a code point at a time (utf8proc_decompose_char
 * with UTF8PROC_COMPAT | UTF8PROC_IGNORE, composition of a code point
 * buffer with utf8proc_normalize_utf32), which is what a view with an
 * offset map needs; ICU's and libunistring's normalisers take whole
 * strings and do not say where each output character came from.
 *
 * The text is cut into units: a code point that cannot combine with what
 * precedes it, then those that can (combining marks, Hangul vowels and
 * final consonants, ignorables). NFKC never combines across such a cut,
 * so normalising unit by unit gives NFKC of the whole text, and a
 * combining sequence's cost stays linear (canonical ordering sorts a run
 * of marks in n log n). A unit whose normal form is its own bytes maps
 * byte for byte; any other maps whole: a match that touches it redacts
 * all of it. Only the units that change are recorded, as runs of alike
 * units; ASCII text builds nothing at all.
 *
 * Invalid UTF-8 passes through unchanged, each byte a unit of its own.
 * The view is at most 4 times the text: the 17 code points whose NFKC is
 * longer than that (U+FDFA, 3 bytes, is 33; squared katakana words such
 * as U+3316) stay as they are, words of other scripts that hide no ASCII.
 * The map holds a run per changed unit at most, and the work on a run
 * of combining marks is n log n.
 *
 * The look-alike view (f->looks) goes one step further, for text
 * written to slip past a guardrail: after NFKC, each code point that a
 * reader takes for an ASCII letter or digit becomes that letter (a
 * Cyrillic 'е', a Greek 'ο', an accented 'é'; lookalike.h, generated at
 * build time from Unicode's confusables, UTS #39, in ICU), and the marks
 * on such a letter or on ASCII are dropped ("i̷g̶n̴o̸r̵e"). guard.c
 * scans it besides the NFKC view, whose text keeps its own script for
 * patterns written in it. One walk makes both: the look-alike view is
 * the same unit's normal form, mapped once more.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "guard.h"
#include "lookalike.h"	/* build/gen: lookalike_table, lookalike_blocks */
#include "xmalloc.h"

#define FOLD_OPTS	(UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT | \
	    UTF8PROC_IGNORE)
/* Past this a unit (a base and a run of marks) is cut anyway. */
#define FOLD_UNIT_MAX	(64 * 1024)
/* Room for one code point's decomposition (U+FDFA has the most, 18). */
#define FOLD_DECOMP_MAX	32
/* A unit's normal form is at most this many times its bytes, or unused. */
#define FOLD_GROW_MAX	4

/* Can the code point be the second of a canonical composition? */
#if UTF8PROC_VERSION_MAJOR == 2 && UTF8PROC_VERSION_MINOR < 10
#define FOLD_IS_SECOND(p) ((p)->comb_index != UINT16_MAX && \
	    (p)->comb_index >= 0x8000)
#else
#define FOLD_IS_SECOND(p) ((p)->comb_issecond)
#endif

#define FOLD_HANGUL_S	0xac00
#define FOLD_HANGUL_N	11172

/* The unit being gathered: its original bytes (its code points: f->u). */
struct fold_unit {
	size_t	 o;		/* original start */
	size_t	 end;
	int	 open;		/* may still take combining code points */
	int	 plain;		/* one code point, its own normal form */
};

struct guard_fold_key {
	uint32_t	 key;	/* combining class, then position */
	int32_t		 cp;
};

static void
fold_reserve(char **p, size_t *cap, size_t need)
{
	if (need <= *cap)
		return;
	*cap = need < 256 ? 256 : need * 2;
	*p = xreallocarray(*p, 1, *cap);
}

/* The ASCII letter or digit cp is taken for (lookalike.h), or 0. */
static int
fold_lookalike(int32_t cp)
{
	size_t		lo = 0, hi, mid;
	uint32_t	key;

	if (cp < 0x80 || cp > 0x10ffff ||
	    !(lookalike_blocks[cp >> 14] >> (cp >> 8 & 63) & 1))
		return 0;
	hi = sizeof(lookalike_table) / sizeof(lookalike_table[0]);
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		key = lookalike_table[mid] >> 8;
		if (key == (uint32_t)cp)
			return lookalike_table[mid] & 0xff;
		if (key < (uint32_t)cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static int
fold_is_mark(int32_t cp)
{
	utf8proc_category_t	c = utf8proc_category(cp);

	return c == UTF8PROC_CATEGORY_MN || c == UTF8PROC_CATEGORY_ME;
}

/*
 * The look-alike form of a unit's n code points, in place: letters and
 * digits as the ASCII they look like, marks on them (or on ASCII) left
 * out. Returns the new length.
 */
static size_t
fold_lookalikes(int32_t *u, size_t n)
{
	size_t	i, k = 0;
	int	a, latin;

	if (n == 0)
		return 0;
	latin = u[0] < 0x80 || fold_lookalike(u[0]) != 0;
	for (i = 0; i < n; i++) {
		if (latin && i > 0 && fold_is_mark(u[i]))
			continue;
		u[k++] = (a = fold_lookalike(u[i])) != 0 ? a : u[i];
	}
	return k;
}

/* Does a code point whose decomposition starts with cp join the unit? */
static int
fold_joins(int32_t cp, const utf8proc_property_t *p)
{
	if (p == NULL)
		p = utf8proc_get_property(cp);
	return p->combining_class != 0 || FOLD_IS_SECOND(p) ||
	    (cp >= 0x1161 && cp <= 0x1175) ||	/* Hangul vowels */
	    (cp >= 0x11a8 && cp <= 0x11c2);	/* Hangul final consonants */
}

/* A lead byte and fewer continuation bytes than it announces. */
static int
fold_incomplete(const unsigned char *p, size_t n)
{
	size_t	want, i;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		want = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		want = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		want = 4;
	else
		return 0;
	if (n >= want)
		return 0;
	for (i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return 1;
}

static int
fold_key_cmp(const void *a, const void *b)
{
	const struct guard_fold_key	*ka = a, *kb = b;

	return ka->key < kb->key ? -1 : ka->key > kb->key;
}

/*
 * Canonical ordering: each run of non-starters sorted by combining class,
 * stable. Runs already in order (nearly all) cost one pass.
 */
static void
fold_order(struct guard_fold *f, int32_t *u, size_t n)
{
	struct guard_fold_key	*k;
	size_t		 i, j, r;
	int		 sorted;
	int		 prev, cc;

	for (i = 0; i < n; i = j) {
		if (utf8proc_get_property(u[i])->combining_class == 0) {
			j = i + 1;
			continue;
		}
		sorted = 1;
		prev = 0;
		for (j = i; j < n && (cc = utf8proc_get_property(u[j])->
		    combining_class) != 0; j++) {
			if (cc < prev)
				sorted = 0;
			prev = cc;
		}
		if (sorted)
			continue;
		if (j - i > f->keycap) {
			f->keycap = (j - i) * 2;
			f->keys = xreallocarray(f->keys, f->keycap,
			    sizeof(*k));
		}
		k = f->keys;
		for (r = i; r < j; r++) {
			cc = utf8proc_get_property(u[r])->combining_class;
			k[r - i].key = (uint32_t)cc << 24 | (uint32_t)(r - i);
			k[r - i].cp = u[r];
		}
		qsort(k, j - i, sizeof(*k), fold_key_cmp);
		for (r = i; r < j; r++)
			u[r] = k[r - i].cp;
	}
}

/* Append n code points to the unit's. */
static void
fold_push(struct guard_fold *f, const int32_t *d, size_t n)
{
	if (n == 0)
		return;
	if (f->nu + n > f->ucap) {
		f->ucap = (f->nu + n) * 2;
		f->u = xreallocarray(f->u, f->ucap, sizeof(*f->u));
	}
	memcpy(f->u + f->nu, d, n * sizeof(*d));
	f->nu += n;
}

/*
 * The view catches up to original offset o: what it has not written yet
 * is its own normal form. The first time, the view begins.
 */
static void
fold_catch_up(struct guard_fold *f, const char *s, size_t o)
{
	if (!f->active) {
		f->active = 1;
		f->len = 0;
		f->done = 0;
	}
	fold_reserve(&f->s, &f->cap, f->len + (o - f->done) + 64);
	memcpy(f->s + f->len, s + f->done, o - f->done);
	f->len += o - f->done;
	f->done = o;
}

/* A unit that is not its own normal form: add it to the map. */
static void
fold_record(struct guard_fold *f, size_t o, size_t ou, size_t v, size_t vu)
{
	struct guard_fold_run	*r;

	if (f->nruns > 0) {
		r = &f->runs[f->nruns - 1];
		if (r->ou == ou && r->vu == vu && r->n < UINT32_MAX &&
		    r->o + (size_t)r->n * ou == o &&
		    r->v + (size_t)r->n * vu == v) {
			r->n++;
			return;
		}
	}
	if (f->nruns == f->capruns) {
		f->capruns = f->capruns == 0 ? 16 : f->capruns * 2;
		f->runs = xreallocarray(f->runs, f->capruns,
		    sizeof(*f->runs));
	}
	f->runs[f->nruns++] = (struct guard_fold_run){ o, v, ou, vu, 1 };
}

/* The unit's form w[0..wlen) into view v, when it differs from the text. */
static void
fold_put(struct guard_fold *v, const char *s, const struct fold_unit *u,
    const char *w, size_t wlen)
{
	size_t	olen = u->end - u->o, at;

	if ((wlen == olen && memcmp(w, s + u->o, wlen) == 0) ||
	    wlen > FOLD_GROW_MAX * olen)
		return;
	fold_catch_up(v, s, u->o);
	at = v->len;
	fold_reserve(&v->s, &v->cap, v->len + wlen + 1);
	memcpy(v->s + v->len, w, wlen);
	v->len += wlen;
	v->done = u->end;
	fold_record(v, u->o, olen, at, wlen);
}

/* Code points u[0..n) as UTF-8 into the scratch; the length. */
static size_t
fold_encode(struct guard_fold *f, const int32_t *u, size_t n)
{
	size_t		i, w = 0;
	uint8_t		b[4];

	fold_reserve(&f->w, &f->wcap, 4 * n + 1);
	for (i = 0; i < n; i++) {
		utf8proc_ssize_t k = utf8proc_encode_char(u[i], b);

		memcpy(f->w + w, b, k);
		w += k;
	}
	return w;
}

/*
 * Normalise the gathered unit into the view, and into the look-alike view
 * when it is wanted (f->looks): the same walk makes both.
 */
static void
fold_flush(struct guard_fold *f, const char *s, struct fold_unit *u)
{
	utf8proc_ssize_t	 n;
	size_t			 w;
	char			 a;

	if (!u->open)
		return;
	if (u->plain) {
		/* Its own normal form: only the look-alike view may differ. */
		if (f->looks && (a = fold_lookalike(f->u[0])) != 0)
			fold_put(f->look, s, u, &a, 1);
		goto done;
	}
	n = f->nu;
	if (n > 1) {
		fold_order(f, f->u, f->nu);
		n = utf8proc_normalize_utf32(f->u, f->nu, UTF8PROC_COMPOSE |
		    UTF8PROC_STABLE);
		if (n < 0)
			n = 0;
	}
	/* Encoded first: the scratch (f->w) may move. */
	w = fold_encode(f, f->u, (size_t)n);
	fold_put(f, s, u, f->w, w);
	if (f->looks) {
		n = (utf8proc_ssize_t)fold_lookalikes(f->u, (size_t)n);
		w = fold_encode(f, f->u, (size_t)n);
		fold_put(f->look, s, u, f->w, w);
	}
done:
	f->nu = 0;
	u->open = 0;
	u->o = u->end;
}

/* A code point's full decomposition into d; its length. */
static size_t
fold_decompose(int32_t cp, int32_t *d, size_t dlen)
{
	utf8proc_ssize_t	n;

	n = utf8proc_decompose_char(cp, d, dlen, FOLD_OPTS, NULL);
	if (n <= 0 || (size_t)n > dlen) {
		/* No decomposition is that long (U+FDFA's 18 is the most). */
		d[0] = cp;
		n = 1;
	}
	return n;
}

/* Marks come to a plain unit's code point: decompose it, to compose. */
static void
fold_unplain(struct guard_fold *f)
{
	int32_t	d[FOLD_DECOMP_MAX];

	f->nu = 0;
	fold_push(f, d, fold_decompose(f->u[0], d, FOLD_DECOMP_MAX));
}

/* Begin a unit at o with the code points d[0..n). */
static void
fold_begin(struct guard_fold *f, struct fold_unit *u, size_t o, size_t end,
    int plain, const int32_t *d, size_t n)
{
	u->o = o;
	u->end = end;
	u->open = 1;
	u->plain = plain;
	f->nu = 0;
	fold_push(f, d, n);
}

/*
 * A precomposed letter (é, ü, で): its canonical decomposition into d
 * when NFKC gives it back unchanged, alone: none of the parts has a
 * compatibility mapping and they compose back to it (not so for the
 * excluded and the singletons, such as the Angstrom sign). Returns the
 * decomposition's length, or 0 for any other.
 */
static size_t
fold_canonical(int32_t cp, int32_t *d, size_t dlen)
{
	int32_t			c[FOLD_DECOMP_MAX];
	utf8proc_ssize_t	n, i;

	n = utf8proc_decompose_char(cp, d, dlen, UTF8PROC_DECOMPOSE, NULL);
	if (n < 2 || (size_t)n > dlen || (size_t)n > FOLD_DECOMP_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (utf8proc_get_property(d[i])->decomp_seqindex !=
		    UINT16_MAX)
			return 0;
	memcpy(c, d, n * sizeof(*c));
	if (utf8proc_normalize_utf32(c, n, UTF8PROC_COMPOSE |
	    UTF8PROC_STABLE) != 1 || c[0] != cp)
		return 0;
	return n;
}

/*
 * What a code point is: whether it is its own normal form (then d holds
 * just it), else its decomposition into d (none when it is dropped);
 * whether it joins the unit before it. Returns the length of d.
 */
static size_t
fold_classify(struct guard_fold *f, int32_t cp, int32_t *d, size_t dlen,
    int *plain, int *joins)
{
	const utf8proc_property_t	*prop = utf8proc_get_property(cp);
	utf8proc_ssize_t		 n;
	uint32_t			*slot;

	*plain = 0;
	*joins = 1;
	if (prop->ignorable || prop->category == UTF8PROC_CATEGORY_CF)
		return 0;
	if (cp >= FOLD_HANGUL_S && cp < FOLD_HANGUL_S + FOLD_HANGUL_N) {
		/* A syllable is its own normal form and begins a unit. */
		d[0] = cp;
		*plain = 1;
		*joins = 0;
		return 1;
	}
	if (prop->decomp_seqindex == UINT16_MAX) {
		d[0] = cp;
		*plain = 1;
		*joins = fold_joins(cp, prop);
		return 1;
	}
	if (prop->decomp_type == 0) {
		/* Text repeats its accented letters: remember them. */
		slot = &f->canon[cp % GUARD_FOLD_CANON];
		if (*slot >> 2 != (uint32_t)cp) {
			n = fold_canonical(cp, d, dlen);
			*slot = (uint32_t)cp << 2 | (n > 0 &&
			    fold_joins(d[0], NULL)) << 1 | (n > 0);
		}
		if (*slot & 1) {
			d[0] = cp;
			*plain = 1;
			*joins = *slot >> 1 & 1;
			return 1;
		}
	}
	n = fold_decompose(cp, d, dlen);
	*joins = fold_joins(d[0], NULL);
	return n;
}

/*
 * Walk s[start..len), cutting units; from is always a cut. Returns where
 * the view stops: len, or on a stream (!final) the start of the last unit
 * or of an unfinished UTF-8 sequence, whichever comes first: more text
 * may still change them.
 */
static size_t
fold_walk(struct guard_fold *f, const char *s, size_t len, size_t start,
    size_t from, int final)
{
	const unsigned char	*p = (const unsigned char *)s;
	struct fold_unit	 u = { start, start, 0, 0 };
	int32_t			 cp, d[FOLD_DECOMP_MAX];
	utf8proc_ssize_t	 k;
	size_t			 i = start, j, lim, n;
	int			 joins, plain;

	f->nu = 0;
	while (i < len) {
		if (p[i] < 0x80) {
			/* A run of ASCII: all but its last are whole units. */
			fold_flush(f, s, &u);
			for (j = i; j + 1 < len && p[j + 1] < 0x80; j++)
				;
			d[0] = p[j];
			fold_begin(f, &u, j, j + 1, 1, d, 1);
			i = j + 1;
			continue;
		}
		lim = i < from ? from : len;
		k = utf8proc_iterate(p + i, lim - i, &cp);
		if (k <= 0) {
			if (!final && i >= from && fold_incomplete(p + i,
			    len - i))
				break;
			/* Not UTF-8: the byte as it is, a unit on its own. */
			fold_flush(f, s, &u);
			u.o = u.end = ++i;
			continue;
		}
		n = fold_classify(f, cp, d, FOLD_DECOMP_MAX, &plain, &joins);
		if (!joins || !u.open || i == from ||
		    i + k - u.o > FOLD_UNIT_MAX) {
			fold_flush(f, s, &u);
			fold_begin(f, &u, i, i + k, plain, d, n);
		} else {
			if (u.plain)
				fold_unplain(f);
			if (plain)
				n = fold_decompose(cp, d, FOLD_DECOMP_MAX);
			fold_push(f, d, n);
			u.end = i + k;
			u.plain = 0;
		}
		i += k;
	}
	if (!final && u.open && u.o >= from) {
		f->nu = 0;
		return u.o;
	}
	fold_flush(f, s, &u);
	return i;
}

/* The length of the ASCII prefix of s, eight bytes at a time. */
static size_t
fold_ascii(const char *s, size_t len)
{
	uint64_t	w;
	size_t		i = 0;

	for (; i + 8 <= len; i += 8) {
		memcpy(&w, s + i, 8);
		if (w & 0x8080808080808080ull)
			break;
	}
	while (i < len && (unsigned char)s[i] < 0x80)
		i++;
	return i;
}

/*
 * Build the view of s[0..len) for a scan starting at from. On a stream
 * (!final) the view stops before the last unit (a character and the
 * marks that may still come to it) and any unfinished UTF-8 sequence:
 * f->olen says how much of s it covers. Returns 1 when the view differs
 * from the text (f->s, f->len), 0 when s[0..olen) is its own view.
 */
int
guard_fold_build(struct guard_fold *f, const char *s, size_t len,
    size_t from, int final)
{
	struct guard_fold	*v[2] = { f, f->look };
	size_t			 i;

	for (i = 0; i < 2 && v[i] != NULL; i++) {
		v[i]->active = 0;
		v[i]->len = 0;
		v[i]->nruns = 0;
	}
	i = fold_ascii(s, len);
	if (i == len) {
		f->olen = final || len == from ? len : len - 1;
		return 0;
	}
	if (f->looks && f->look == NULL)
		f->look = xcalloc(1, sizeof(*f->look));
	v[1] = f->looks ? f->look : NULL;
	/* The ASCII before the first other byte is its own view. */
	f->olen = fold_walk(f, s, len, i > 0 ? i - 1 : 0, from, final);
	for (i = 0; i < 2 && v[i] != NULL; i++) {
		v[i]->olen = f->olen;
		if (!v[i]->active)
			continue;
		fold_catch_up(v[i], s, f->olen);
		v[i]->from = guard_fold_view_at(v[i], from);
		v[i]->s[v[i]->len] = '\0';
	}
	return f->active;
}

/*
 * The last run starting at or before pos, a view offset (or with orig an
 * original one: runs are in the order of both), or NULL.
 */
static const struct guard_fold_run *
fold_run(const struct guard_fold *f, size_t pos, int orig)
{
	size_t	lo = 0, hi = f->nruns, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((orig ? f->runs[mid].o : f->runs[mid].v) <= pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo == 0 ? NULL : &f->runs[lo - 1];
}

/*
 * The original offset of view offset v: where the unit holding the view
 * byte v starts (v == len: the end of what the view covers). With end
 * set, where the unit holding the byte before v ends instead.
 */
static size_t
fold_map(const struct guard_fold *f, size_t v, int end)
{
	const struct guard_fold_run	*r;
	size_t				 x = end ? v - 1 : v, u;

	if (!end && v >= f->len)
		return f->olen;
	if (end && v == 0)
		return 0;
	if ((r = fold_run(f, x, 0)) == NULL)
		return x + end;		/* before any change: the same */
	if (r->vu > 0 && x < r->v + (size_t)r->n * r->vu) {
		u = (x - r->v) / r->vu + end;
		return r->o + u * r->ou;
	}
	/* Past the run: unchanged bytes, offset alike. */
	return r->o + (size_t)r->n * r->ou + (x - (r->v +
	    (size_t)r->n * r->vu)) + end;
}

size_t
guard_fold_start(const struct guard_fold *f, size_t v)
{
	return fold_map(f, v, 0);
}

size_t
guard_fold_end(const struct guard_fold *f, size_t v)
{
	return fold_map(f, v, 1);
}

/* The view offset of original offset o, a cut between units. */
size_t
guard_fold_view_at(const struct guard_fold *f, size_t o)
{
	const struct guard_fold_run	*r;
	size_t				 u;

	if ((r = fold_run(f, o, 1)) == NULL)
		return o;
	if (o < r->o + (size_t)r->n * r->ou) {
		u = (o - r->o) / r->ou;
		return r->v + u * r->vu;
	}
	return r->v + (size_t)r->n * r->vu + (o - (r->o +
	    (size_t)r->n * r->ou));
}

/*
 * Where the unit holding original byte o starts: the start of a changed
 * unit, else of the UTF-8 sequence. A stream keeps its context from
 * there, so the context's view is the same as in the whole text.
 */
size_t
guard_fold_floor(const struct guard_fold *f, const char *s, size_t o)
{
	const struct guard_fold_run	*r;
	size_t				 n = 0;

	if ((r = fold_run(f, o, 1)) != NULL && r->ou > 0 &&
	    o < r->o + (size_t)r->n * r->ou)
		return r->o + (o - r->o) / r->ou * r->ou;
	while (o > 0 && n++ < 3 && ((unsigned char)s[o] & 0xc0) == 0x80)
		o--;
	return o;
}

void
guard_fold_clear(struct guard_fold *f)
{
	if (f->look != NULL) {
		guard_fold_clear(f->look);
		free(f->look);
	}
	free(f->s);
	free(f->runs);
	free(f->u);
	free(f->w);
	free(f->keys);
	memset(f, 0, sizeof(*f));
}

/*
 * The view of a whole string (a keyword), NUL-terminated, or with look its
 * look-alike view; caller frees.
 */
char *
guard_fold_string(const char *s, int look)
{
	struct guard_fold	 f;
	struct guard_fold	*v;
	char			*out;

	memset(&f, 0, sizeof(f));
	f.looks = look;
	guard_fold_build(&f, s, strlen(s), 0, 1);
	v = look ? f.look : &f;
	if (v != NULL && v->active) {
		out = v->s;
		v->s = NULL;
	} else
		out = xstrdup(s);
	guard_fold_clear(&f);
	return out;
}
