/* Leveled logging to stderr; one write per line so threads do not interleave. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char	*log_progname = "cube";
static int		 log_level;

void
log_init(const char *progname, int verbose)
{
	log_progname = progname;
	log_level = verbose;
}

int
log_verbose(void)
{
	return log_level;
}

/* Format one line with timestamp, program and level, then write it at once. */
static void
log_vline(const char *level, int with_errno, const char *fmt, va_list ap)
{
	char		 line[2048], when[32];
	struct tm	 tm;
	time_t		 now = time(NULL);
	int		 saved = errno, n, m;

	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = snprintf(line, sizeof(line), "%s %s[%d] %s: ", when, log_progname,
	    (int)getpid(), level);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	m = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (m > 0)
		n = (size_t)(n + m) >= sizeof(line) ? (int)sizeof(line) - 1 : n + m;
	if (with_errno)
		n += snprintf(line + n, sizeof(line) - n, ": %s", strerror(saved));
	if ((size_t)n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, n);
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
