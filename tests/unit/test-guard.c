/*
 * Unit tests for agent/guard*.c: each detector against true and false
 * positives, keywords and patterns, redaction, blocking, and the stream
 * filter with a secret split at every offset.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "guard.h"

#define JWT	"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0." \
		"dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
#define PEM	"-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7Zq\n" \
		"bWFkZSB1cCBrZXkgbWF0ZXJpYWw=\n-----END RSA PRIVATE KEY-----"

/* One compiled guardrail and a list holding it. */
struct one {
	struct guard		*g;
	const struct guard	*gp[1];
	struct guard_list	 list;
};

static void
one_init(struct one *o, const struct guard_spec *spec)
{
	char	err[256];

	o->g = guard_new(spec, err, sizeof(err));
	if (o->g == NULL)
		fail_msg("guard_new: %s", err);
	o->gp[0] = o->g;
	o->list.guards = o->gp;
	o->list.n = 1;
}

static void
one_pii(struct one *o, unsigned types, enum guard_action action)
{
	struct guard_spec	spec = { .key = "pii", .kind = GUARD_PII,
				    .action = action, .types = types };

	one_init(o, &spec);
}

/* The text as a redacting list leaves it, or "BLOCKED". Caller frees. */
static char *
filtered(const struct guard_list *l, const char *text)
{
	struct guard_report	 r;
	char			*out;
	size_t			 outlen;

	memset(&r, 0, sizeof(r));
	switch (guard_text(l, text, strlen(text), &out, &outlen, &r)) {
	case GUARD_BLOCKED:
		return strdup("BLOCKED");
	case GUARD_REDACTED:
		assert_int_equal(strlen(out), outlen);
		return out;
	default:
		assert_null(out);
		return strdup(text);
	}
}

static void
expect_pii(unsigned type, const char *text, const char *want)
{
	struct one	 o;
	char		*got;

	one_pii(&o, 1u << type, GUARD_REDACT);
	got = filtered(&o.list, text);
	if (strcmp(got, want) != 0)
		fail_msg("%s on \"%s\": got \"%s\", want \"%s\"",
		    guard_type_name(type), text, got, want);
	free(got);
	guard_free(o.g);
}

/* Texts a detector must leave alone. */
static void
expect_clean(unsigned type, const char *text)
{
	expect_pii(type, text, text);
}

static void
test_checksums(void **state)
{
	(void)state;
	assert_true(guard_pii_luhn("4111111111111111", 16));
	assert_false(guard_pii_luhn("4111111111111112", 16));
	assert_true(guard_pii_luhn("378282246310005", 15));
	assert_true(guard_pii_iban_valid("DE89370400440532013000", 22));
	assert_false(guard_pii_iban_valid("DE89370400440532013001", 22));
	assert_true(guard_pii_iban_valid("GB82WEST12345698765432", 22));
	assert_false(guard_pii_iban_valid("GB82WEST1234", 12));
}

static void
test_card(void **state)
{
	(void)state;
	expect_pii(GUARD_CARD, "card 4111 1111 1111 1111 ok",
	    "card [REDACTED:CARD] ok");
	expect_pii(GUARD_CARD, "4111-1111-1111-1111.", "[REDACTED:CARD].");
	expect_pii(GUARD_CARD, "amex 378282246310005",
	    "amex [REDACTED:CARD]");
	expect_pii(GUARD_CARD, "5555555555554444,x", "[REDACTED:CARD],x");
	/* Luhn fails: an order number. */
	expect_clean(GUARD_CARD, "order 4111 1111 1111 1112 shipped");
	expect_clean(GUARD_CARD, "order #20240115000123 shipped");
	/* Too short, too long, glued to letters, a decimal fraction. */
	expect_clean(GUARD_CARD, "411111111111");
	expect_clean(GUARD_CARD, "41111111111111111111111");
	expect_clean(GUARD_CARD, "ID4111111111111111");
	expect_clean(GUARD_CARD, "pi is 3.4111111111111111");
	expect_clean(GUARD_CARD, "4111  1111 1111 1111");
}

static void
test_phone(void **state)
{
	(void)state;
	expect_pii(GUARD_PHONE, "call +1 415 555 2671 now",
	    "call [REDACTED:PHONE] now");
	expect_pii(GUARD_PHONE, "+44 20 7946 0958", "[REDACTED:PHONE]");
	expect_pii(GUARD_PHONE, "+33 1 42 68 53 00", "[REDACTED:PHONE]");
	expect_pii(GUARD_PHONE, "+4915123456789", "[REDACTED:PHONE]");
	expect_pii(GUARD_PHONE, "(415) 555-2671", "[REDACTED:PHONE]");
	expect_pii(GUARD_PHONE, "tel 415-555-2671.", "tel [REDACTED:PHONE].");
	expect_pii(GUARD_PHONE, "415.555.2671", "[REDACTED:PHONE]");
	expect_pii(GUARD_PHONE, "020 7946 0958", "[REDACTED:PHONE]");
	expect_clean(GUARD_PHONE, "order 4155552671");
	expect_clean(GUARD_PHONE, "on 2024-01-15 at 10:30");
	expect_clean(GUARD_PHONE, "population 10 000 000");
	expect_clean(GUARD_PHONE, "+12 is not a number");
	expect_clean(GUARD_PHONE, "v1.415.555.2671");
}

static void
test_ssn_ipv4(void **state)
{
	(void)state;
	expect_pii(GUARD_SSN, "ssn 123-45-6789.", "ssn [REDACTED:SSN].");
	expect_clean(GUARD_SSN, "000-12-3456 666-12-3456 923-45-6789");
	expect_clean(GUARD_SSN, "123-00-6789 123-45-0000 1123-45-6789");
	expect_clean(GUARD_SSN, "123-45-6789-1");
	expect_pii(GUARD_IPV4, "host 192.168.1.10, up",
	    "host [REDACTED:IPV4], up");
	expect_pii(GUARD_IPV4, "0.0.0.0", "[REDACTED:IPV4]");
	expect_clean(GUARD_IPV4, "256.1.1.1 1.2.3 1.2.3.4.5 01.2.3.4");
	expect_clean(GUARD_IPV4, "version 1.2.3.4a");
}

static void
test_iban_email(void **state)
{
	(void)state;
	expect_pii(GUARD_IBAN, "IBAN DE89 3704 0044 0532 0130 00 please",
	    "IBAN [REDACTED:IBAN] please");
	expect_pii(GUARD_IBAN, "GB82WEST12345698765432.",
	    "[REDACTED:IBAN].");
	expect_pii(GUARD_IBAN, "DE89 3704 0044 0532 0130 00 OK",
	    "[REDACTED:IBAN] OK");
	expect_clean(GUARD_IBAN, "DE89 3704 0044 0532 0130 01");
	expect_clean(GUARD_IBAN, "XDE89370400440532013000");
	expect_pii(GUARD_EMAIL, "mail John.Doe+x@Example.co.uk.",
	    "mail [REDACTED:EMAIL].");
	expect_pii(GUARD_EMAIL, "<a@b.io>", "<[REDACTED:EMAIL]>");
	expect_clean(GUARD_EMAIL, "foo@bar, a@b.c, @home, x@1.23");
	expect_clean(GUARD_EMAIL, "user@ example.com");
}

static void
test_secret(void **state)
{
	(void)state;
	expect_pii(GUARD_SECRET, "key sk-proj-abc123DEF456ghi789JKL0 end",
	    "key [REDACTED:SECRET] end");
	expect_pii(GUARD_SECRET, "AKIAIOSFODNN7EXAMPLE", "[REDACTED:SECRET]");
	expect_pii(GUARD_SECRET,
	    "t=ghp_0123456789abcdefghijABCDEFGHIJ0123456789",
	    "t=[REDACTED:SECRET]");
	expect_pii(GUARD_SECRET, "Bearer " JWT " x",
	    "Bearer [REDACTED:SECRET] x");
	expect_pii(GUARD_SECRET, "key:\n" PEM "\nthanks",
	    "key:\n[REDACTED:SECRET]\nthanks");
	/* A private key cut off still goes, to the end. */
	expect_pii(GUARD_SECRET, "-----BEGIN PRIVATE KEY-----\nMIIEv",
	    "[REDACTED:SECRET]");
	expect_clean(GUARD_SECRET, "sk-learn-is-a-python-library-for-ml");
	expect_clean(GUARD_SECRET, "task-0123456789abcdefghij0123");
	expect_clean(GUARD_SECRET, "AKIA1234 and eyJhbGciOi.x");
	expect_clean(GUARD_SECRET,
	    "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----");
}

static void
test_keywords(void **state)
{
	static const char *const words[] = { "secret plan", "Zürich",
	    " c++ " };
	struct guard_spec	spec = { .key = "kw", .kind = GUARD_KEYWORDS,
				    .action = GUARD_REDACT, .words = words,
				    .nwords = 3 };
	struct one		o;
	char			*got;

	(void)state;
	one_init(&o, &spec);
	got = filtered(&o.list, "the Secret   Plan is\tSECRET\nplan; zürich");
	assert_string_equal(got, "the [REDACTED:KEYWORD] is\t"
	    "[REDACTED:KEYWORD]; [REDACTED:KEYWORD]");
	free(got);
	got = filtered(&o.list, "secretplan, the secret planet, C++ x");
	assert_string_equal(got, "secretplan, the secret planet,"
	    " [REDACTED:KEYWORD] x");
	free(got);
	guard_free(o.g);
}

static void
test_regex(void **state)
{
	static const char *const good[] = { "ACME-[0-9]{4}", "(?i)project x" };
	static const char *const bad[] = { "ok", "a(b" };
	static const char *const empty[] = { "a*" };
	struct guard_spec	spec = { .key = "re", .kind = GUARD_REGEX,
				    .action = GUARD_REDACT, .patterns = good,
				    .npatterns = 2 };
	struct one		o;
	struct guard		*g;
	char			*got, err[256];

	(void)state;
	one_init(&o, &spec);
	got = filtered(&o.list, "ticket ACME-1234 about PROJECT X");
	assert_string_equal(got,
	    "ticket [REDACTED:REGEX] about [REDACTED:REGEX]");
	free(got);
	guard_free(o.g);

	spec.patterns = bad;
	assert_null(g = guard_new(&spec, err, sizeof(err)));
	assert_non_null(strstr(err, "patterns[1]"));
	assert_non_null(strstr(err, "offset 3"));
	spec.patterns = empty;
	spec.npatterns = 1;
	assert_null(g = guard_new(&spec, err, sizeof(err)));
	assert_non_null(strstr(err, "empty string"));
}

static void
test_block_and_log(void **state)
{
	struct guard_report	 r;
	struct one		 o;
	char			*out;
	size_t			 outlen;
	const struct guard_hit	*h;
	size_t			 n;

	(void)state;
	one_pii(&o, 0, GUARD_BLOCK);
	memset(&r, 0, sizeof(r));
	assert_int_equal(guard_text(&o.list, "mail a@b.io", 11, &out,
	    &outlen, &r), GUARD_BLOCKED);
	assert_string_equal(r.blocked_by, "pii");
	h = guard_report_hits(&r, &n);
	assert_int_equal(n, 1);
	assert_int_equal(h[0].type, GUARD_EMAIL);
	assert_int_equal(h[0].action, GUARD_BLOCK);
	guard_free(o.g);

	one_pii(&o, 0, GUARD_LOG);
	memset(&r, 0, sizeof(r));
	assert_int_equal(guard_text(&o.list, "a@b.io c@d.io 10.0.0.1", 22,
	    &out, &outlen, &r), GUARD_PASS);
	h = guard_report_hits(&r, &n);
	assert_int_equal(n, 2);
	assert_int_equal(h[0].type, GUARD_EMAIL);
	assert_int_equal(h[0].count, 2);
	assert_int_equal(h[1].type, GUARD_IPV4);
	assert_null(r.blocked_by);
	guard_free(o.g);
}

static void
test_length(void **state)
{
	struct guard_spec	 spec = { .key = "len", .kind = GUARD_LENGTH,
				    .action = GUARD_BLOCK, .max_chars = 5,
				    .max_messages = 2 };
	struct guard_report	 r;
	struct one		 o;
	char			 err[128];

	(void)state;
	one_init(&o, &spec);
	memset(&r, 0, sizeof(r));
	assert_int_equal(guard_length(&o.list, 5, 2, &r), GUARD_PASS);
	assert_int_equal(guard_length(&o.list, 6, 1, &r), GUARD_BLOCKED);
	assert_int_equal(guard_length(&o.list, 1, 3, &r), GUARD_BLOCKED);
	assert_int_equal(guard_utf8_chars("Zürich", 7), 6);
	guard_free(o.g);
	spec.action = GUARD_REDACT;
	assert_null(guard_new(&spec, err, sizeof(err)));
	spec.action = GUARD_BLOCK;
	spec.max_chars = spec.max_messages = 0;
	assert_null(guard_new(&spec, err, sizeof(err)));
}

/* --- streams ----------------------------------------------------------- */

/* Feed text in the given chunks; the concatenated output, or with BLOCKED. */
static char *
streamed(const struct guard_list *l, const char *text, const size_t *cuts,
    size_t ncuts, size_t *maxheld)
{
	struct guard_report	 r;
	struct guard_stream	*gs;
	const char		*out;
	size_t			 outlen, pos = 0, i, total = 0, len;
	char			*acc;
	enum guard_result	 res = GUARD_PASS;

	len = strlen(text);
	acc = calloc(1, 4 * len + 256);
	memset(&r, 0, sizeof(r));
	gs = guard_stream_new(l, &r);
	for (i = 0; i <= ncuts && res != GUARD_BLOCKED; i++) {
		size_t	end = i < ncuts ? cuts[i] : len;

		res = guard_stream_feed(gs, text + pos, end - pos, &out,
		    &outlen);
		memcpy(acc + total, out, outlen);
		total += outlen;
		pos = end;
		if (maxheld != NULL && guard_stream_held(gs) > *maxheld)
			*maxheld = guard_stream_held(gs);
	}
	if (res != GUARD_BLOCKED) {
		res = guard_stream_finish(gs, &out, &outlen);
		memcpy(acc + total, out, outlen);
		total += outlen;
	}
	if (res == GUARD_BLOCKED)
		strcpy(acc + total, "BLOCKED");
	guard_stream_free(gs);
	return acc;
}

/* Every split into two chunks, and byte by byte, gives the batch result. */
static void
expect_stream_same(const struct guard_list *l, const char *text)
{
	char	*want, *got;
	size_t	 len = strlen(text), cut, *cuts, i;

	want = filtered(l, text);
	for (cut = 0; cut <= len; cut++) {
		got = streamed(l, text, &cut, 1, NULL);
		if (strcmp(got, want) != 0)
			fail_msg("split at %zu of \"%s\": got \"%s\", want"
			    " \"%s\"", cut, text, got, want);
		free(got);
	}
	cuts = calloc(len + 1, sizeof(*cuts));
	for (i = 0; i < len; i++)
		cuts[i] = i;
	got = streamed(l, text, cuts, len, NULL);
	if (strcmp(got, want) != 0)
		fail_msg("byte by byte \"%s\": got \"%s\", want \"%s\"", text,
		    got, want);
	free(got);
	free(cuts);
	free(want);
}

static void
test_stream_split(void **state)
{
	static const char *const texts[] = {
		"my key is sk-proj-abc123DEF456ghi789JKL0, keep it",
		"card 4111 1111 1111 1111 and mail john.doe@example.com.",
		"IBAN DE89 3704 0044 0532 0130 00 and ssn 123-45-6789",
		"call +44 20 7946 0958 from 10.0.0.1",
		"token " JWT,
		"here:\n" PEM "\ndone",
		"AKIAIOSFODNN7EXAMPLE",
		"plain text with no secrets at all, just words.",
		"Zürich — naïve café 4111111111111111",
	};
	static const char *const words[] = { "secret plan", "zürich" };
	static const char *const patterns[] = { "ACME-[0-9]{4}" };
	struct guard_spec	 kw = { .key = "kw", .kind = GUARD_KEYWORDS,
				    .action = GUARD_REDACT, .words = words,
				    .nwords = 2 };
	struct guard_spec	 re = { .key = "re", .kind = GUARD_REGEX,
				    .action = GUARD_REDACT,
				    .patterns = patterns, .npatterns = 1 };
	struct one		 pii, k, x;
	const struct guard	*gp[3];
	struct guard_list	 l = { gp, 3 };
	size_t			 i;

	(void)state;
	one_pii(&pii, 0, GUARD_REDACT);
	one_init(&k, &kw);
	one_init(&x, &re);
	gp[0] = pii.g;
	gp[1] = k.g;
	gp[2] = x.g;
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		expect_stream_same(&l, texts[i]);
	expect_stream_same(&l, "the Secret   Plan of ACME-1234.");
	/* A split inside a character must not hide the word it starts. */
	expect_stream_same(&l, "meet in Zürich, \x1cZürich.");
	guard_free(pii.g);
	guard_free(k.g);
	guard_free(x.g);
}

/* Three chunks at every pair of offsets: the key never gets out. */
static void
test_stream_three_chunks(void **state)
{
	const char	*text = "x sk-abc123DEF456ghi789JKL0mno y";
	struct one	 o;
	size_t		 cuts[2], len = strlen(text);
	char		*got;

	(void)state;
	one_pii(&o, 1u << GUARD_SECRET, GUARD_REDACT);
	for (cuts[0] = 0; cuts[0] <= len; cuts[0]++)
		for (cuts[1] = cuts[0]; cuts[1] <= len; cuts[1]++) {
			got = streamed(&o.list, text, cuts, 2, NULL);
			assert_string_equal(got, "x [REDACTED:SECRET] y");
			free(got);
		}
	guard_free(o.g);
}

/* A block releases nothing of the match, whatever the split. */
static void
test_stream_block(void **state)
{
	const char	*text = "before the key sk-abc123DEF456ghi789JKL0mno after";
	struct one	 o;
	size_t		 cut, len = strlen(text);
	char		*got;

	(void)state;
	one_pii(&o, 0, GUARD_BLOCK);
	for (cut = 0; cut <= len; cut++) {
		got = streamed(&o.list, text, &cut, 1, NULL);
		assert_string_equal(got, "before the key BLOCKED");
		free(got);
	}
	guard_free(o.g);
}

/* Ordinary prose is held back by a word at most. */
static void
test_stream_window(void **state)
{
	const char	*text = "The quick brown fox jumps over the lazy dog"
			    " and then it runs far away into the forest.";
	struct one	 o;
	size_t		 cuts[200], n = 0, held = 0, i;
	char		*got;

	(void)state;
	one_pii(&o, 0, GUARD_REDACT);
	for (i = 3; i < strlen(text); i += 3)
		cuts[n++] = i;
	got = streamed(&o.list, text, cuts, n, &held);
	assert_string_equal(got, text);
	assert_true(held <= 8);
	free(got);
	guard_free(o.g);
}

/* An output length limit cuts the stream at its character. */
static void
test_stream_length(void **state)
{
	struct guard_spec	 spec = { .key = "len", .kind = GUARD_LENGTH,
				    .action = GUARD_BLOCK, .max_chars = 10 };
	struct one		 o;
	size_t			 cut = 4;
	char			*got;

	(void)state;
	one_init(&o, &spec);
	got = streamed(&o.list, "Zürich is a fine city", &cut, 1, NULL);
	assert_string_equal(got, "Zürich is BLOCKED");
	free(got);
	guard_free(o.g);
}

/*
 * The default PII set on a 4 KB prompt: report the time it takes, the
 * best of 100 batches so a busy machine does not blur it.
 */
static void
test_speed(void **state)
{
	static const char	 words[] = "Lorem ipsum dolor sit amet, "
	    "consectetur adipiscing elit 2024-01-15 at 10:30, version 1.2.3 "
	    "and order 12345. Mail me at someone@example.com or call "
	    "+1 415 555 2671. ";
	struct one		 o;
	struct guard_report	 r;
	struct timespec		 t0, t1;
	char			*text, *out;
	size_t			 len = 0, outlen, i, k, rounds = 20;
	double			 us, best = 1e9;

	(void)state;
	text = malloc(4096 + 1);
	while (len < 4096) {
		size_t n = sizeof(words) - 1;

		if (n > 4096 - len)
			n = 4096 - len;
		memcpy(text + len, words, n);
		len += n;
	}
	text[len] = '\0';
	one_pii(&o, 0, GUARD_REDACT);
	for (k = 0; k < 100; k++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (i = 0; i < rounds; i++) {
			memset(&r, 0, sizeof(r));
			assert_int_equal(guard_text(&o.list, text, len, &out,
			    &outlen, &r), GUARD_REDACTED);
			free(out);
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		us = ((t1.tv_sec - t0.tv_sec) * 1e9 +
		    (t1.tv_nsec - t0.tv_nsec)) / 1e3 / rounds;
		if (us < best)
			best = us;
	}
	printf("# 4 KB prompt through the default PII set: %.1f us\n", best);
	free(text);
	guard_free(o.g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checksums),
		cmocka_unit_test(test_card),
		cmocka_unit_test(test_phone),
		cmocka_unit_test(test_ssn_ipv4),
		cmocka_unit_test(test_iban_email),
		cmocka_unit_test(test_secret),
		cmocka_unit_test(test_keywords),
		cmocka_unit_test(test_regex),
		cmocka_unit_test(test_block_and_log),
		cmocka_unit_test(test_length),
		cmocka_unit_test(test_stream_split),
		cmocka_unit_test(test_stream_three_chunks),
		cmocka_unit_test(test_stream_block),
		cmocka_unit_test(test_stream_window),
		cmocka_unit_test(test_stream_length),
		cmocka_unit_test(test_speed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
