/*
 * The header's first line, of the host in view: its name, the TEE badge
 * with the attestation verdict, the TLS mark, its health (uptime, or how
 * long ago it last answered when it stopped), the last minute's
 * requests a second and error rate; the domain in view at the right.
 * Each part is placed after what was drawn before it, by the width it was
 * drawn with. Data the host no longer confirms is dimmed and says STALE.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <curses.h>
#include <cjson/cJSON.h>

#include "cube-tui.h"

#define HEADER_NAME_MAX		20	/* columns of the host's name */
#define HEADER_DOMAIN_MAX	24

/* Columns s takes on screen, at most max (UTF-8 continuation bytes: none). */
static int
header_width(const char *s, int max)
{
	int	n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n < max ? n : max;
}

/* s at *x, at most max columns and cut at end; *x moves past it. */
static void
header_part_max(int *x, int end, enum draw_role role, const char *s, int max)
{
	int	w;

	if (*x >= end)
		return;
	w = header_width(s, end - *x < max ? end - *x : max);
	draw_text(0, *x, w, role, s);
	*x += w + 2;
}

/* s at *x, cut at end; *x moves past it and two spaces. */
static void
header_part(int *x, int end, enum draw_role role, const char *s)
{
	header_part_max(x, end, role, s, end);
}

/* "[no TEE]", "[TEE sim FAIL]", "[TEE sev-guest ok]", "[TEE ?]" (no status). */
static void
header_badge(const struct host *h, char *buf, size_t len, enum draw_role *role)
{
	const cJSON	*tee;
	const char	*word;

	tee = cJSON_GetObjectItemCaseSensitive(h->status, "tee");
	if (!cJSON_IsString(tee)) {
		snprintf(buf, len, "[TEE ?]");
		*role = ROLE_MUTED;
	} else if (strcmp(tee->valuestring, "none") == 0) {
		snprintf(buf, len, "[no TEE]");
		*role = ROLE_WARN;
	} else {
		word = host_verdict_word(h, role);
		snprintf(buf, len, "[TEE %.16s %s]", tee->valuestring, word);
		if (strcmp(tee->valuestring, "sim") == 0 && *role == ROLE_OK)
			*role = ROLE_WARN;	/* simulated, allowed by policy */
	}
}

/* The last minute: "0.13 rps err 2.5%"; "" before stats.get answered. */
static void
header_figures(const struct host *h, char *buf, size_t len)
{
	char	rate[16], err[16];
	double	rps, er;

	buf[0] = '\0';
	if ((rps = host_live_figure(h, "requests_per_s")) < 0)
		return;
	er = host_live_figure(h, "error_rate");
	human_rate(rate, sizeof(rate), rps);
	human_percent(err, sizeof(err), er);
	snprintf(buf, len, "%s rps err %s", rate, err);
}

void
header_draw(struct tui *t)
{
	struct host	*h = tui_host(t);
	struct host_tls	 tls;
	const cJSON	*up;
	const char	*mark;
	enum draw_role	 role;
	enum host_state	 state;
	char		 reason[256], buf[320], ago[16];
	int64_t		 age;
	int		 x = 0, end, stale;

	state = host_get_state(h, reason, sizeof(reason));
	stale = host_live_stale(h, host_live_now(), &age);
	end = COLS;
	if (t->domain != NULL) {
		snprintf(buf, sizeof(buf), "domain %s", t->domain);
		end = COLS - header_width(buf, HEADER_DOMAIN_MAX);
		draw_text(0, end, HEADER_DOMAIN_MAX, ROLE_NORMAL, buf);
		end -= 2;
	}
	snprintf(buf, sizeof(buf), "cube-tui  %s", h->name);
	header_part_max(&x, end, ROLE_NORMAL, buf, 10 + HEADER_NAME_MAX);
	header_badge(h, buf, sizeof(buf), &role);
	header_part(&x, end, stale ? ROLE_STALE : role, buf);
	host_tls_read(h->status, time(NULL), &tls);
	mark = host_tls_mark(&tls, &role);
	if (view_attest_tls_ok(t) == 0) {
		/* The evidence binds another key than status reports. */
		mark = "[TLS KEY!]";
		role = ROLE_ERROR;
	}
	header_part(&x, end, stale ? ROLE_STALE : role, mark);
	if (state == HOST_UNREACHABLE) {
		snprintf(buf, sizeof(buf), "unreachable: %s", reason);
		header_part(&x, end, ROLE_ERROR, buf);
		return;
	}
	if (stale) {
		human_duration(ago, sizeof(ago), (double)age);
		snprintf(buf, sizeof(buf), "STALE, updated %s ago", ago);
		header_part(&x, end, ROLE_WARN, buf);
	} else if (state == HOST_CONNECTING || h->status == NULL) {
		snprintf(buf, sizeof(buf), "connecting%s", draw_ellipsis());
		header_part(&x, end, ROLE_MUTED, buf);
		return;
	} else {
		up = cJSON_GetObjectItemCaseSensitive(h->status, "uptime_s");
		human_duration(ago, sizeof(ago), cJSON_IsNumber(up) ?
		    up->valuedouble : -1);
		snprintf(buf, sizeof(buf), "ok, up %s", ago);
		header_part(&x, end, ROLE_OK, buf);
	}
	header_figures(h, buf, sizeof(buf));
	if (buf[0] != '\0')
		header_part(&x, end, stale ? ROLE_STALE : ROLE_NORMAL, buf);
}
