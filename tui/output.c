/*
 * cubectl's output: aligned tables and "label  value" lines for people,
 * the RPC result as JSON for scripts, "cubectl: message" errors. No colour.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cubectl.h"
#include "log.h"
#include "xmalloc.h"

#define OUTPUT_GAP	2	/* spaces between columns */

/* How bools read, per format. */
static const struct {
	const char	*yes;
	const char	*no;
} output_bools[] = {
	[OUTPUT_PLAIN] = { "true", "false" },
	[OUTPUT_ONOFF] = { "on", "off" },
	[OUTPUT_YESNO] = { "yes", "no" },
	[OUTPUT_OKFAILED] = { "ok", "FAILED" },
	[OUTPUT_CLOCK] = { "true", "false" },
	[OUTPUT_COUNT] = { "true", "false" },
};

/* Escapes for control characters, so agent data cannot drive the terminal. */
static const struct {
	char		 c;
	const char	*escape;
} output_escapes[] = {
	{ '\n', "\\n" },
	{ '\r', "\\r" },
	{ '\t', "\\t" },
};

void
output_error(const char *fmt, ...)
{
	va_list	ap;

	fflush(stdout);
	fputs("cubectl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Print the RPC result as it came, then wipe the text (it may hold a token). */
void
output_json(const cJSON *result)
{
	char	*text;

	if ((text = cJSON_Print(result)) == NULL)
		fatalx("%s: out of memory", __func__);
	puts(text);
	explicit_bzero(text, strlen(text));
	free(text);
}

/* Append s to a growing buffer, escaping control characters. */
static void
output_append(char **buf, size_t *len, const char *s)
{
	const char	*esc;
	char		 hex[8];
	size_t		 i, n;

	for (; *s != '\0'; s++) {
		esc = NULL;
		if ((unsigned char)*s < 0x20 || *s == 0x7f) {
			snprintf(hex, sizeof(hex), "\\x%02x", (unsigned char)*s);
			esc = hex;
			for (i = 0; i < sizeof(output_escapes) /
			    sizeof(output_escapes[0]); i++)
				if (output_escapes[i].c == *s)
					esc = output_escapes[i].escape;
		}
		n = esc != NULL ? strlen(esc) : 1;
		*buf = xreallocarray(*buf, *len + n + 1, 1);
		memcpy(*buf + *len, esc != NULL ? esc : s, n);
		*len += n;
		(*buf)[*len] = '\0';
	}
}

/*
 * The time of day of an RFC 3339 time ("2026-11-30T07:13:26.123Z" gives
 * "07:13:26"), for tables of recent events; 0 (shown as is) otherwise.
 */
static int
output_clock(const char *s, char *out, size_t outlen)
{
	const char	*t = strchr(s, 'T');
	size_t		 i;

	if (t == NULL || t - s != 10 || outlen < 9)
		return 0;
	for (i = 1; i <= 8; i++)
		if (i % 3 == 0 ? t[i] != ':' : (t[i] < '0' || t[i] > '9'))
			return 0;
	memcpy(out, t + 1, 8);
	out[8] = '\0';
	return 1;
}

/* A scalar for display: strings, numbers, bools. */
static void
output_scalar(char **buf, size_t *len, const cJSON *item,
    enum output_format format)
{
	char	 num[64];
	char	*text;
	double	 d;

	if (cJSON_IsString(item) && format == OUTPUT_CLOCK &&
	    output_clock(item->valuestring, num, sizeof(num)))
		output_append(buf, len, num);
	else if (cJSON_IsString(item))
		output_append(buf, len, item->valuestring);
	else if (cJSON_IsBool(item))
		output_append(buf, len, cJSON_IsTrue(item) ?
		    output_bools[format].yes : output_bools[format].no);
	else if (cJSON_IsNumber(item)) {
		d = item->valuedouble;
		if (d == (double)(long long)d && d > -9e15 && d < 9e15)
			snprintf(num, sizeof(num), "%lld", (long long)d);
		else
			snprintf(num, sizeof(num), "%g", d);
		output_append(buf, len, num);
	} else if (cJSON_IsNull(item))
		output_append(buf, len, "-");
	else {
		if ((text = cJSON_PrintUnformatted(item)) == NULL)
			fatalx("%s: out of memory", __func__);
		output_append(buf, len, text);
		free(text);
	}
}

/*
 * One value for display: "-" for null, missing or empty, arrays joined
 * with ",", control characters escaped. Caller frees the result.
 */
char *
output_value(const cJSON *item, enum output_format format)
{
	const cJSON	*elem;
	char		*buf = xstrdup("");
	size_t		 len = 0;

	if (cJSON_IsArray(item) && format == OUTPUT_COUNT) {
		free(buf);
		xasprintf(&buf, "%d", cJSON_GetArraySize(item));
		return buf;
	}
	if (cJSON_IsArray(item)) {
		cJSON_ArrayForEach(elem, item) {
			if (len > 0)
				output_append(&buf, &len, ",");
			output_scalar(&buf, &len, elem, format);
		}
	} else if (item != NULL)
		output_scalar(&buf, &len, item, format);
	if (len == 0) {
		free(buf);
		buf = xstrdup("-");
	}
	return buf;
}

/* Follow a dotted path ("pricing.input") into an object; NULL if absent. */
const cJSON *
output_lookup(const cJSON *obj, const char *path)
{
	const char	*dot;
	char		 name[128];
	size_t		 len;

	while (obj != NULL && cJSON_IsObject(obj)) {
		if ((dot = strchr(path, '.')) == NULL)
			return cJSON_GetObjectItemCaseSensitive(obj, path);
		len = dot - path;
		if (len >= sizeof(name))
			return NULL;
		memcpy(name, path, len);
		name[len] = '\0';
		obj = cJSON_GetObjectItemCaseSensitive(obj, name);
		path = dot + 1;
	}
	return NULL;
}

/* Display width: UTF-8 code points (continuation bytes do not count). */
static size_t
output_width(const char *s)
{
	size_t	n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* Print one row of cells padded to widths; no trailing spaces. */
static void
output_row(char **cells, const size_t *widths, size_t ncols)
{
	size_t	i, pad;

	for (i = 0; i < ncols; i++) {
		fputs(cells[i], stdout);
		if (i + 1 == ncols)
			break;
		for (pad = output_width(cells[i]); pad < widths[i] + OUTPUT_GAP;
		    pad++)
			fputc(' ', stdout);
	}
	fputc('\n', stdout);
}

/* An array of objects as a table with a header row. */
void
output_table(const struct output_field *fields, const cJSON *array)
{
	const cJSON	*row;
	char		***cells, *header[32];
	size_t		 ncols, nrows, widths[32], r, c, w;

	for (ncols = 0; fields[ncols].label != NULL; ncols++)
		;
	if (ncols > 32)
		fatalx("%s: too many columns", __func__);
	nrows = cJSON_GetArraySize(array);
	cells = xcalloc(nrows + 1, sizeof(*cells));
	for (c = 0; c < ncols; c++) {
		header[c] = (char *)fields[c].label;
		widths[c] = output_width(header[c]);
	}
	r = 0;
	cJSON_ArrayForEach(row, array) {
		cells[r] = xcalloc(ncols, sizeof(**cells));
		for (c = 0; c < ncols; c++) {
			cells[r][c] = output_value(output_lookup(row,
			    fields[c].path), fields[c].format);
			if ((w = output_width(cells[r][c])) > widths[c])
				widths[c] = w;
		}
		r++;
	}
	output_row(header, widths, ncols);
	for (r = 0; r < nrows; r++) {
		output_row(cells[r], widths, ncols);
		for (c = 0; c < ncols; c++)
			free(cells[r][c]);
		free(cells[r]);
	}
	free(cells);
}

/*
 * An object as "label  value" lines, labels aligned. A field the object
 * lacks is left out; one that is null shows as "-".
 */
void
output_object(const struct output_field *fields, const cJSON *obj)
{
	const struct output_field	*f;
	const cJSON			*item;
	size_t				 width = 0, w;
	char				*value;

	for (f = fields; f->label != NULL; f++)
		if ((w = output_width(f->label)) > width)
			width = w;
	for (f = fields; f->label != NULL; f++) {
		if ((item = output_lookup(obj, f->path)) == NULL)
			continue;
		value = output_value(item, f->format);
		printf("%-*s%s\n", (int)(width + OUTPUT_GAP), f->label, value);
		free(value);
	}
}

/*
 * One row of fields on a line, separated by two spaces, as a followed
 * list prints them (widths are not known in advance); obj NULL prints
 * the labels.
 */
void
output_line(const struct output_field *fields, const cJSON *obj)
{
	const struct output_field	*f;
	char				*value;

	for (f = fields; f->label != NULL; f++) {
		if (obj == NULL)
			value = xstrdup(f->label);
		else
			value = output_value(output_lookup(obj, f->path),
			    f->format);
		printf("%s%s", f == fields ? "" : "  ", value);
		free(value);
	}
	fputc('\n', stdout);
}

/* A result's "warnings", each on standard error, for people. */
void
output_warnings(const cJSON *result)
{
	const cJSON	*w, *item;

	w = cJSON_GetObjectItemCaseSensitive(result, "warnings");
	cJSON_ArrayForEach(item, w)
		if (cJSON_IsString(item))
			output_error("warning: %s", item->valuestring);
}
