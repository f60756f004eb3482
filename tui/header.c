/*
 * The header's first line, of the host in view: its name, the TEE badge
 * with the attestation verdict, the TLS mark, its health (uptime, or how
 * long ago it last answered when it stopped), the last minute's
 * requests a second and error rate; the domain in view at the right, in
 * what the rest leaves (a long name is cut before the figures are).
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
#define HEADER_DOMAIN_MIN	10	/* "domain " and a few of its name */
#define HEADER_DOMAIN_LEAST	4	/* then its name alone, down to */

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

/* The parts left of the domain, laid out before any is drawn. */
#define HEADER_PARTS	6

struct header_part {
	char		 text[320];
	enum draw_role	 role;
	int		 max;		/* columns at most */
};

static struct header_part *
header_add(struct header_part *parts, size_t *n, enum draw_role role, int max)
{
	struct header_part	*p = &parts[(*n)++];

	p->text[0] = '\0';
	p->role = role;
	p->max = max;
	return p;
}

/*
 * The domain in view at the right, in what the parts leave of the width
 * (its name cut first, with an ellipsis, down to HEADER_DOMAIN_MIN
 * columns); returns where the parts must end.
 */
static int
header_domain(struct tui *t, int need)
{
	char	buf[320];
	int	w, room;

	if (t->domain == NULL)
		return COLS;
	room = COLS - need;
	/* Short of room, the name alone, without its label. */
	snprintf(buf, sizeof(buf), "%s%s", room < HEADER_DOMAIN_MIN ? "" :
	    "domain ", t->domain);
	w = header_width(buf, HEADER_DOMAIN_MAX);
	if (room < HEADER_DOMAIN_LEAST)
		room = HEADER_DOMAIN_LEAST;
	if (w > room)
		w = room;
	if (w < header_width(buf, COLS)) {
		draw_text(0, COLS - w, w - 1, ROLE_NORMAL, buf);
		draw_text(0, COLS - 1, 1, ROLE_MUTED, draw_ellipsis());
	} else
		draw_text(0, COLS - w, w, ROLE_NORMAL, buf);
	return COLS - w - 2;
}

void
header_draw(struct tui *t)
{
	struct host		*h = tui_host(t);
	struct host_tls		 tls;
	struct header_part	 parts[HEADER_PARTS], *p;
	const cJSON		*up;
	const char		*mark;
	enum draw_role		 role;
	enum host_state		 state;
	char			 reason[256], ago[16];
	int64_t			 age;
	int			 x = 0, end, stale, need = 0;
	size_t			 n = 0, i;

	state = host_get_state(h, reason, sizeof(reason));
	stale = host_live_stale(h, host_live_now(), &age);
	p = header_add(parts, &n, ROLE_NORMAL, 10 + HEADER_NAME_MAX);
	snprintf(p->text, sizeof(p->text), "cube-tui  %s", h->name);
	p = header_add(parts, &n, ROLE_NORMAL, COLS);
	header_badge(h, p->text, sizeof(p->text), &role);
	p->role = stale ? ROLE_STALE : role;
	host_tls_read(h->status, time(NULL), &tls);
	mark = host_tls_mark(&tls, &role);
	if (view_attest_tls_ok(t) == 0) {
		/* The evidence binds another key than status reports. */
		mark = "[TLS KEY!]";
		role = ROLE_ERROR;
	}
	p = header_add(parts, &n, stale ? ROLE_STALE : role, COLS);
	snprintf(p->text, sizeof(p->text), "%s", mark);
	if (state == HOST_UNREACHABLE) {
		p = header_add(parts, &n, ROLE_ERROR, COLS);
		snprintf(p->text, sizeof(p->text), "unreachable: %s", reason);
	} else if (stale) {
		human_duration(ago, sizeof(ago), (double)age);
		p = header_add(parts, &n, ROLE_WARN, COLS);
		snprintf(p->text, sizeof(p->text), "STALE, updated %s ago",
		    ago);
	} else if (state == HOST_CONNECTING || h->status == NULL) {
		p = header_add(parts, &n, ROLE_MUTED, COLS);
		snprintf(p->text, sizeof(p->text), "connecting%s",
		    draw_ellipsis());
	} else {
		up = cJSON_GetObjectItemCaseSensitive(h->status, "uptime_s");
		human_duration(ago, sizeof(ago), cJSON_IsNumber(up) ?
		    up->valuedouble : -1);
		p = header_add(parts, &n, ROLE_OK, COLS);
		snprintf(p->text, sizeof(p->text), "ok, up %s", ago);
	}
	if (state != HOST_UNREACHABLE && (stale || (state != HOST_CONNECTING &&
	    h->status != NULL))) {
		p = header_add(parts, &n, stale ? ROLE_STALE : ROLE_NORMAL,
		    COLS);
		header_figures(h, p->text, sizeof(p->text));
		if (p->text[0] == '\0')
			n--;
	}
	for (i = 0; i < n; i++)
		need += header_width(parts[i].text, parts[i].max) + 2;
	/* The domain gives way first; then the parts are cut at its left. */
	end = header_domain(t, need);
	for (i = 0; i < n; i++)
		header_part_max(&x, end, parts[i].role, parts[i].text,
		    parts[i].max);
}
