/*
 * cube-tui's figures in the few columns a table has: durations ("3d 4h"),
 * rates, latencies, percentages and money, each cut to a known width.
 * Pure functions, for the header and the Fleet view (and their tests).
 */
#include <stdio.h>
#include <string.h>

#include "cube-tui.h"

/*
 * seconds as its two largest units: "3d 4h", "4h 12m", "12m 5s", "42s";
 * "?" when negative or not a number, ">9999d" past that. At most 9 bytes.
 */
void
human_duration(char *buf, size_t len, double seconds)
{
	static const struct {
		const char	*unit;
		long long	 s;
	} units[] = {
		{ "d", 86400 }, { "h", 3600 }, { "m", 60 }, { "s", 1 },
	};
	long long	 s, hi, lo;
	size_t		 i;

	if (!(seconds >= 0)) {
		snprintf(buf, len, "?");
		return;
	}
	if (seconds >= 9999.0 * 86400) {
		snprintf(buf, len, ">9999d");
		return;
	}
	s = (long long)seconds;
	for (i = 0; i < 3 && s < units[i].s; i++)
		;
	hi = s / units[i].s;
	if (i == 3) {
		snprintf(buf, len, "%llds", hi);
		return;
	}
	lo = s % units[i].s / units[i + 1].s;
	if (lo == 0)
		snprintf(buf, len, "%lld%s", hi, units[i].unit);
	else
		snprintf(buf, len, "%lld%s %lld%s", hi, units[i].unit, lo,
		    units[i + 1].unit);
}

/* Requests a second in at most 5 columns: "0", "0.133", "12.5", "1234", "99k". */
void
human_rate(char *buf, size_t len, double rps)
{
	if (!(rps >= 0))
		snprintf(buf, len, "-");
	else if (rps == 0)
		snprintf(buf, len, "0");
	else if (rps < 10)
		snprintf(buf, len, "%.3g", rps);
	else if (rps < 100)
		snprintf(buf, len, "%.1f", rps);
	else if (rps < 99999.5)
		snprintf(buf, len, "%.0f", rps);
	else if (rps < 999.5e3)
		snprintf(buf, len, "%.0fk", rps / 1000);
	else
		snprintf(buf, len, ">1M");
}

/* A latency in at most 5 columns: "702ms", "1.2s", "75s", "-" (none). */
void
human_ms(char *buf, size_t len, double ms)
{
	if (!(ms >= 0))
		snprintf(buf, len, "-");
	else if (ms < 999.5)
		snprintf(buf, len, "%.0fms", ms);
	else if (ms < 9950)
		snprintf(buf, len, "%.1fs", ms / 1000);
	else if (ms < 99999.5 * 1000)
		snprintf(buf, len, "%.0fs", ms / 1000);
	else
		snprintf(buf, len, ">1d");
}

/* A ratio 0..1 as a percentage in at most 5 columns: "0%", "37.5%", "100%". */
void
human_percent(char *buf, size_t len, double ratio)
{
	double	p = ratio * 100;

	if (!(p >= 0))
		snprintf(buf, len, "-");
	else if (p == 0)
		snprintf(buf, len, "0%%");
	else if (p < 0.1)
		snprintf(buf, len, "<0.1%%");
	else if (p < 99.95)
		snprintf(buf, len, "%.1f%%", p);
	else
		snprintf(buf, len, "%.0f%%", p > 100 ? 100.0 : p);
}

/*
 * An exact decimal amount of USD ("12.3456789") as "$12.34": cents cut,
 * never rounded up (integer digits only, no floating point); "<$0.01"
 * for a non-zero amount under a cent, "$1234567" past a million,
 * "-" for anything that is not a plain decimal.
 */
void
human_usd(char *buf, size_t len, const char *amount)
{
	size_t	 ilen, flen, i;
	char	 cents[3] = "00";
	int	 nonzero = 0;

	if (amount == NULL || (ilen = strspn(amount, "0123456789")) == 0 ||
	    ilen > 15) {
		snprintf(buf, len, "-");
		return;
	}
	flen = 0;
	if (amount[ilen] == '.') {
		flen = strspn(amount + ilen + 1, "0123456789");
		if (flen == 0 || amount[ilen + 1 + flen] != '\0') {
			snprintf(buf, len, "-");
			return;
		}
	} else if (amount[ilen] != '\0') {
		snprintf(buf, len, "-");
		return;
	}
	while (ilen > 1 && *amount == '0') {	/* leading zeros */
		amount++;
		ilen--;
	}
	for (i = 0; i < flen; i++) {
		if (i < 2)
			cents[i] = amount[ilen + 1 + i];
		if (amount[ilen + 1 + i] != '0')
			nonzero = 1;
	}
	if (ilen > 6)
		snprintf(buf, len, "$%.*s", (int)ilen, amount);
	else if (ilen == 1 && amount[0] == '0' && strcmp(cents, "00") == 0 &&
	    nonzero)
		snprintf(buf, len, "<$0.01");
	else
		snprintf(buf, len, "$%.*s.%s", (int)ilen, amount, cents);
}
