/* Exact decimal USD <-> nano-USD conversion. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "money.h"

int
money_parse_usd(const char *s, int64_t *nano, char *err, size_t errlen)
{
	int64_t		 whole = 0, frac = 0;
	int		 ndigits = 0, nfrac = 0;
	const char	*p = s;

	if (*p == '$')
		p++;
	for (; *p >= '0' && *p <= '9'; p++, ndigits++) {
		whole = whole * 10 + (*p - '0');
		if (whole > MONEY_MAX_USD)
			goto toolarge;
	}
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, nfrac++) {
			if (nfrac == 9) {
				snprintf(err, errlen, "'%s': more than 9 decimal"
				    " places", s);
				return -1;
			}
			frac = frac * 10 + (*p - '0');
		}
	}
	if (*p != '\0' || ndigits + nfrac == 0) {
		snprintf(err, errlen, "'%s' is not a non-negative decimal"
		    " amount in USD", s);
		return -1;
	}
	for (; nfrac < 9; nfrac++)
		frac *= 10;
	*nano = whole * MONEY_NANO_PER_USD + frac;
	return 0;

toolarge:
	snprintf(err, errlen, "'%s': larger than %" PRId64 " USD", s,
	    MONEY_MAX_USD);
	return -1;
}

char *
money_format_usd(int64_t nano, char *buf, size_t len)
{
	const char	*sign = "";
	uint64_t	 u = (uint64_t)nano;
	char		 frac[16];
	int		 i;

	if (nano < 0) {
		sign = "-";
		u = -(uint64_t)nano;
	}
	snprintf(frac, sizeof(frac), "%09" PRIu64, u % MONEY_NANO_PER_USD);
	for (i = 8; i >= 0 && frac[i] == '0'; i--)
		frac[i] = '\0';
	if (frac[0] == '\0')
		snprintf(buf, len, "%s%" PRIu64, sign, u / MONEY_NANO_PER_USD);
	else
		snprintf(buf, len, "%s%" PRIu64 ".%s", sign,
		    u / MONEY_NANO_PER_USD, frac);
	return buf;
}

int64_t
money_tokens_cost(const int64_t *tokens, const int64_t *prices, size_t n)
{
	unsigned __int128	sum = 0;
	size_t			i;

	for (i = 0; i < n; i++)
		if (tokens[i] > 0 && prices[i] > 0)
			sum += (unsigned __int128)tokens[i] * (uint64_t)prices[i];
	sum = (sum + 500000) / 1000000;
	return sum > INT64_MAX ? INT64_MAX : (int64_t)sum;
}
