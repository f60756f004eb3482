/*
 * The built-in PII detectors: hand-written scanners (a pass each, no
 * backtracking), checksums where the format has one so that order
 * numbers and the like are left alone. On a stream each also says how
 * much of the tail it may still need (guard_scan_hold).
 */
#include <stdint.h>
#include <string.h>

#include "guard.h"
#include "xmalloc.h"

/* Character classes, one bit each, looked up in one table. */
#define C_DIGIT		0x01
#define C_UPPER		0x02
#define C_LOWER		0x04
#define C_LOCAL		0x08	/* e-mail local part punctuation: ._%+- */
#define C_TOKEN		0x10	/* API key bodies: _ and - */
#define C_PHONE		0x20	/* phone punctuation: +().- and space */
#define C_SPACE		0x40
#define C_DOT		0x80
#define C_PSTART	0x100	/* a phone number may start here: +( */
#define C_KSTART	0x200	/* a key's first character: s A g x e */
#define C_ALNUM		(C_DIGIT | C_UPPER | C_LOWER)

static const uint16_t pii_class[256] = {
	['0' ... '9'] = C_DIGIT | C_PSTART,
	['A'] = C_UPPER | C_KSTART,
	['B' ... 'Z'] = C_UPPER,
	['a' ... 'd'] = C_LOWER,
	['e'] = C_LOWER | C_KSTART,
	['f'] = C_LOWER,
	['g'] = C_LOWER | C_KSTART,
	['h' ... 'r'] = C_LOWER,
	['s'] = C_LOWER | C_KSTART,
	['t' ... 'w'] = C_LOWER,
	['x'] = C_LOWER | C_KSTART,
	['y' ... 'z'] = C_LOWER,
	['.'] = C_LOCAL | C_PHONE | C_DOT,
	['_'] = C_LOCAL | C_TOKEN,
	['%'] = C_LOCAL,
	['+'] = C_LOCAL | C_PHONE | C_PSTART,
	['-'] = C_LOCAL | C_TOKEN | C_PHONE,
	['('] = C_PHONE | C_PSTART,
	[')'] = C_PHONE,
	[' '] = C_PHONE | C_SPACE,
};

static inline int
pii_is(const char *s, size_t i, unsigned cls)
{
	return (pii_class[(unsigned char)s[i]] & cls) != 0;
}

/* Is s[i] a character cls excludes before a match (i == 0: nothing)? */
static inline int
pii_prev_is(const char *s, size_t i, unsigned cls)
{
	return i > 0 && pii_is(s, i - 1, cls);
}

/*
 * On a stream, a match may still be growing at the end of the buffer:
 * hold the trailing run of bytes of class cls, at most cap of them.
 */
static void
pii_hold_run(struct guard_scan *sc, unsigned cls, const char *extra,
    size_t cap)
{
	size_t	n = 0;

	if (sc->final)
		return;
	while (n < cap && n < sc->len && (pii_is(sc->s, sc->len - n - 1, cls) ||
	    (extra != NULL && sc->s[sc->len - n - 1] != '\0' &&
	    strchr(extra, sc->s[sc->len - n - 1]) != NULL)))
		n++;
	if (n > 0)
		guard_scan_hold(sc, sc->len - n);
}

int
guard_pii_luhn(const char *d, size_t n)
{
	unsigned	sum = 0, v;
	size_t		i;

	for (i = 0; i < n; i++) {
		v = d[n - 1 - i] - '0';
		if (i % 2 == 1 && (v *= 2) > 9)
			v -= 9;
		sum += v;
	}
	return n > 0 && sum % 10 == 0;
}

/* ISO 13616: the first four characters moved to the end, letters as 10-35. */
int
guard_pii_iban_valid(const char *a, size_t n)
{
	unsigned	r = 0;
	size_t		i, k;
	char		c;

	if (n < 15 || n > 34)
		return 0;
	for (i = 0; i < n; i++) {
		c = a[(i + 4) % n];
		if (c >= '0' && c <= '9')
			r = (r * 10 + (c - '0')) % 97;
		else if (c >= 'A' && c <= 'Z') {
			k = c - 'A' + 10;
			r = (r * 100 + k) % 97;
		} else
			return 0;
	}
	return r == 1;
}

/*
 * Where a number may start: the first digit of each run of digits, and
 * each '+' and '('. The digit detectors only ever start there, so they
 * visit these instead of every byte.
 */
static void
pii_index(struct guard_scan *sc)
{
	const char	*s = sc->s;
	size_t		 i, len = sc->len;

	sc->nstarts = 0;
	for (i = sc->from; i < len; i++) {
		if (!pii_is(s, i, C_PSTART))
			continue;
		if (pii_is(s, i, C_DIGIT) && pii_prev_is(s, i, C_DIGIT) &&
		    i > sc->from)
			continue;
		if (sc->nstarts == sc->capstarts) {
			sc->capstarts = sc->capstarts == 0 ? 64 :
			    sc->capstarts * 2;
			sc->starts = xreallocarray(sc->starts, sc->capstarts,
			    sizeof(*sc->starts));
		}
		sc->starts[sc->nstarts++] = i;
	}
}

/* --- card: 13-19 digits, single spaces or dashes between, Luhn ------------ */

static void
pii_card(struct guard_scan *sc)
{
	const char	*s = sc->s;
	size_t		 len = sc->len, i = sc->from, start, end, nd, k;
	char		 d[20];

	for (k = 0; k < sc->nstarts; k++) {
		if (sc->starts[k] < i || !pii_is(s, sc->starts[k], C_DIGIT))
			continue;
		i = start = sc->starts[k];
		nd = 0;
		end = i;
		while (i < len) {
			if (pii_is(s, i, C_DIGIT)) {
				if (nd < sizeof(d))
					d[nd] = s[i];
				nd++;
				end = ++i;
			} else if ((s[i] == ' ' || s[i] == '-') &&
			    i + 1 < len && pii_is(s, i + 1, C_DIGIT))
				i++;
			else
				break;
		}
		i = end;
		/*
		 * The run goes on from before start (only seen when a stream
		 * resumes inside it): it is judged whole or not at all.
		 */
		if (nd < 13 || nd > 19 ||
		    pii_prev_is(s, start, C_ALNUM | C_DOT) ||
		    (start > 0 && s[start - 1] == '_') ||
		    (start > 1 && (s[start - 1] == ' ' ||
		    s[start - 1] == '-') && pii_is(s, start - 2, C_DIGIT)) ||
		    (end < len && pii_is(s, end, C_ALNUM)))
			continue;
		if (guard_pii_luhn(d, nd))
			guard_scan_hit(sc, start, end, GUARD_CARD);
	}
	/* A card is judged on its whole run of digits: hold all of it. */
	pii_hold_run(sc, C_DIGIT, " -", GUARD_STREAM_MAX_HOLD);
}

/* --- phone: +CC with 8-15 digits, or national formats with separators ----- */

static int
pii_phone_at(const char *s, size_t len, size_t i, size_t *endp)
{
	size_t	j = i, end = i, g, nd = 0, glen[3] = { 0, 0, 0 };
	int	plus = 0, open, first_open = 0, ngroups = 0;
	char	first = 0;

	if (s[j] == '+') {
		plus = 1;
		if (++j >= len || !pii_is(s, j, C_DIGIT))
			return 0;
	}
	for (;;) {
		open = 0;
		if (j < len && s[j] == '(') {
			open = 1;
			j++;
		}
		for (g = 0; j < len && pii_is(s, j, C_DIGIT); g++, j++) {
			if (nd++ == 0)
				first = s[j];
		}
		if (g == 0 || (open && (j >= len || s[j] != ')'))) {
			if (ngroups == 0)
				return 0;
			break;
		}
		if (open)
			j++;
		if (ngroups == 0)
			first_open = open;
		if (ngroups < 3)
			glen[ngroups] = g;
		ngroups++;
		end = j;
		if (nd > 15)
			return 0;
		if (j + 1 < len && (s[j] == ' ' || s[j] == '-' ||
		    s[j] == '.') && (pii_is(s, j + 1, C_DIGIT) ||
		    s[j + 1] == '(')) {
			j++;
			continue;
		}
		if (open && j < len && pii_is(s, j, C_DIGIT))
			continue;
		break;
	}
	if (end < len && pii_is(s, end, C_ALNUM))
		return 0;
	if (plus) {
		if (nd < 8 || nd > 15)
			return 0;
	} else if (nd < 10 || nd > 12 || ngroups < 2 || !(first_open ||
	    first == '0' || (ngroups == 3 && glen[0] == 3 && glen[1] == 3 &&
	    glen[2] == 4)))
		return 0;
	*endp = end;
	return 1;
}

static void
pii_phone(struct guard_scan *sc)
{
	const char	*s = sc->s;
	size_t		 len = sc->len, i, next = sc->from, end, k;

	/* Digits inside a run cannot start one: their neighbour is a digit. */
	for (k = 0; k < sc->nstarts; k++) {
		if ((i = sc->starts[k]) < next ||
		    pii_prev_is(s, i, C_ALNUM | C_DOT) ||
		    (i > 0 && (s[i - 1] == '_' || s[i - 1] == '+')))
			continue;
		if (pii_phone_at(s, len, i, &end)) {
			guard_scan_hit(sc, i, end, GUARD_PHONE);
			next = end;
		}
	}
	pii_hold_run(sc, C_DIGIT | C_PHONE, NULL, 40);
}

/* --- ssn: AAA-GG-SSSS, with the ranges the SSA never issues left out ---- */

static void
pii_ssn(struct guard_scan *sc)
{
	const char	*s = sc->s;
	size_t		 len = sc->len, i;
	static const char shape[] = "ddd-dd-dddd";

	size_t		 next = sc->from, n;

	for (n = 0; n < sc->nstarts; n++) {
		size_t	k;

		if ((i = sc->starts[n]) < next || i + 11 > len ||
		    !pii_is(s, i, C_DIGIT) || pii_prev_is(s, i, C_ALNUM) ||
		    (i > 0 && s[i - 1] == '-'))
			continue;
		for (k = 0; k < 11; k++)
			if (shape[k] == 'd' ? !pii_is(s, i + k, C_DIGIT) :
			    s[i + k] != '-')
				break;
		if (k < 11)
			continue;
		if ((i + 11 < len && (pii_is(s, i + 11, C_ALNUM) ||
		    (s[i + 11] == '-' && i + 12 < len &&
		    pii_is(s, i + 12, C_DIGIT)))))
			continue;
		if (memcmp(s + i, "000", 3) == 0 ||
		    memcmp(s + i, "666", 3) == 0 || s[i] == '9' ||
		    memcmp(s + i + 4, "00", 2) == 0 ||
		    memcmp(s + i + 7, "0000", 4) == 0)
			continue;
		guard_scan_hit(sc, i, i + 11, GUARD_SSN);
		next = i + 11;
	}
	pii_hold_run(sc, C_DIGIT, "-", 12);
}

/* --- ipv4: four decimal octets, no leading zeros -------------------------- */

static int
pii_ipv4_at(const char *s, size_t len, size_t i, size_t *endp)
{
	size_t	j = i, k, n;
	int	v;

	for (k = 0; k < 4; k++) {
		if (k > 0) {
			if (j >= len || s[j] != '.')
				return 0;
			j++;
		}
		for (n = 0, v = 0; j < len && n < 4 && pii_is(s, j, C_DIGIT);
		    n++, j++)
			v = v * 10 + (s[j] - '0');
		if (n == 0 || n > 3 || v > 255 || (n > 1 && s[j - n] == '0'))
			return 0;
	}
	if (j < len && (pii_is(s, j, C_ALNUM) || (s[j] == '.' && j + 1 < len &&
	    pii_is(s, j + 1, C_DIGIT))))
		return 0;
	*endp = j;
	return 1;
}

static void
pii_ipv4(struct guard_scan *sc)
{
	const char	*s = sc->s;
	size_t		 len = sc->len, i, next = sc->from, end, k;

	for (k = 0; k < sc->nstarts; k++) {
		if ((i = sc->starts[k]) < next || !pii_is(s, i, C_DIGIT) ||
		    pii_prev_is(s, i, C_ALNUM | C_DOT))
			continue;
		if (pii_ipv4_at(s, len, i, &end)) {
			guard_scan_hit(sc, i, end, GUARD_IPV4);
			next = end;
		}
	}
	pii_hold_run(sc, C_DIGIT | C_DOT, NULL, 16);
}

/* --- iban: CC 2 check digits, 11-30 more, spaces every few; mod-97 -------- */

static void
pii_iban(struct guard_scan *sc)
{
	const char	*s = sc->s;
	size_t		 len = sc->len, i, j, n, k, ends[35], nends;
	char		 a[35];

	for (i = sc->from; i + 15 <= len; i++) {
		if (!pii_is(s, i, C_UPPER) || !pii_is(s, i + 1, C_UPPER) ||
		    !pii_is(s, i + 2, C_DIGIT) || !pii_is(s, i + 3, C_DIGIT) ||
		    pii_prev_is(s, i, C_ALNUM))
			continue;
		/* Every place the IBAN may end: the end of a group. */
		n = nends = 0;
		for (j = i; j < len && n < sizeof(a); j++) {
			if (pii_is(s, j, C_UPPER | C_DIGIT)) {
				a[n++] = s[j];
				if (j + 1 >= len || !pii_is(s, j + 1,
				    C_UPPER | C_DIGIT))
					ends[nends++] = j + 1;
			} else if (s[j] == ' ' && j + 1 < len &&
			    pii_is(s, j + 1, C_UPPER | C_DIGIT) && j > i &&
			    s[j - 1] != ' ')
				continue;
			else
				break;
		}
		/* The longest that checks out, ending on a word boundary. */
		for (k = nends; k-- > 0;) {
			size_t	e = ends[k], m = 0, p;

			for (p = i; p < e; p++)
				if (s[p] != ' ')
					m++;
			if (m < 15 || (e < len && pii_is(s, e, C_LOWER)))
				continue;
			for (p = i, m = 0; p < e; p++)
				if (s[p] != ' ')
					a[m++] = s[p];
			if (guard_pii_iban_valid(a, m)) {
				guard_scan_hit(sc, i, e, GUARD_IBAN);
				i = e - 1;
				break;
			}
		}
	}
	pii_hold_run(sc, C_UPPER | C_DIGIT, " ", 44);
}

/* --- email: local@domain.tld, found from its '@' --------------------------- */

static void
pii_email(struct guard_scan *sc)
{
	const char	*s = sc->s, *at;
	size_t		 len = sc->len, a, l, r, label, last, dend, nlabels;
	size_t		 next, k;

	for (next = sc->from; next < len && (at = memchr(s + next, '@',
	    len - next)) != NULL;) {
		a = at - s;
		next = a + 1;
		for (l = a; l > 0 && a - l < 64 && pii_is(s, l - 1,
		    C_ALNUM | C_LOCAL); l--)
			;
		while (l < a && s[l] == '.')
			l++;
		if (l == a)
			continue;
		nlabels = 0;
		r = last = dend = a + 1;
		for (;;) {
			label = r;
			while (r < len && (pii_is(s, r, C_ALNUM) || s[r] == '-'))
				r++;
			if (r == label || r - label > 63)
				break;
			nlabels++;
			last = label;
			dend = r;
			if (r + 1 < len && s[r] == '.' &&
			    pii_is(s, r + 1, C_ALNUM)) {
				r++;
				continue;
			}
			break;
		}
		if (nlabels < 2 || dend - last < 2 || dend - a > 254)
			continue;
		for (k = last; k < dend && pii_is(s, k, C_UPPER | C_LOWER); k++)
			;
		if (k < dend)
			continue;
		guard_scan_hit(sc, l, dend, GUARD_EMAIL);
		next = dend;
	}
	pii_hold_run(sc, C_ALNUM | C_LOCAL, "@", 330);
}

/* --- secret: API keys, tokens, JWTs, PEM private keys --------------------- */

static const struct pii_secret {
	const char	*prefix;
	size_t		 min;		/* body length after the prefix */
	size_t		 max;		/* 0: any */
	unsigned	 cls;		/* what the body is made of */
	int		 digit;		/* random keys have a digit somewhere */
} pii_secrets[] = {
	{ "sk-",		20,	0,	C_ALNUM | C_TOKEN,	1 },
	{ "AKIA",		16,	16,	C_UPPER | C_DIGIT,	0 },
	{ "ASIA",		16,	16,	C_UPPER | C_DIGIT,	0 },
	{ "ghp_",		36,	0,	C_ALNUM,		1 },
	{ "gho_",		36,	0,	C_ALNUM,		1 },
	{ "ghu_",		36,	0,	C_ALNUM,		1 },
	{ "ghs_",		36,	0,	C_ALNUM,		1 },
	{ "ghr_",		36,	0,	C_ALNUM,		1 },
	{ "github_pat_",	22,	0,	C_ALNUM | C_TOKEN,	1 },
	{ "glpat-",		20,	0,	C_ALNUM | C_TOKEN,	1 },
	{ "xoxb-",		10,	0,	C_ALNUM | C_TOKEN,	1 },
	{ "xoxp-",		10,	0,	C_ALNUM | C_TOKEN,	1 },
	{ "xoxa-",		10,	0,	C_ALNUM | C_TOKEN,	1 },
	{ "xoxs-",		10,	0,	C_ALNUM | C_TOKEN,	1 },
};
#define PII_JWT_MAX	8192

static size_t
pii_run(const char *s, size_t len, size_t i, unsigned cls)
{
	size_t	j;

	for (j = i; j < len && pii_is(s, j, cls); j++)
		;
	return j - i;
}

static int
pii_has_digit(const char *s, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (pii_is(s, i, C_DIGIT))
			return 1;
	return 0;
}

/* A JWT: three base64url segments, the first two JSON ("eyJ"). */
static size_t
pii_jwt_at(const char *s, size_t len, size_t i)
{
	size_t	j = i, n;
	int	seg;

	for (seg = 0; seg < 3; seg++) {
		if (seg < 2 && (len - j < 3 || memcmp(s + j, "eyJ", 3) != 0))
			return 0;
		n = pii_run(s, len, j, C_ALNUM | C_TOKEN);
		if (seg < 2 && n < 10)
			return 0;
		j += n;
		if (seg < 2) {
			if (j >= len || s[j] != '.')
				return 0;
			j++;
		}
	}
	if (j - i > PII_JWT_MAX || (j < len && s[j] == '.'))
		return 0;
	return j;
}

#define PEM_BEGIN	"-----BEGIN "
#define PEM_END		"-----END "
#define PEM_TAIL	"PRIVATE KEY-----"
#define PEM_NAME_MAX	48

/*
 * The name and closing dashes of a PEM line ("RSA PRIVATE KEY-----") at
 * s[i]: where they end, 0 when it is not a private key's, len when it may
 * still become one.
 */
static size_t
pii_pem_header(const char *s, size_t len, size_t i)
{
	size_t	j, d, tail = sizeof(PEM_TAIL) - 1 - 5;

	for (j = i; j < len && j - i <= PEM_NAME_MAX &&
	    pii_is(s, j, C_UPPER | C_DIGIT | C_SPACE); j++)
		;
	if (j - i > PEM_NAME_MAX)
		return 0;
	if (j == len)
		return len;
	if (j - i < tail || memcmp(s + j - tail, PEM_TAIL, tail) != 0)
		return 0;
	d = len - j < 5 ? len - j : 5;
	if (memcmp(s + j, "-----", d) != 0)
		return 0;
	return d < 5 ? len : j + 5;
}

static void
pii_pem(struct guard_scan *sc)
{
	const char	*s = sc->s, *p;
	size_t		 len = sc->len, i, h, e, n, q;

	for (i = sc->from; i < len && (p = memmem(s + i, len - i, PEM_BEGIN,
	    sizeof(PEM_BEGIN) - 1)) != NULL; i = h) {
		i = p - s;
		h = pii_pem_header(s, len, i + sizeof(PEM_BEGIN) - 1);
		if (h == 0) {
			h = i + 1;
			continue;
		}
		if (h == len) {
			/* The header is still coming: hold it, or end there. */
			guard_scan_hit(sc, i, len, GUARD_SECRET);
			return;
		}
		/* The block runs to its END line, or to the end of the text. */
		e = len;
		for (q = h; q < len && (p = memmem(s + q, len - q, PEM_END,
		    sizeof(PEM_END) - 1)) != NULL; q = p - s + 1) {
			n = pii_pem_header(s, len, p - s + sizeof(PEM_END) - 1);
			if (n != 0) {
				e = n;
				break;
			}
		}
		guard_scan_hit(sc, i, e, GUARD_SECRET);
		h = e;
	}
	/* A header's first bytes at the very end. */
	if (!sc->final) {
		for (n = sizeof(PEM_BEGIN) - 2; n > 0; n--)
			if (n <= len && memcmp(s + len - n, PEM_BEGIN, n) == 0) {
				guard_scan_hold(sc, len - n);
				break;
			}
	}
}

static void
pii_secret(struct guard_scan *sc)
{
	const struct pii_secret	*k;
	const char		*s = sc->s;
	size_t			 len = sc->len, i, plen, n, end, t;

	for (i = sc->from; i < len; i++) {
		if (!pii_is(s, i, C_KSTART) ||
		    pii_prev_is(s, i, C_ALNUM | C_TOKEN | C_DOT))
			continue;
		if (s[i] == 'e' && (end = pii_jwt_at(s, len, i)) != 0) {
			guard_scan_hit(sc, i, end, GUARD_SECRET);
			i = end - 1;
			continue;
		}
		for (t = 0; t < sizeof(pii_secrets) / sizeof(pii_secrets[0]);
		    t++) {
			k = &pii_secrets[t];
			if (s[i] != k->prefix[0])
				continue;
			plen = strlen(k->prefix);
			if (len - i < plen || memcmp(s + i, k->prefix, plen) != 0)
				continue;
			n = pii_run(s, len, i + plen, k->cls);
			end = i + plen + n;
			if (n < k->min || (k->max != 0 && (n > k->max ||
			    (end < len && pii_is(s, end, C_ALNUM)))) ||
			    (k->digit && !pii_has_digit(s + i + plen, n)))
				continue;
			guard_scan_hit(sc, i, end, GUARD_SECRET);
			i = end - 1;
			break;
		}
	}
	pii_pem(sc);
	pii_hold_run(sc, C_ALNUM | C_TOKEN | C_DOT, NULL, PII_JWT_MAX + 1);
}

/* The detectors by type, in guard_type order. */
static void (*const pii_detectors[GUARD_PII_TYPES])(struct guard_scan *) = {
	[GUARD_EMAIL] = pii_email,
	[GUARD_PHONE] = pii_phone,
	[GUARD_CARD] = pii_card,
	[GUARD_IBAN] = pii_iban,
	[GUARD_SSN] = pii_ssn,
	[GUARD_IPV4] = pii_ipv4,
	[GUARD_SECRET] = pii_secret,
};

void
guard_pii_scan(struct guard_scan *sc, unsigned types)
{
	unsigned	t;

	if (types & (1u << GUARD_CARD | 1u << GUARD_PHONE | 1u << GUARD_SSN |
	    1u << GUARD_IPV4))
		pii_index(sc);
	for (t = 0; t < GUARD_PII_TYPES; t++)
		if (types & (1u << t))
			pii_detectors[t](sc);
}
