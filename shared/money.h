/*
 * Money as integers: nano-USD (1e-9 USD) in an int64_t, never floating
 * point. Prices are nano-USD per 1M tokens.
 */
#ifndef CUBE_MONEY_H
#define CUBE_MONEY_H

#include <stddef.h>
#include <stdint.h>

#define MONEY_NANO_PER_USD	INT64_C(1000000000)
#define MONEY_MAX_USD		INT64_C(1000000000)	/* sanity ceiling */

/*
 * Parse a non-negative decimal USD amount ("0.15", "12", "0.000000001")
 * with at most 9 fractional digits into nano-USD. Returns 0, or -1 with
 * a message in err.
 */
int	money_parse_usd(const char *s, int64_t *nano, char *err, size_t errlen);

/*
 * Format nano-USD as an exact decimal string without trailing zeros
 * ("0.15", "12", "0"). buf needs MONEY_BUFSZ bytes.
 */
#define MONEY_BUFSZ	32
char	*money_format_usd(int64_t nano, char *buf, size_t len);

/*
 * What n kinds of tokens cost: the sum of tokens[i] * prices[i] (nano-USD
 * per 1M tokens), divided by 1M once, rounded half up, so that splitting a
 * request's tokens by kind never loses or adds a nano. Negative counts
 * count as 0; the result saturates at INT64_MAX.
 */
int64_t	money_tokens_cost(const int64_t *tokens, const int64_t *prices,
	    size_t n);

#endif
