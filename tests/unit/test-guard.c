/*
 * Unit tests for agent/guard*.c: each detector against true and false
 * positives, keywords and patterns, redaction, blocking, and the stream
 * filter with a secret split at every offset.
 */
#include <sys/prctl.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <unistd.h>
#include <utf8proc.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "guard.h"

/* Linux 6.3's memory-deny-write-execute, as MemoryDenyWriteExecute= does. */
#ifndef PR_SET_MDWE
#define PR_SET_MDWE			65
#define PR_MDWE_REFUSE_EXEC_GAIN	1
#endif

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

/*
 * The child of test_regex_without_jit: under PR_SET_MDWE (no W+X memory,
 * as the systemd unit's MemoryDenyWriteExecute=yes) PCRE2's JIT fails;
 * guardrails still compile, match the same, and say so once on stderr.
 * Returns 0 when all holds, 77 when the kernel has no MDWE, else the step
 * that failed.
 */
static int
regex_without_jit(const char *logpath)
{
	static const char *const pats[] = { "ACME-[0-9]{4}", "(?i)project x" };
	static const char *const words[] = { "secret plan" };
	struct guard_spec	 re = { .key = "re", .kind = GUARD_REGEX,
				    .action = GUARD_REDACT, .patterns = pats,
				    .npatterns = 2 };
	struct guard_spec	 kw = { .key = "kw", .kind = GUARD_KEYWORDS,
				    .action = GUARD_BLOCK, .words = words,
				    .nwords = 1 };
	const struct guard	*gp[2];
	struct guard_list	 list = { gp, 2 };
	struct guard		*g1, *g2;
	struct guard_report	 r;
	pcre2_code		*code;
	char			 err[256], *out = NULL;
	size_t			 outlen;
	int			 fd, rc;

	if (prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) == -1)
		return errno == EINVAL ? 77 : 2;
	/* The premise: the JIT really is refused here. */
	if ((code = pcre2_compile((PCRE2_SPTR)"a+b", PCRE2_ZERO_TERMINATED, 0,
	    &rc, &(PCRE2_SIZE){ 0 }, NULL)) == NULL)
		return 3;
	rc = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
	pcre2_code_free(code);
	if (rc >= 0)
		return 4;
	if ((fd = open(logpath, O_WRONLY | O_TRUNC)) == -1 ||
	    dup2(fd, STDERR_FILENO) == -1)
		return 5;
	close(fd);
	if ((g1 = guard_new(&re, err, sizeof(err))) == NULL ||
	    (g2 = guard_new(&kw, err, sizeof(err))) == NULL)
		return 6;
	gp[0] = g1;
	gp[1] = g2;
	memset(&r, 0, sizeof(r));
	if (guard_text(&list, "ticket ACME-1234 about PROJECT X", 32, &out,
	    &outlen, &r) != GUARD_REDACTED || out == NULL || strcmp(out,
	    "ticket [REDACTED:REGEX] about [REDACTED:REGEX]") != 0)
		return 7;
	free(out);
	out = NULL;
	memset(&r, 0, sizeof(r));
	if (guard_text(&list, "the Secret  Plan", 16, &out, &outlen, &r) !=
	    GUARD_BLOCKED)
		return 8;
	free(out);
	guard_free(g1);
	guard_free(g2);
	return 0;
}

static void
test_regex_without_jit(void **state)
{
	char	 logpath[] = "/tmp/test-guard-jit.XXXXXX", buf[1024], *p;
	pid_t	 pid;
	ssize_t	 n;
	int	 fd, status, said = 0;

	(void)state;
	assert_true((fd = mkstemp(logpath)) != -1);
	/*
	 * A fresh image: this process's JIT has executable memory mapped
	 * already, which PCRE2 would reuse.
	 */
	if ((pid = fork()) == 0) {
		setenv("TEST_GUARD_NO_JIT", logpath, 1);
		execl("/proc/self/exe", "test-guard", (char *)NULL);
		_exit(127);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	unlink(logpath);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(n > 0);
	buf[n] = '\0';
	/* Two guardrails compiled (three patterns), one line. */
	for (p = buf; (p = strstr(p, "PCRE2 JIT unavailable")) != NULL; p++)
		said++;
	assert_int_equal(said, 1);
	assert_non_null(strstr(buf, "patterns run in the interpreter\n"));
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

/*
 * Redacted text is scanned again: the email that was hidden in front of a
 * too long local part shows once the part after it is gone. A pattern that
 * matches its own marker never settles, and blocks.
 */
static void
test_redact_fixpoint(void **state)
{
	static const char *const self[] = { "REDACTED" };
	struct guard_spec	 spec = { .key = "re", .kind = GUARD_REGEX,
				    .action = GUARD_REDACT, .patterns = self,
				    .npatterns = 1 };
	struct guard_report	 r;
	struct one		 o, lg;
	const struct guard	*gp[2];
	struct guard_list	 two = { gp, 2 };
	const struct guard_hit	*h;
	char			 text[160], *out;
	size_t			 n, outlen;

	(void)state;
	snprintf(text, sizeof(text), "i@e.%s%sob@x.io", "iiiiiiiiiiiiiiii"
	    "iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii",
	    "logproiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii");
	expect_pii(GUARD_EMAIL, text,
	    "[REDACTED:EMAIL][REDACTED:EMAIL]");

	/* Logged hits are counted once, redactions every round. */
	one_pii(&o, 1u << GUARD_EMAIL, GUARD_REDACT);
	one_pii(&lg, 1u << GUARD_IPV4, GUARD_LOG);
	gp[0] = o.g;
	gp[1] = lg.g;
	memset(&r, 0, sizeof(r));
	assert_int_equal(guard_text(&two, text, strlen(text), &out, &outlen,
	    &r), GUARD_REDACTED);
	free(out);
	h = guard_report_hits(&r, &n);
	assert_int_equal(n, 1);
	assert_int_equal(h[0].count, 2);
	memset(&r, 0, sizeof(r));
	assert_int_equal(guard_text(&two, "10.0.0.1 a@b.io", 15, &out,
	    &outlen, &r), GUARD_REDACTED);
	assert_string_equal(out, "10.0.0.1 [REDACTED:EMAIL]");
	free(out);
	h = guard_report_hits(&r, &n);
	assert_int_equal(n, 2);
	assert_int_equal(h[0].count + h[1].count, 2);
	guard_free(lg.g);

	one_init(&lg, &spec);
	gp[1] = lg.g;
	memset(&r, 0, sizeof(r));
	assert_int_equal(guard_text(&two, "a@b.io", 6, &out, &outlen, &r),
	    GUARD_BLOCKED);
	assert_null(out);
	assert_non_null(r.blocked_by);
	guard_free(lg.g);
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

/* --- Unicode folding ---------------------------------------------------- */

/* The guardrails the folding tests run: every pii type, keywords, a regex. */
struct fold_list {
	struct one		 pii, kw, re;
	const struct guard	*gp[3];
	struct guard_list	 list;
};

static void
fold_list_init(struct fold_list *fl, enum guard_action action)
{
	static const char *const words[] = { "zebra", "café", "Zürich",
	    "ｓｅｃｒｅｔ plan", "\u0437\u0435\u0431\u0440\u0430" };
	static const char *const patterns[] = { "ACME-[0-9]{4}" };
	struct guard_spec	 kw = { .key = "kw", .kind = GUARD_KEYWORDS,
				    .action = action, .words = words,
				    .nwords = 5 };
	struct guard_spec	 re = { .key = "re", .kind = GUARD_REGEX,
				    .action = action, .patterns = patterns,
				    .npatterns = 1 };

	one_pii(&fl->pii, 0, action);
	one_init(&fl->kw, &kw);
	one_init(&fl->re, &re);
	fl->gp[0] = fl->pii.g;
	fl->gp[1] = fl->kw.g;
	fl->gp[2] = fl->re.g;
	fl->list.guards = fl->gp;
	fl->list.n = 3;
}

static void
fold_list_free(struct fold_list *fl)
{
	guard_free(fl->pii.g);
	guard_free(fl->kw.g);
	guard_free(fl->re.g);
}

/* Each bypass of issue 9 and its kin: the text, what redaction leaves. */
static const struct {
	const char	*text;
	const char	*want;
} fold_cases[] = {
	/* Zero-width and format characters inside a match. */
	{ "mail bob\u200b@example.com now", "mail [REDACTED:EMAIL] now" },
	{ "mail b\u200do\u2060b@exa\ufeffmple.com.", "mail [REDACTED:EMAIL]." },
	{ "to bob\u202e@example.com\u202c!", "to [REDACTED:EMAIL]!" },
	{ "a ze\u00adbra b", "a [REDACTED:KEYWORD] b" },
	{ "a z\u034fe\u180eb\u2066r\u2069a b", "a [REDACTED:KEYWORD] b" },
	{ "ze\ufe0fbra\U000e0041", "[REDACTED:KEYWORD]" },
	{ "card 4111\u200b1111\u200b1111\u200b1111 ok",
	  "card [REDACTED:CARD] ok" },
	/* Fullwidth forms for the PII detectors, keywords and patterns. */
	{ "mail bob\uff20example.com now", "mail [REDACTED:EMAIL] now" },
	{ "\uff42\uff4f\uff42\uff20\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45"
	  "\uff0e\uff43\uff4f\uff4d", "[REDACTED:EMAIL]" },
	{ "the \uff5a\uff45\uff42\uff52\uff41 runs",
	  "the [REDACTED:KEYWORD] runs" },
	{ "THE \uff3a\uff25\uff22\uff32\uff21.", "THE [REDACTED:KEYWORD]." },
	{ "the secret   plan", "the [REDACTED:KEYWORD]" },
	{ "ticket \uff21\uff23\uff2d\uff25\uff0d\uff11\uff12\uff13\uff14 ok",
	  "ticket [REDACTED:REGEX] ok" },
	{ "ssn \uff11\uff12\uff13-\uff14\uff15-\uff16\uff17\uff18\uff19.",
	  "ssn [REDACTED:SSN]." },
	{ "key sk-\uff50roj-abc123DEF456ghi789JKL0 end",
	  "key [REDACTED:SECRET] end" },
	/* Combining sequences fold with their base; a mark goes with it. */
	{ "caf\u00e9 and cafe\u0301 and CAFE\u0301!",
	  "[REDACTED:KEYWORD] and [REDACTED:KEYWORD] and [REDACTED:KEYWORD]!" },
	{ "in Zu\u0308rich.", "in [REDACTED:KEYWORD]." },
	/* An accent does not hide a word either (the look-alike view). */
	{ "zebra\u0301 is a zebra",
	  "[REDACTED:KEYWORD] is a [REDACTED:KEYWORD]" },
	/*
	 * Letters of other scripts that look like ASCII ones, and marks
	 * piled on letters: matched as they look, the original redacted.
	 */
	{ "a z\u0435br\u0430 b", "a [REDACTED:KEYWORD] b" },
	{ "\u0396\u0395\u0392RA!", "[REDACTED:KEYWORD]!" },
	{ "z\u0337e\u0336b\u0334r\u0338a\u0335 z\u0303\u0303\u0303ebra",
	  "[REDACTED:KEYWORD] [REDACTED:KEYWORD]" },
	{ "\u017eebr\u00e4 and \u1e95\u0113\u1e03\u0155\u0101",
	  "[REDACTED:KEYWORD] and [REDACTED:KEYWORD]" },
	{ "mail b\u043eb@ex\u0430mple.com now", "mail [REDACTED:EMAIL] now" },
	{ "ticket \u0410\u0421\u041c\u0415-1234 ok",
	  "ticket [REDACTED:REGEX] ok" },
	{ "ticket \u13aa\u13df\u13b7\u13ac-1234 ok",
	  "ticket [REDACTED:REGEX] ok" },
	{ "s\u0435cr\u0435t \u0440l\u0430n here", "[REDACTED:KEYWORD] here" },
	/* A word's accents are kept or left out alike. */
	{ "\u0441\u0430f\u0435\u0301 or cafe", "[REDACTED:KEYWORD] or "
	  "[REDACTED:KEYWORD]" },
	/* Its own script stays for a word written in it. */
	{ "\u0437\u0435\u0431\u0440\u0430 \u0438 zebra",
	  "[REDACTED:KEYWORD] \u0438 [REDACTED:KEYWORD]" },
	/* What is not matched stays byte for byte, ligatures and all. */
	{ "Gr\u00fc\u00dfe, \ufb01ne \uff42\uff4f\uff42\uff20\uff45\uff58"
	  "\uff41\uff4d\uff50\uff4c\uff45\uff0e\uff43\uff4f\uff4d \u2014 "
	  "\u00bd \u2460 \u65e5\u672c", "Gr\u00fc\u00dfe, \ufb01ne "
	  "[REDACTED:EMAIL] \u2014 \u00bd \u2460 \u65e5\u672c" },
	{ "x \u200bbob@example.com\u200b y", "x \u200b[REDACTED:EMAIL] y" },
	{ "\ufdfa\ufdfa bob@example.com \ufdfa", "\ufdfa\ufdfa [REDACTED:EMAIL]"
	  " \ufdfa" },
	/* Invalid UTF-8 passes through, and does not hide what follows. */
	{ "\xff mail bob@example.com \xc3", "\xff mail [REDACTED:EMAIL] \xc3" },
	{ "\xed\xa0\x80 ze\u00adbra \xe2\x82", "\xed\xa0\x80 [REDACTED:KEYWORD]"
	  " \xe2\x82" },
};

static void
test_fold_redact(void **state)
{
	struct fold_list	 fl;
	char			*got;
	size_t			 i;

	(void)state;
	fold_list_init(&fl, GUARD_REDACT);
	for (i = 0; i < sizeof(fold_cases) / sizeof(fold_cases[0]); i++) {
		got = filtered(&fl.list, fold_cases[i].text);
		if (strcmp(got, fold_cases[i].want) != 0)
			fail_msg("\"%s\": got \"%s\", want \"%s\"",
			    fold_cases[i].text, got, fold_cases[i].want);
		free(got);
	}
	/* Text with nothing to find is left as it is. */
	got = filtered(&fl.list, "Gr\u00fc\u00dfe \ufb01 \uff21 e\u0301 \xff");
	assert_string_equal(got, "Gr\u00fc\u00dfe \ufb01 \uff21 e\u0301 \xff");
	free(got);
	got = filtered(&fl.list, "\u041f\u0440\u0438\u0432\u0435\u0442, "
	    "\u0437\u0435\u0431\u0440\u044b \u0432 \u0441\u0430\u0434\u0443");
	assert_string_equal(got, "\u041f\u0440\u0438\u0432\u0435\u0442, "
	    "\u0437\u0435\u0431\u0440\u044b \u0432 \u0441\u0430\u0434\u0443");
	free(got);
	fold_list_free(&fl);
}

static void
test_fold_block(void **state)
{
	struct fold_list	 fl;
	char			*got;
	size_t			 i;

	(void)state;
	fold_list_init(&fl, GUARD_BLOCK);
	for (i = 0; i < sizeof(fold_cases) / sizeof(fold_cases[0]); i++) {
		if (strcmp(fold_cases[i].text, fold_cases[i].want) == 0)
			continue;
		got = filtered(&fl.list, fold_cases[i].text);
		if (strcmp(got, "BLOCKED") != 0)
			fail_msg("\"%s\" passed a block: \"%s\"",
			    fold_cases[i].text, got);
		free(got);
	}
	fold_list_free(&fl);
}

/* The view itself: NFKC, ignorables dropped, the map back. */
static void
test_fold_view(void **state)
{
	struct guard_fold	 f;
	const char		*s;
	char			*v;

	(void)state;
	v = guard_fold_string("\uff5a\uff45\u00ad\uff42\u200b\uff52\uff41", 0);
	assert_string_equal(v, "zebra");
	free(v);
	v = guard_fold_string("\ufb01 x\u00b2 \u2460 cafe\u0301 \u1100\u1161",
	    0);
	assert_string_equal(v, "fi x2 1 caf\u00e9 \uac00");
	free(v);
	/* What would grow past four times its size stays (33 bytes, 15). */
	v = guard_fold_string("\ufdfa \u3316 \u3300", 0);
	assert_string_equal(v, "\ufdfa \u3316 \u30a2\u30d1\u30fc\u30c8");
	free(v);
	/* Canonical order: the marks of a unit sorted by class. */
	v = guard_fold_string("a\u0301\u0323", 0);
	assert_string_equal(v, "\u1ea1\u0301");
	free(v);

	memset(&f, 0, sizeof(f));
	assert_int_equal(guard_fold_build(&f, "plain ascii", 11, 0, 1), 0);
	assert_int_equal(guard_fold_build(&f, "Gr\u00fc\u00dfe", 7, 0, 1), 0);
	s = "a\uff22c\u200bd";		/* a Ｂ c ZWSP d */
	assert_int_equal(guard_fold_build(&f, s, strlen(s), 0, 1), 1);
	assert_int_equal(f.len, 4);
	assert_memory_equal(f.s, "aBcd", 4);
	assert_int_equal(guard_fold_start(&f, 1), 1);	/* Ｂ */
	assert_int_equal(guard_fold_end(&f, 2), 4);
	assert_int_equal(guard_fold_start(&f, 2), 4);	/* c, ZWSP */
	assert_int_equal(guard_fold_end(&f, 3), 8);
	assert_int_equal(guard_fold_start(&f, 3), 8);	/* d */
	assert_int_equal(guard_fold_end(&f, 4), 9);
	assert_int_equal(guard_fold_start(&f, 4), 9);
	assert_int_equal(guard_fold_floor(&f, s, 6), 4);
	/* A stream: the last unit and an unfinished sequence are left out. */
	assert_int_equal(guard_fold_build(&f, "ab\xef\xbc", 4, 0, 0), 0);
	assert_int_equal(f.olen, 1);
	assert_int_equal(guard_fold_build(&f, "ab", 2, 0, 0), 0);
	assert_int_equal(f.olen, 1);
	assert_int_equal(guard_fold_build(&f, "a\u0301", 3, 0, 0), 0);
	assert_int_equal(f.olen, 0);
	guard_fold_clear(&f);
}

/* The look-alike view: other scripts' look-alikes, marks, the map back. */
static void
test_fold_lookalike(void **state)
{
	static const struct {
		const char	*text;
		const char	*want;
	} cases[] = {
		/* Cyrillic, Greek, Cherokee, Armenian letters; a digit. */
		{ "\u0456gn\u043er\u0435", "ignore" },
		{ "\u0391\u0392\u0395 \u03bf\u03bd", "ABE ov" },
		{ "\u13aa\u13df\u13b7\u13ac", "ACME" },
		{ "\u0585 \u0417", "o 3" },
		/* Accents composed or not, marks piled on ASCII or look-alikes. */
		{ "caf\u00e9 cafe\u0301 \u0131", "cafe cafe i" },
		{ "z\u0337e\u0336\u0336b \u0430\u0301\u0302", "zeb a" },
		/* After NFKC: fullwidth, with a mark. */
		{ "\uff41\u0301", "a" },
		/* What looks like no ASCII letter stays, marks and all. */
		{ "\u0436\u043b\u0439 \u65e5 \u0915\u093f",
		  "\u0436\u043b\u0439 \u65e5 \u0915\u093f" },
	};
	struct guard_fold	 f, *l;
	const char		*s;
	char			*v;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v = guard_fold_string(cases[i].text, 1);
		if (strcmp(v, cases[i].want) != 0)
			fail_msg("look-alike view of \"%s\": \"%s\", want "
			    "\"%s\"", cases[i].text, v, cases[i].want);
		free(v);
	}
	/* Only the look-alike view changes; its map leads back. */
	memset(&f, 0, sizeof(f));
	f.looks = 1;
	/* ASCII: no look-alike view, not even its memory. */
	assert_int_equal(guard_fold_build(&f, "plain", 5, 0, 1), 0);
	assert_null(f.look);
	s = "b\u043eb x\u0301";		/* b Cyrillic-o b x combining-acute */
	assert_int_equal(guard_fold_build(&f, s, strlen(s), 0, 1), 0);
	assert_non_null(l = f.look);
	assert_int_equal(l->active, 1);
	assert_int_equal(l->len, 5);
	assert_memory_equal(l->s, "bob x", 5);
	assert_int_equal(guard_fold_start(l, 1), 1);	/* o */
	assert_int_equal(guard_fold_end(l, 2), 3);
	assert_int_equal(guard_fold_start(l, 4), 5);	/* x and its mark */
	assert_int_equal(guard_fold_end(l, 5), 8);
	/* Plain ASCII and text that looks like none: neither view. */
	assert_int_equal(guard_fold_build(&f, "plain", 5, 0, 1), 0);
	assert_int_equal(l->active, 0);
	s = "\u65e5\u672c";
	assert_int_equal(guard_fold_build(&f, s, strlen(s), 0, 1), 0);
	assert_int_equal(l->active, 0);
	guard_fold_clear(&f);
	assert_null(f.look);
}

/* utf8proc's own NFKC of s, with every format character dropped too. */
static utf8proc_int32_t
nfkc_drop_cf(utf8proc_int32_t cp, void *data)
{
	(void)data;
	return utf8proc_category(cp) == UTF8PROC_CATEGORY_CF ? 0x200b : cp;
}

static void
expect_nfkc(const char *s, size_t len)
{
	utf8proc_uint8_t	*want = NULL;
	char			*got;
	utf8proc_ssize_t	 n;

	n = utf8proc_map_custom((const utf8proc_uint8_t *)s, len, &want,
	    UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT |
	    UTF8PROC_IGNORE, nfkc_drop_cf, NULL);
	assert_true(n >= 0);
	got = guard_fold_string(s, 0);
	if (strcmp(got, (const char *)want) != 0)
		fail_msg("view of \"%s\": \"%s\", NFKC \"%s\"", s, got,
		    (const char *)want);
	free(got);
	free(want);
}

/*
 * The view, built unit by unit with its short cuts, is NFKC of the whole
 * text: every code point alone, after a letter, and before a mark.
 */
static void
test_fold_nfkc(void **state)
{
	utf8proc_uint8_t	 b[16];
	utf8proc_int32_t	 cp;
	utf8proc_ssize_t	 n;
	size_t			 k;
	const char		*s;
	char			*v;
	static const char *const around[][2] = {
		{ "", "" }, { "a", "" }, { "", "\u0301" }, { "e", "\u0323" },
		{ "\u1100", "" }, { "", "\u1161" }, { "\u0b47", "" },
	};

	(void)state;
	for (cp = 1; cp <= 0x10ffff; cp++) {
		if (!utf8proc_codepoint_valid(cp))
			continue;
		n = utf8proc_encode_char(cp, b);
		b[n] = '\0';
		/* (what would grow past four times its size is left as it is) */
		v = (char *)utf8proc_NFKC(b);
		k = strlen(v);
		free(v);
		if (k > 4 * (size_t)n)
			continue;
		for (k = 0; k < sizeof(around) / sizeof(around[0]); k++) {
			char	buf[32];

			if (k > 0 && cp > 0x2ffff)
				break;
			snprintf(buf, sizeof(buf), "%s%s%s", around[k][0],
			    (const char *)b, around[k][1]);
			expect_nfkc(buf, strlen(buf));
		}
	}
	s = "a\u0301\u0323\u031b b\u0323\u0301 \ufb01\u0301 \uff76\uff9e "
	    "\u1100\u1161\u11a8 x\u200b\u0301 \u1e9b\u0323 \u3300";
	expect_nfkc(s, strlen(s));
}

/* Split into two chunks at every offset, byte by byte, and three ways. */
static void
test_fold_stream(void **state)
{
	struct fold_list	 fl;
	size_t			 i, cuts[2], len;
	char			*got;

	(void)state;
	fold_list_init(&fl, GUARD_REDACT);
	for (i = 0; i < sizeof(fold_cases) / sizeof(fold_cases[0]); i++) {
		expect_stream_same(&fl.list, fold_cases[i].text);
		len = strlen(fold_cases[i].text);
		for (cuts[0] = 0; cuts[0] <= len; cuts[0]++)
			for (cuts[1] = cuts[0]; cuts[1] <= len; cuts[1]++) {
				got = streamed(&fl.list, fold_cases[i].text,
				    cuts, 2, NULL);
				if (strcmp(got, fold_cases[i].want) != 0)
					fail_msg("\"%s\" cut at %zu, %zu: got"
					    " \"%s\"", fold_cases[i].text,
					    cuts[0], cuts[1], got);
				free(got);
			}
	}
	fold_list_free(&fl);
}

/* A combining mark that comes later still changes the character. */
static void
test_fold_stream_mark(void **state)
{
	static const char *const words[] = { "caf\u00e9" };
	struct guard_spec	 kw = { .key = "kw", .kind = GUARD_KEYWORDS,
				    .action = GUARD_REDACT, .words = words,
				    .nwords = 1 };
	struct one		 o;
	size_t			 cuts[] = { 4, 5 };
	char			*got;

	(void)state;
	one_init(&o, &kw);
	got = streamed(&o.list, "cafe\u0301 au lait", cuts, 1, NULL);
	assert_string_equal(got, "[REDACTED:KEYWORD] au lait");
	free(got);
	got = streamed(&o.list, "cafe\u0301 au lait", cuts + 1, 1, NULL);
	assert_string_equal(got, "[REDACTED:KEYWORD] au lait");
	free(got);
	guard_free(o.g);
}

/* The best of 100 batches through list, in microseconds a text. */
static double
speed_of(const struct guard_list *l, const char *text, size_t len)
{
	struct guard_report	 r;
	struct timespec		 t0, t1;
	char			*out;
	size_t			 outlen, i, k, rounds = 20;
	double			 us, best = 1e9;

	for (k = 0; k < 100; k++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (i = 0; i < rounds; i++) {
			memset(&r, 0, sizeof(r));
			assert_int_equal(guard_text(l, text, len, &out,
			    &outlen, &r), GUARD_REDACTED);
			free(out);
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		us = ((t1.tv_sec - t0.tv_sec) * 1e9 +
		    (t1.tv_nsec - t0.tv_nsec)) / 1e3 / rounds;
		if (us < best)
			best = us;
	}
	return best;
}

/* 4 KB of words repeated. Caller frees. */
static char *
speed_text(const char *words, size_t *len)
{
	char	*text = malloc(4096 + 1);
	size_t	 n, wlen = strlen(words);

	*len = 0;
	while (*len < 4096) {
		n = wlen;
		if (n > 4096 - *len)
			n = 4096 - *len;
		memcpy(text + *len, words, n);
		*len += n;
	}
	/* Do not end inside a character. */
	while (*len > 0 && ((unsigned char)text[*len] & 0xc0) == 0x80)
		(*len)--;
	text[*len] = '\0';
	return text;
}

/*
 * The context a stream keeps before new text starts on a whole unit: a
 * look-behind that reaches back into the ligature still sees "fi".
 */
static void
test_fold_stream_context(void **state)
{
	static const char *const patterns[] = { "(?<=fia{63})xxx" };
	struct guard_spec	 re = { .key = "re", .kind = GUARD_REGEX,
				    .action = GUARD_REDACT,
				    .patterns = patterns, .npatterns = 1 };
	struct one		 o;
	char			 text[128], *got;
	size_t			 cut;

	(void)state;
	one_init(&o, &re);
	snprintf(text, sizeof(text), "\ufb01%.63sxxx yz", "aaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	got = filtered(&o.list, text);
	assert_non_null(strstr(got, "a[REDACTED:REGEX] yz"));
	free(got);
	expect_stream_same(&o.list, text);
	cut = 3 + 63;
	got = streamed(&o.list, text, &cut, 1, NULL);
	assert_non_null(strstr(got, "a[REDACTED:REGEX] yz"));
	free(got);
	guard_free(o.g);
}

/*
 * The default PII set on a 4 KB prompt, ASCII (no view to build), then
 * prose in German and Japanese with a fullwidth address and a zero-width
 * space in it (the view and its map): report the time each takes, the
 * best of 100 batches so a busy machine does not blur it.
 */
static void
test_speed(void **state)
{
	static const char	 ascii[] = "Lorem ipsum dolor sit amet, "
	    "consectetur adipiscing elit 2024-01-15 at 10:30, version 1.2.3 "
	    "and order 12345. Mail me at someone@example.com or call "
	    "+1 415 555 2671. ";
	static const char	 other[] = "Gr\u00fc\u00dfe aus Z\u00fcrich, "
	    "\u65e5\u672c\u8a9e\u306e\u6587\u7ae0\u3067\u3059\u3002 Mail "
	    "\uff53\uff4f\uff4d\uff45\uff4f\uff4e\uff45\uff20example.com or "
	    "call +1 415\u200b555 2671, \u00e0 bient\u00f4t. ";
	struct one		 o;
	char			*text;
	size_t			 len;

	(void)state;
	one_pii(&o, 0, GUARD_REDACT);
	text = speed_text(ascii, &len);
	printf("# 4 KB prompt through the default PII set: %.1f us\n",
	    speed_of(&o.list, text, len));
	free(text);
	text = speed_text(other, &len);
	printf("# 4 KB non-ASCII prompt, folded: %.1f us\n",
	    speed_of(&o.list, text, len));
	free(text);
	guard_free(o.g);
}

int
main(void)
{
	const char	*logpath;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checksums),
		cmocka_unit_test(test_card),
		cmocka_unit_test(test_phone),
		cmocka_unit_test(test_ssn_ipv4),
		cmocka_unit_test(test_iban_email),
		cmocka_unit_test(test_secret),
		cmocka_unit_test(test_keywords),
		cmocka_unit_test(test_regex),
		cmocka_unit_test(test_regex_without_jit),
		cmocka_unit_test(test_block_and_log),
		cmocka_unit_test(test_redact_fixpoint),
		cmocka_unit_test(test_length),
		cmocka_unit_test(test_stream_split),
		cmocka_unit_test(test_stream_three_chunks),
		cmocka_unit_test(test_stream_block),
		cmocka_unit_test(test_stream_window),
		cmocka_unit_test(test_stream_length),
		cmocka_unit_test(test_fold_redact),
		cmocka_unit_test(test_fold_block),
		cmocka_unit_test(test_fold_view),
		cmocka_unit_test(test_fold_lookalike),
		cmocka_unit_test(test_fold_nfkc),
		cmocka_unit_test(test_fold_stream),
		cmocka_unit_test(test_fold_stream_mark),
		cmocka_unit_test(test_fold_stream_context),
		cmocka_unit_test(test_speed),
	};

	/* test_regex_without_jit's child. */
	if ((logpath = getenv("TEST_GUARD_NO_JIT")) != NULL)
		return regex_without_jit(logpath);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
