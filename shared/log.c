/*
 * Leveled logging to stderr; one write per line so threads do not interleave.
 * Text lines by default; one JSON object per line for log shippers.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char	*log_progname = "cube";
static int		 log_level;
static log_quote_fn	 log_quote;	/* non-NULL: JSON lines */

/* A line's message, at most; JSON escapes grow each byte to 6 at worst. */
#define LOG_LINE	2048
#define LOG_JSON_LINE	(6 * LOG_LINE + 512)

void
log_init(const char *progname, int verbose)
{
	log_progname = progname;
	log_level = verbose;
}

void
log_set_json(log_quote_fn quote)
{
	log_quote = quote;
}

int
log_format_parse(const char *s)
{
	if (strcmp(s, "text") == 0)
		return LOG_FORMAT_TEXT;
	if (strcmp(s, "json") == 0)
		return LOG_FORMAT_JSON;
	return -1;
}

int
log_verbose(void)
{
	return log_level;
}

/*
 * One JSON object: time (UTC, milliseconds), level, program, pid, the
 * thread's name ("worker 0"; the program's for the main thread) and the
 * message, those two escaped by log_quote() (quotes, control bytes,
 * invalid UTF-8 as \ufffd), so each line parses whatever they hold.
 */
static void
log_json_line(const char *level, const char *msg, size_t len)
{
	char		 line[LOG_JSON_LINE], when[32], thread[16];
	struct timespec	 ts;
	struct tm	 tm;
	size_t		 n, q;
	int		 m;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	if (pthread_getname_np(pthread_self(), thread, sizeof(thread)) != 0)
		thread[0] = '\0';
	m = snprintf(line, sizeof(line), "{\"time\":\"%s.%03ldZ\",\"level\":"
	    "\"%s\",\"program\":\"%s\",\"pid\":%d,\"thread\":", when,
	    ts.tv_nsec / 1000000, level, log_progname, (int)getpid());
	if (m < 0 || (size_t)m >= sizeof(line))
		return;
	n = (size_t)m;
	/* A name of 15 bytes at most: room for it and the message's key. */
	n += log_quote(line + n, sizeof(line) - n, thread, strlen(thread));
	memcpy(line + n, ",\"msg\":", 7);
	n += 7;
	/* Room for the literal by construction: len < LOG_LINE. */
	q = log_quote(line + n, sizeof(line) - n - 2, msg, len);
	if (q >= sizeof(line) - n - 2)
		return;
	n += q;
	line[n++] = '}';
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, n);
}

/* Format one line with timestamp, program and level, then write it at once. */
static void
log_vline(const char *level, int with_errno, const char *fmt, va_list ap)
{
	char		 line[LOG_LINE], when[32];
	struct tm	 tm;
	time_t		 now;
	int		 saved = errno, n, m;

	if (log_quote != NULL) {
		n = 0;
	} else {
		now = time(NULL);
		gmtime_r(&now, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		n = snprintf(line, sizeof(line), "%s %s[%d] %s: ", when,
		    log_progname, (int)getpid(), level);
		if (n < 0 || (size_t)n >= sizeof(line))
			n = 0;
	}
	m = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (m > 0)
		n = (size_t)(n + m) >= sizeof(line) ? (int)sizeof(line) - 1 : n + m;
	if (with_errno)
		n += snprintf(line + n, sizeof(line) - n, ": %s", strerror(saved));
	if ((size_t)n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	if (log_quote != NULL)
		log_json_line(level, line, n);
	else {
		line[n++] = '\n';
		(void)!write(STDERR_FILENO, line, n);
	}
	errno = saved;
}

#define LOG_BODY(level, with_errno) do {	\
	va_list ap;				\
	va_start(ap, fmt);			\
	log_vline(level, with_errno, fmt, ap);	\
	va_end(ap);				\
} while (0)

void
log_warn(const char *fmt, ...)
{
	LOG_BODY("warning", 1);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY("warning", 0);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY("info", 0);
}

void
log_debug(const char *fmt, ...)
{
	if (log_level > 0)
		LOG_BODY("debug", 0);
}

void
fatal(const char *fmt, ...)
{
	LOG_BODY("fatal", 1);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY("fatal", 0);
	exit(1);
}
