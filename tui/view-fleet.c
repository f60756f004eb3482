/*
 * The Fleet view: every host with its health, TEE and attestation
 * verdict, the last minute's requests a second, p50/p99 latency and error
 * rate, and its spend today; wider screens add TLS, version and uptime.
 * A host's error has its own column, and is said in full under the
 * table. Columns are fitted to the width (columns.c) and every
 * cell placed by the width it is drawn with. Enter picks a host.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curses.h>
#include <cjson/cJSON.h>

#include "cube-tui.h"

enum {
	FLEET_HOST,
	FLEET_HEALTH,
	FLEET_TEE,
	FLEET_VERDICT,
	FLEET_RPS,
	FLEET_P50,
	FLEET_P99,
	FLEET_ERR,
	FLEET_SPEND,
	FLEET_TLS,
	FLEET_VERSION,
	FLEET_UP,
	FLEET_ERROR,
	FLEET_NCOLUMNS
};

static const struct column view_fleet_columns[FLEET_NCOLUMNS] = {
	[FLEET_HOST] =		{ "HOST",	8,	20,	0,	0 },
	[FLEET_HEALTH] =	{ "HEALTH",	9,	9,	0,	0 },
	[FLEET_TEE] =		{ "TEE",	7,	9,	0,	0 },
	[FLEET_VERDICT] =	{ "VERDICT",	7,	7,	0,	0 },
	/* Under 80 columns the figures go, spend first, rps last. */
	[FLEET_RPS] =		{ "RPS",	5,	5,	1,	0 },
	[FLEET_P50] =		{ "P50",	5,	5,	4,	0 },
	[FLEET_P99] =		{ "P99",	5,	5,	3,	0 },
	[FLEET_ERR] =		{ "ERR%",	5,	5,	2,	0 },
	[FLEET_SPEND] =		{ "SPEND",	8,	8,	5,	0 },
	[FLEET_TLS] =		{ "TLS",	9,	9,	COLUMN_EXTRA + 2, 0 },
	[FLEET_VERSION] =	{ "VERSION",	7,	7,	COLUMN_EXTRA + 1, 0 },
	[FLEET_UP] =		{ "UP",		7,	7,	COLUMN_EXTRA + 3, 0 },
	[FLEET_ERROR] =		{ "ERROR",	5,	5,	0,	1 },
};

static size_t	view_fleet_sel;

static void
view_fleet_refresh(struct tui *t)
{
	(void)t;	/* the status and figures every host is asked for */
}

/* The health cell: "ok", "STALE 12s", "down", "connecting". */
static enum draw_role
view_fleet_health(struct host *h, enum host_state state, int stale,
    int64_t age, char *buf, size_t len)
{
	char	ago[16];

	if (state == HOST_UNREACHABLE) {
		snprintf(buf, len, "down");
		return ROLE_ERROR;
	}
	if (stale) {
		human_duration(ago, sizeof(ago), (double)age);
		snprintf(buf, len, "STALE %s", ago);
		return ROLE_WARN;
	}
	if (state == HOST_CONNECTING || h->status == NULL) {
		snprintf(buf, len, "wait%s", draw_ellipsis());
		return ROLE_MUTED;
	}
	snprintf(buf, len, "ok");
	return ROLE_OK;
}

/* Cell c of host h into buf; its role. */
static enum draw_role
view_fleet_cell(struct host *h, size_t c, char *buf, size_t len)
{
	struct host_tls	 tls;
	const cJSON	*v;
	const char	*s;
	enum draw_role	 role = ROLE_NORMAL;

	buf[0] = '\0';
	switch (c) {
	case FLEET_TEE:
		v = cJSON_GetObjectItemCaseSensitive(h->status, "tee");
		snprintf(buf, len, "%s", cJSON_IsString(v) ? v->valuestring :
		    "");
		break;
	case FLEET_VERDICT:
		v = cJSON_GetObjectItemCaseSensitive(h->status, "tee");
		if (!cJSON_IsString(v) || strcmp(v->valuestring, "none") == 0)
			return ROLE_NORMAL;	/* not known, or nothing to judge */
		s = host_verdict_word(h, &role);
		snprintf(buf, len, "%s", s);
		break;
	case FLEET_RPS:
		if (h->stats != NULL)
			human_rate(buf, len, host_live_figure(h,
			    "requests_per_s"));
		break;
	case FLEET_P50:
		if (h->stats != NULL)
			human_ms(buf, len, host_live_figure(h,
			    "latency_p50_ms"));
		break;
	case FLEET_P99:
		if (h->stats != NULL)
			human_ms(buf, len, host_live_figure(h,
			    "latency_p99_ms"));
		break;
	case FLEET_ERR:
		if (h->stats != NULL)
			human_percent(buf, len, host_live_figure(h,
			    "error_rate"));
		if (host_live_figure(h, "error_rate") > 0)
			role = ROLE_ERROR;
		break;
	case FLEET_SPEND:
		if (h->stats != NULL)
			human_usd(buf, len, host_live_spend(h));
		break;
	case FLEET_TLS:
		host_tls_read(h->status, time(NULL), &tls);
		snprintf(buf, len, "%s", h->status != NULL ?
		    host_tls_mark(&tls, &role) : "");
		break;
	case FLEET_VERSION:
		v = cJSON_GetObjectItemCaseSensitive(h->status, "version");
		snprintf(buf, len, "%s", cJSON_IsString(v) ? v->valuestring :
		    "");
		break;
	case FLEET_UP:
		v = cJSON_GetObjectItemCaseSensitive(h->status, "uptime_s");
		if (cJSON_IsNumber(v))
			human_duration(buf, len, v->valuedouble);
		break;
	}
	return role;
}

/* Host i's row at y, its cells at the fitted widths w. */
static void
view_fleet_row(struct tui *t, size_t i, int y, const int *w, int64_t now)
{
	struct host	*h = t->hosts[i];
	enum host_state	 state;
	enum draw_role	 role;
	char		 reason[256], buf[320];
	int64_t		 age;
	size_t		 c;
	int		 x = 1, stale, selected = i == view_fleet_sel;

	state = host_get_state(h, reason, sizeof(reason));
	stale = host_live_stale(h, now, &age);
	if (selected) {
		attrset(A_REVERSE);
		mvhline(y, 0, ' ', COLS);
		attrset(A_NORMAL);
	}
	for (c = 0; c < FLEET_NCOLUMNS; c++) {
		if (w[c] == 0)
			continue;
		switch (c) {
		case FLEET_HOST:
			snprintf(buf, sizeof(buf), "%s%s", h->name,
			    i == t->current ? " *" : "");
			role = ROLE_NORMAL;
			break;
		case FLEET_HEALTH:
			role = view_fleet_health(h, state, stale, age, buf,
			    sizeof(buf));
			break;
		case FLEET_ERROR:
			snprintf(buf, sizeof(buf), "%s", state ==
			    HOST_UNREACHABLE ? reason : "");
			role = ROLE_ERROR;
			break;
		default:
			role = view_fleet_cell(h, c, buf, sizeof(buf));
			/* Figures it no longer confirms look it. */
			if (stale || state == HOST_UNREACHABLE)
				role = ROLE_STALE;
			break;
		}
		draw_text(y, x, w[c], selected ? ROLE_SELECTED : role, buf);
		x += w[c] + 1;
	}
}

static void
view_fleet_draw(struct tui *t, int top, int rows)
{
	struct host	*h;
	enum host_state	 state;
	char		 reason[256];
	int		 w[FLEET_NCOLUMNS], x, y;
	int64_t		 now = host_live_now();
	size_t		 i, c;

	columns_fit(view_fleet_columns, FLEET_NCOLUMNS, COLS - 2, w);
	for (c = 0, x = 1; c < FLEET_NCOLUMNS; c++) {
		if (w[c] == 0)
			continue;
		draw_text(top, x, w[c], ROLE_MUTED,
		    view_fleet_columns[c].label);
		x += w[c] + 1;
	}
	/* The rows, then every host's trouble in full under them. */
	for (i = 0, y = top + 1; i < t->nhosts && y < top + rows; i++, y++)
		view_fleet_row(t, i, y, w, now);
	for (i = 0, y++; i < t->nhosts && y < top + rows; i++) {
		h = t->hosts[i];
		state = host_get_state(h, reason, sizeof(reason));
		if (state == HOST_UNREACHABLE)
			draw_fmt(y++, 1, COLS - 2, ROLE_ERROR,
			    "%s: unreachable: %s", h->name, reason);
		else if (h->verdict == HOST_VERDICT_FAIL)
			draw_fmt(y++, 1, COLS - 2, ROLE_ERROR,
			    "%s: attestation FAILED: %s", h->name,
			    h->verdict_why);
	}
}

static int
view_fleet_key(struct tui *t, int ch)
{
	switch (ch) {
	case 'j':
	case KEY_DOWN:
		if (view_fleet_sel + 1 < t->nhosts)
			view_fleet_sel++;
		return 1;
	case 'k':
	case KEY_UP:
		if (view_fleet_sel > 0)
			view_fleet_sel--;
		return 1;
	case KEY_NPAGE:
		view_fleet_sel = t->nhosts - 1;
		return 1;
	case KEY_PPAGE:
		view_fleet_sel = 0;
		return 1;
	case '\n':
	case '\r':
	case KEY_ENTER:
		tui_set_host(t, view_fleet_sel);
		tui_switch(t, 1);
		return 1;
	}
	return 0;
}

const struct view_ops view_fleet_ops = {
	.name = "Fleet",
	.refresh = view_fleet_refresh,
	.draw = view_fleet_draw,
	.key = view_fleet_key,
};
