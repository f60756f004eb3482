/*
 * cube-stream-load: many concurrent chat completion streams, started out
 * of phase, against an OpenAI-style endpoint (fake-llm, nginx, cube-agent);
 * measures each stream's time to first token and its inter-token gaps.
 * One thread, one libevent loop, evhttp for HTTP/1.1 and chunked bodies.
 */
#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "log.h"
#include "xmalloc.h"

#define LOAD_MAX_STREAMS	1000000
#define LOAD_MAX_LINE		(64 * 1024)	/* an SSE line longer fails */
#define LOAD_MAX_HEADERS	(64 * 1024)
#define LOAD_MAX_BODY		(64 * 1024 * 1024)	/* a whole answer */

/* Why streams failed, as the JSON names them; evhttp's errors first. */
enum load_error {
	LOAD_ERR_TIMEOUT,	/* EVREQ_HTTP_TIMEOUT */
	LOAD_ERR_EOF,		/* connection refused, reset or closed early */
	LOAD_ERR_HEADER,	/* EVREQ_HTTP_INVALID_HEADER */
	LOAD_ERR_BUFFER,	/* EVREQ_HTTP_BUFFER_ERROR */
	LOAD_ERR_CANCEL,	/* EVREQ_HTTP_REQUEST_CANCEL */
	LOAD_ERR_TOO_LONG,	/* EVREQ_HTTP_DATA_TOO_LONG */
	LOAD_ERR_STATUS,	/* an answer other than 200 */
	LOAD_ERR_STREAM,	/* no [DONE], a line too long, bad JSON */
	LOAD_ERR_DEADLINE,	/* still open when --timeout ran out */
	LOAD_ERRORS
};
static const char *const load_error_names[LOAD_ERRORS] = {
	"timeout", "eof", "invalid_header", "buffer", "cancel", "too_long",
	"status", "stream", "deadline",
};

/*
 * A histogram of microseconds, log-linear like HdrHistogram: below
 * 2^HIST_SUB_BITS exact, above that HIST_SUBS buckets per power of two,
 * so a percentile is within 2/HIST_SUBS (0.2%) of the value; memory is
 * fixed (128 KiB a histogram) whatever the number of samples.
 */
#define HIST_SUB_BITS	10
#define HIST_SUBS	(1 << HIST_SUB_BITS)
#define HIST_OCTAVES	(40 - HIST_SUB_BITS)	/* up to 2^40 us, 12 days */
#define HIST_BUCKETS	(HIST_SUBS + HIST_OCTAVES * (HIST_SUBS / 2))

struct hist {
	uint64_t	count;
	uint64_t	max;
	double		sum;
	uint64_t	bucket[HIST_BUCKETS];
};

enum stream_state {
	STREAM_WAITING,		/* not started yet */
	STREAM_OPEN,		/* request sent, no answer end yet */
	STREAM_DONE,
	STREAM_FAILED,
};

struct stream {
	struct load		*load;
	unsigned		 index;
	enum stream_state	 state;
	struct evhttp_connection *conn;
	struct evhttp_request	*req;
	struct event		*start;
	struct evbuffer		*line;		/* the SSE bytes not yet a line */
	uint64_t		 t_start;
	uint64_t		 t_last;	/* the last content event */
	unsigned		 content;	/* content events seen */
	int			 first;		/* a content event was seen */
	int			 done;		/* data: [DONE] was seen */
	int			 bad;		/* a line too long or bad JSON */
	int			 freeing;	/* conn goes on the next pass */
};

struct load {
	struct event_base	*base;
	struct evhttp_uri	*uri;
	const char		*host;
	int			 port;
	char			*path;
	char			*body;
	char			*auth;		/* "Bearer TOKEN" or NULL */
	const char		*label;
	const char		*ready_file;
	unsigned		 n;
	unsigned		 period_ms;
	unsigned		 chunks;
	unsigned		 chunk_delay_ms;
	unsigned		 timeout_s;
	struct stream		*streams;
	unsigned		 started;
	unsigned		 open;		/* answering: first token seen */
	unsigned		 peak_open;
	unsigned		 finished;
	unsigned		 completed;
	unsigned		 failed;
	unsigned		 short_streams;	/* done, not every chunk seen */
	unsigned		 http_errors;	/* a status other than 200 */
	uint64_t		 events;	/* content events, all streams */
	unsigned		 errors[LOAD_ERRORS];	/* failures by kind */
	int			 ready;
	uint64_t		 t0;
	/*
	 * fake-llm sends its role event at once, then each content event
	 * chunk_delay_ms after the last: the excess over that is what the
	 * path adds, small enough to be measured to the microsecond when
	 * the delay itself is a second.
	 */
	struct hist		 ttft;
	struct hist		 ttft_excess;	/* ttft minus chunk_delay_ms */
	struct hist		 itl;
	struct hist		 itl_excess;	/* gap minus chunk_delay_ms */
	struct event		*deadline;
};

static uint64_t
load_now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* The bucket of v: exact below HIST_SUBS, then HIST_SUBS/2 per octave. */
static size_t
hist_index(uint64_t v)
{
	int	msb, shift;

	if (v < HIST_SUBS)
		return (size_t)v;
	msb = 63 - __builtin_clzll(v);
	shift = msb - (HIST_SUB_BITS - 1);
	if (shift > HIST_OCTAVES)
		return HIST_BUCKETS - 1;
	return HIST_SUBS + (size_t)(shift - 1) * (HIST_SUBS / 2) +
	    (size_t)((v >> shift) - HIST_SUBS / 2);
}

/* The highest value bucket i holds. */
static uint64_t
hist_value(size_t i)
{
	size_t	shift;

	if (i < HIST_SUBS)
		return i;
	shift = (i - HIST_SUBS) / (HIST_SUBS / 2) + 1;
	return ((((i - HIST_SUBS) % (HIST_SUBS / 2)) + HIST_SUBS / 2 + 1) <<
	    shift) - 1;
}

static void
hist_add(struct hist *h, uint64_t v)
{
	h->count++;
	h->sum += (double)v;
	if (v > h->max)
		h->max = v;
	h->bucket[hist_index(v)]++;
}

/* The value at quantile q (0..1): a bucket's top, never above the max. */
static uint64_t
hist_quantile(const struct hist *h, double q)
{
	uint64_t	rank, seen = 0, v;
	size_t		i;

	if (h->count == 0)
		return 0;
	rank = (uint64_t)(q * (double)h->count + 0.999999);
	if (rank < 1)
		rank = 1;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen >= rank) {
			v = hist_value(i);
			return v < h->max ? v : h->max;
		}
	}
	return h->max;
}

static void	load_check_ready(struct load *);

/* A stream has ended, one way or the other; stop the loop after the last. */
static void
stream_end(struct stream *s, enum stream_state how)
{
	struct load	*l = s->load;

	if (s->state != STREAM_OPEN)
		return;
	if (s->first)
		l->open--;
	s->state = how;
	l->finished++;
	if (how == STREAM_DONE)
		l->completed++;
	else {
		l->failed++;
		load_check_ready(l);
	}
	evbuffer_free(s->line);
	s->line = NULL;
	if (l->finished == l->n)
		event_base_loopbreak(l->base);
}

/*
 * When every stream answers at once (each has started and had its first
 * token or failed, none has completed): the file the bench waits for to
 * read a proxy's memory, with the number of open streams in it.
 */
static void
load_check_ready(struct load *l)
{
	FILE	*f;

	if (l->ready || l->started < l->n || l->completed > 0 || l->open == 0 ||
	    l->open + l->failed < l->n)
		return;
	l->ready = 1;
	if (l->ready_file == NULL)
		return;
	if ((f = fopen(l->ready_file, "w")) == NULL) {
		log_warn("%s", l->ready_file);
		return;
	}
	fprintf(f, "%u\n", l->open);
	if (fclose(f) != 0)
		log_warn("%s", l->ready_file);
}

/* One data: payload of the stream. */
static void
stream_data(struct stream *s, const char *data, uint64_t now)
{
	struct load	*l = s->load;
	cJSON		*j;
	const cJSON	*choices, *delta, *content;
	uint64_t	 gap, ttft, nominal = (uint64_t)l->chunk_delay_ms * 1000;

	if (strcmp(data, "[DONE]") == 0) {
		s->done = 1;
		return;
	}
	if ((j = cJSON_Parse(data)) == NULL) {
		s->bad = 1;
		return;
	}
	choices = cJSON_GetObjectItemCaseSensitive(j, "choices");
	delta = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetArrayItem(choices, 0), "delta");
	content = cJSON_GetObjectItemCaseSensitive(delta, "content");
	if (cJSON_IsString(content) && content->valuestring[0] != '\0') {
		s->content++;
		l->events++;
		if (!s->first) {
			s->first = 1;
			ttft = now - s->t_start;
			hist_add(&l->ttft, ttft);
			hist_add(&l->ttft_excess, ttft > nominal ?
			    ttft - nominal : 0);
			if (++l->open > l->peak_open)
				l->peak_open = l->open;
			load_check_ready(l);
		} else {
			gap = now - s->t_last;
			hist_add(&l->itl, gap);
			hist_add(&l->itl_excess, gap > nominal ? gap - nominal : 0);
		}
		s->t_last = now;
	}
	cJSON_Delete(j);
}

/* Part of the body: split it into lines, take each "data: " line. */
static void
stream_chunk_cb(struct evhttp_request *req, void *arg)
{
	struct stream	*s = arg;
	struct evbuffer	*in = evhttp_request_get_input_buffer(req);
	uint64_t	 now = load_now_us();
	size_t		 len;
	char		*line;

	if (s->state != STREAM_OPEN || s->line == NULL)
		return;
	evbuffer_add_buffer(s->line, in);
	while ((line = evbuffer_readln(s->line, &len,
	    EVBUFFER_EOL_CRLF)) != NULL) {
		if (strncmp(line, "data:", 5) == 0)
			stream_data(s, line + 5 + (line[5] == ' '), now);
		free(line);
	}
	if (evbuffer_get_length(s->line) > LOAD_MAX_LINE)
		s->bad = 1;
	/* A bad stream is read to its end and counted as failed there. */
	if (s->bad)
		evbuffer_drain(s->line, evbuffer_get_length(s->line));
}

/* Free the connection of an ended stream, outside evhttp's callbacks. */
static void
stream_free_cb(evutil_socket_t fd, short what, void *arg)
{
	struct stream	*s = arg;

	(void)fd;
	(void)what;
	if (s->conn != NULL)
		evhttp_connection_free(s->conn);
	s->conn = NULL;
}

static void
stream_free_later(struct stream *s)
{
	struct timeval	zero = { 0, 0 };

	if (s->freeing)
		return;
	s->freeing = 1;
	if (event_base_once(s->load->base, -1, EV_TIMEOUT, stream_free_cb, s,
	    &zero) != 0)
		fatalx("event_base_once failed");
}

/* The answer ended (req NULL or a status on failure). */
static void
stream_done_cb(struct evhttp_request *req, void *arg)
{
	struct stream	*s = arg;
	struct load	*l = s->load;
	int		 code;

	s->req = NULL;
	stream_free_later(s);
	if (s->state != STREAM_OPEN)
		return;
	code = req != NULL ? evhttp_request_get_response_code(req) : 0;
	if (code != 200) {
		if (code != 0) {
			l->http_errors++;
			l->errors[LOAD_ERR_STATUS]++;
		} else
			l->errors[LOAD_ERR_EOF]++;
		stream_end(s, STREAM_FAILED);
		return;
	}
	if (!s->done || s->bad) {
		l->errors[LOAD_ERR_STREAM]++;
		stream_end(s, STREAM_FAILED);
		return;
	}
	if (l->chunks > 0 && s->content != l->chunks)
		l->short_streams++;
	stream_end(s, STREAM_DONE);
}

static void
stream_error_cb(enum evhttp_request_error err, void *arg)
{
	struct stream	*s = arg;

	if (s->state == STREAM_OPEN)
		s->load->errors[(unsigned)err < LOAD_ERR_STATUS ? err :
		    LOAD_ERR_EOF]++;
	s->req = NULL;
	stream_free_later(s);
	stream_end(s, STREAM_FAILED);
}

/* Send stream s's request on a connection of its own. */
static void
stream_start_cb(evutil_socket_t fd, short what, void *arg)
{
	struct stream		*s = arg;
	struct load		*l = s->load;
	struct evkeyvalq	*h;
	char			 host[300];

	(void)fd;
	(void)what;
	s->state = STREAM_OPEN;
	l->started++;
	s->line = evbuffer_new();
	s->conn = evhttp_connection_base_new(l->base, NULL, l->host,
	    (unsigned short)l->port);
	s->req = evhttp_request_new(stream_done_cb, s);
	if (s->line == NULL || s->conn == NULL || s->req == NULL)
		fatalx("out of memory");
	evhttp_connection_set_timeout(s->conn, (int)l->timeout_s);
	evhttp_connection_set_max_headers_size(s->conn, LOAD_MAX_HEADERS);
	evhttp_connection_set_max_body_size(s->conn, LOAD_MAX_BODY);
	evhttp_request_set_chunked_cb(s->req, stream_chunk_cb);
	evhttp_request_set_error_cb(s->req, stream_error_cb);
	h = evhttp_request_get_output_headers(s->req);
	snprintf(host, sizeof(host), "%s:%d", l->host, l->port);
	evhttp_add_header(h, "Host", host);
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "Accept", "text/event-stream");
	evhttp_add_header(h, "Connection", "close");
	if (l->auth != NULL)
		evhttp_add_header(h, "Authorization", l->auth);
	evbuffer_add(evhttp_request_get_output_buffer(s->req), l->body,
	    strlen(l->body));
	s->t_start = load_now_us();
	if (evhttp_make_request(s->conn, s->req, EVHTTP_REQ_POST,
	    l->path) != 0) {
		/* evhttp has freed the request. */
		s->req = NULL;
		evhttp_connection_free(s->conn);
		s->conn = NULL;
		l->errors[LOAD_ERR_EOF]++;
		stream_end(s, STREAM_FAILED);
	}
}

/* The run's time is up: what is still open failed. */
static void
load_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(((struct load *)arg)->base);
}

static void
load_print_hist(FILE *f, const char *name, const struct hist *h)
{
	fprintf(f, "\"%s\":{\"count\":%" PRIu64 ",\"p50_us\":%" PRIu64
	    ",\"p90_us\":%" PRIu64 ",\"p99_us\":%" PRIu64 ",\"max_us\":%"
	    PRIu64 ",\"mean_us\":%.1f}", name, h->count,
	    hist_quantile(h, 0.50), hist_quantile(h, 0.90),
	    hist_quantile(h, 0.99), h->max,
	    h->count > 0 ? h->sum / (double)h->count : 0.0);
}

static double
ms(uint64_t us)
{
	return (double)us / 1000.0;
}

/* The text line, then the JSON object, on stdout. */
static void
load_report(struct load *l)
{
	uint64_t	elapsed = load_now_us() - l->t0;
	struct rusage	ru;
	double		cpu;
	size_t		i;

	getrusage(RUSAGE_SELF, &ru);
	cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	printf("%s: %u streams, %u completed, %u failed, %u short, peak %u "
	    "open; TTFT ms p50 %.2f p90 %.2f p99 %.2f max %.2f; ITL ms p50 "
	    "%.2f p90 %.2f p99 %.2f max %.2f; over %u ms: TTFT p50 %.3f p99 "
	    "%.3f, ITL p50 %.3f p99 %.3f\n", l->label, l->n, l->completed, l->failed,
	    l->short_streams, l->peak_open,
	    ms(hist_quantile(&l->ttft, .5)), ms(hist_quantile(&l->ttft, .9)),
	    ms(hist_quantile(&l->ttft, .99)), ms(l->ttft.max),
	    ms(hist_quantile(&l->itl, .5)), ms(hist_quantile(&l->itl, .9)),
	    ms(hist_quantile(&l->itl, .99)), ms(l->itl.max),
	    l->chunk_delay_ms, ms(hist_quantile(&l->ttft_excess, .5)),
	    ms(hist_quantile(&l->ttft_excess, .99)),
	    ms(hist_quantile(&l->itl_excess, .5)),
	    ms(hist_quantile(&l->itl_excess, .99)));
	printf("{\"label\":\"%s\",\"streams\":%u,\"started\":%u,"
	    "\"completed\":%u,\"failed\":%u,\"short\":%u,\"http_errors\":%u,"
	    "\"peak_open\":%u,\"content_events\":%" PRIu64 ",\"chunks\":%u,"
	    "\"chunk_delay_ms\":%u,\"period_ms\":%u,\"elapsed_s\":%.3f,"
	    "\"client_cpu_s\":%.3f,", l->label, l->n, l->started, l->completed,
	    l->failed, l->short_streams, l->http_errors, l->peak_open,
	    l->events, l->chunks, l->chunk_delay_ms, l->period_ms,
	    (double)elapsed / 1e6, cpu);
	load_print_hist(stdout, "ttft", &l->ttft);
	putchar(',');
	load_print_hist(stdout, "ttft_excess", &l->ttft_excess);
	putchar(',');
	load_print_hist(stdout, "itl", &l->itl);
	putchar(',');
	load_print_hist(stdout, "itl_excess", &l->itl_excess);
	printf(",\"errors\":{");
	for (i = 0; i < LOAD_ERRORS; i++)
		printf("%s\"%s\":%u", i > 0 ? "," : "", load_error_names[i],
		    l->errors[i]);
	printf("}}\n");
	fflush(stdout);
}

/* Streams still open at the deadline failed; free what is left. */
static void
load_finish(struct load *l)
{
	unsigned	 i;
	struct stream	*s;

	l->ready = 1;	/* what fails now is no moment to measure */
	for (i = 0; i < l->n; i++) {
		s = &l->streams[i];
		if (s->state == STREAM_WAITING) {
			s->state = STREAM_OPEN;
			l->started++;
		}
		if (s->state == STREAM_OPEN)
			l->errors[LOAD_ERR_DEADLINE]++;
		/* Frees a request still open too, calling no callback. */
		if (s->conn != NULL)
			evhttp_connection_free(s->conn);
		s->conn = NULL;
		s->req = NULL;
		stream_end(s, STREAM_FAILED);
		event_free(s->start);
	}
}

static void __attribute__((noreturn))
usage(int code)
{
	fprintf(code == 0 ? stdout : stderr,
"usage: cube-stream-load -u URL [-t TOKEN] [-m MODEL] [-n STREAMS]\n"
"                        [-p PERIOD_MS] [-c CHUNKS] [-d CHUNK_DELAY_MS]\n"
"                        [--plain-model] [--timeout S] [--label NAME]\n"
"                        [--ready-file FILE]\n"
"\n"
"Open STREAMS chat completion streams (POST URL, \"stream\": true), stream\n"
"i starting at i*PERIOD_MS/STREAMS so their events are out of phase, and\n"
"measure each one's time to first token (TTFT: request sent to the first\n"
"data event with content) and its inter-token gaps (ITL), and how much each\n"
"exceeds CHUNK_DELAY_MS (what the path adds: fake-llm sends the role event\n"
"at once, then a content event every CHUNK_DELAY_MS). Prints one text line,\n"
"then one JSON object; exits 0 when every stream completed.\n"
"\n"
"  -u, --url URL            the endpoint, http://HOST:PORT/v1/chat/completions\n"
"  -t, --token TOKEN        sent as Authorization: Bearer TOKEN\n"
"  -m, --model MODEL        the request's model (default fake-chat)\n"
"  -n, --streams N          concurrent streams (default 100)\n"
"  -p, --period-ms MS       spread the starts over MS (default CHUNK_DELAY_MS,\n"
"                           or 1000)\n"
"  -c, --chunks N           content events each answer has (default 4)\n"
"  -d, --chunk-delay-ms MS  the backend's gap between events (default 0)\n"
"      --plain-model        send MODEL as it is; by default fake-llm's\n"
"                           options are added: MODEL;chunks=N;chunk_delay_ms=MS\n"
"                           (a proxy's model alias carries them in its\n"
"                           deployment instead)\n"
"      --timeout S          give up on the run after S seconds (default 120)\n"
"      --label NAME         the name in the output (default load)\n"
"      --ready-file FILE    written, with the number of open streams, once\n"
"                           every stream has had its first token or failed\n"
"                           and none has completed: all are open\n"
"  -h, --help               this help\n");
	exit(code);
}

/* A number in [min, max] or a clear error naming the option. */
static unsigned
load_number(const char *opt, const char *s, unsigned min, unsigned max)
{
	char		*end;
	unsigned long	 v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min ||
	    v > max) {
		fprintf(stderr, "cube-stream-load: %s: %s is not a number "
		    "from %u to %u\n", opt, s, min, max);
		exit(2);
	}
	return (unsigned)v;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "token", required_argument, NULL, 't' },
		{ "model", required_argument, NULL, 'm' },
		{ "streams", required_argument, NULL, 'n' },
		{ "period-ms", required_argument, NULL, 'p' },
		{ "chunks", required_argument, NULL, 'c' },
		{ "chunk-delay-ms", required_argument, NULL, 'd' },
		{ "plain-model", no_argument, NULL, 'P' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "label", required_argument, NULL, 'L' },
		{ "ready-file", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct load l;	/* its histograms are 512 KiB */
	const char	*url = NULL, *token = NULL, *model = "fake-chat";
	const char	*query;
	char		*full_model;
	int		 ch, plain = 0, period_set = 0;
	unsigned	 i;
	cJSON		*body, *msgs, *msg;
	struct event_config *cfg;
	struct timeval	 tv;
	struct rlimit	 rl;

	memset(&l, 0, sizeof(l));
	l.n = 100;
	l.chunks = 4;
	l.timeout_s = 120;
	l.label = "load";
	while ((ch = getopt_long(argc, argv, "u:t:m:n:p:c:d:h", opts,
	    NULL)) != -1) {
		switch (ch) {
		case 'u':
			url = optarg;
			break;
		case 't':
			token = optarg;
			break;
		case 'm':
			model = optarg;
			break;
		case 'n':
			l.n = load_number("--streams", optarg, 1,
			    LOAD_MAX_STREAMS);
			break;
		case 'p':
			l.period_ms = load_number("--period-ms", optarg, 0,
			    3600 * 1000);
			period_set = 1;
			break;
		case 'c':
			l.chunks = load_number("--chunks", optarg, 1, 100000);
			break;
		case 'd':
			l.chunk_delay_ms = load_number("--chunk-delay-ms",
			    optarg, 0, 3600 * 1000);
			break;
		case 'P':
			plain = 1;
			break;
		case 'T':
			l.timeout_s = load_number("--timeout", optarg, 1,
			    24 * 3600);
			break;
		case 'L':
			l.label = optarg;
			break;
		case 'R':
			l.ready_file = optarg;
			break;
		case 'h':
			usage(0);
		default:
			usage(2);
		}
	}
	if (optind != argc || url == NULL)
		usage(2);
	if (strpbrk(l.label, "\"\\") != NULL || strlen(l.label) > 100) {
		fprintf(stderr, "cube-stream-load: --label: at most 100 "
		    "characters, no quote or backslash\n");
		exit(2);
	}
	if (token != NULL && strpbrk(token, "\r\n") != NULL) {
		fprintf(stderr, "cube-stream-load: --token: no line breaks\n");
		exit(2);
	}
	if (!period_set)
		l.period_ms = l.chunk_delay_ms > 0 ? l.chunk_delay_ms : 1000;

	l.uri = evhttp_uri_parse(url);
	if (l.uri == NULL || evhttp_uri_get_scheme(l.uri) == NULL ||
	    strcmp(evhttp_uri_get_scheme(l.uri), "http") != 0 ||
	    evhttp_uri_get_host(l.uri) == NULL) {
		fprintf(stderr, "cube-stream-load: --url: %s is not an "
		    "http://HOST:PORT/PATH URL\n", url);
		exit(2);
	}
	l.host = evhttp_uri_get_host(l.uri);
	l.port = evhttp_uri_get_port(l.uri);
	if (l.port <= 0)
		l.port = 80;
	query = evhttp_uri_get_query(l.uri);
	xasprintf(&l.path, "%s%s%s", evhttp_uri_get_path(l.uri)[0] != '\0' ?
	    evhttp_uri_get_path(l.uri) : "/", query != NULL ? "?" : "",
	    query != NULL ? query : "");
	if (token != NULL)
		xasprintf(&l.auth, "Bearer %s", token);

	if (plain)
		full_model = xstrdup(model);
	else
		xasprintf(&full_model, "%s;chunks=%u;chunk_delay_ms=%u", model,
		    l.chunks, l.chunk_delay_ms);
	body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "model", full_model);
	cJSON_AddTrueToObject(body, "stream");
	msgs = cJSON_AddArrayToObject(body, "messages");
	msg = cJSON_CreateObject();
	cJSON_AddStringToObject(msg, "role", "user");
	cJSON_AddStringToObject(msg, "content",
	    "Count to ten, one number a line.");
	cJSON_AddItemToArray(msgs, msg);
	if ((l.body = cJSON_PrintUnformatted(body)) == NULL)
		fatalx("out of memory");
	cJSON_Delete(body);
	free(full_model);

	/* Each stream is a descriptor: take what the hard limit allows. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < (rlim_t)l.n + 16)
		fprintf(stderr, "cube-stream-load: %u streams but only %llu "
		    "descriptors (ulimit -n); some will fail\n", l.n,
		    (unsigned long long)rl.rlim_cur);

	/*
	 * Precise timers, as fake-llm's: on libevent's default clock
	 * (CLOCK_MONOTONIC_COARSE, 4 ms a tick) the starts came four at once
	 * every 4 ms at 1,000 a second, not out of phase as promised.
	 */
	if ((cfg = event_config_new()) == NULL ||
	    event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER) != 0 ||
	    (l.base = event_base_new_with_config(cfg)) == NULL)
		fatalx("event_base_new failed");
	event_config_free(cfg);
	l.streams = xcalloc(l.n, sizeof(*l.streams));
	l.t0 = load_now_us();
	for (i = 0; i < l.n; i++) {
		struct stream	*s = &l.streams[i];
		uint64_t	 at = (uint64_t)i * l.period_ms * 1000 / l.n;

		s->load = &l;
		s->index = i;
		s->start = evtimer_new(l.base, stream_start_cb, s);
		if (s->start == NULL)
			fatalx("out of memory");
		tv.tv_sec = (time_t)(at / 1000000);
		tv.tv_usec = (suseconds_t)(at % 1000000);
		evtimer_add(s->start, &tv);
	}
	l.deadline = evtimer_new(l.base, load_deadline_cb, &l);
	tv.tv_sec = (time_t)l.timeout_s;
	tv.tv_usec = 0;
	evtimer_add(l.deadline, &tv);

	event_base_dispatch(l.base);
	load_finish(&l);
	/* The deferred frees run, finding nothing left to free. */
	event_base_loop(l.base, EVLOOP_NONBLOCK);
	load_report(&l);

	event_free(l.deadline);
	event_base_free(l.base);
	free(l.streams);
	evhttp_uri_free(l.uri);
	free(l.path);
	free(l.auth);
	cJSON_free(l.body);
	return l.completed == l.n ? 0 : 1;
}
