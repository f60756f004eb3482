/* One logging API for every Cube program: leveled, printf-checked, to stderr. */
#ifndef CUBE_LOG_H
#define CUBE_LOG_H

#include <stdarg.h>
#include <stddef.h>

#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))

/*
 * Set the program name shown on each line and the verbosity: 0 shows
 * warnings and info, 1 adds debug. Safe to call once, before threads start.
 */
void	log_init(const char *progname, int verbose);
int	log_verbose(void);

/*
 * Log lines as one JSON object each ({"time", "level", "program", "pid",
 * "msg"}) instead of text. quote writes src[0..len) as a JSON string
 * literal into dst like snprintf (the agent's jscan_quote()); NULL goes
 * back to text. Call before threads start; cubectl never does.
 */
typedef size_t (*log_quote_fn)(char *dst, size_t dstlen, const char *src,
    size_t len);
void	log_set_json(log_quote_fn quote);
/* "text" or "json" (--log-format); -1: neither. */
#define LOG_FORMAT_TEXT	0
#define LOG_FORMAT_JSON	1
int	log_format_parse(const char *);

/* log_warn appends ": strerror(errno)"; the x variants do not. */
void	log_warn(const char *, ...) LOG_PRINTF(1, 2);
void	log_warnx(const char *, ...) LOG_PRINTF(1, 2);
void	log_info(const char *, ...) LOG_PRINTF(1, 2);
void	log_debug(const char *, ...) LOG_PRINTF(1, 2);

/* Bugs, start-up errors and out-of-memory only; never for bad input. */
void	fatal(const char *, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));
void	fatalx(const char *, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));

#endif
