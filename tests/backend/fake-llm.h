/* fake-llm: the fake OpenAI / Ollama backend scenario tests and benches use. */
#ifndef FAKE_LLM_H
#define FAKE_LLM_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cjson/cJSON.h>

struct event;
struct event_base;
struct evbuffer;
struct evhttp_connection;
struct evhttp_request;

#define FAKE_MAX_BODY		(8 * 1024 * 1024)
#define FAKE_DEFAULT_TEXT	"Hello from fake-llm."
#define FAKE_DEFAULT_CHUNKS	4
#define FAKE_MAX_CHUNKS		100000
#define FAKE_MAX_DELAY_MS	(24 * 3600 * 1000)
#define FAKE_RECORDS		256
#define FAKE_DEFAULT_ARGS	"{\"city\":\"Paris\",\"unit\":\"celsius\"}"
#define FAKE_MAX_CHOICES	128	/* OpenAI's limit on n */
#define FAKE_MAX_TOP_LOGPROBS	20

/*
 * Behaviour chosen by the request's model string, "name;key=value;...":
 * text, echo, chunks, first_byte_delay_ms, chunk_delay_ms, status,
 * reset_after, usage, cached, close, drop_reused, tool, args, think,
 * think_key, and a
 * hostile backend's
 * ways: ctype, encoding, error_body, raw, ratelimit, flood. Unknown keys
 * are ignored.
 */
struct fake_opts {
	char	*text;			/* answer, '_' already a space; or NULL */
	char	*tool;			/* chat (OpenAI, Ollama): call this if offered */
	char	*args;			/* its JSON arguments; NULL: the default */
	/*
	 * Reasoning the model shows ('_' a space). OpenAI chat: under
	 * think_key (reasoning_content as vLLM sends it, reasoning as
	 * Ollama does, or refusal), in the message or streamed in the role
	 * event. Ollama's chat: message.thinking, streamed in the first
	 * content line.
	 */
	char	*think;
	char	*think_key;
	char	*ctype;			/* "long" (1.1 KB), or the Content-Type */
	char	*encoding;		/* gzip, deflate: coded; else a label only */
	char	*error_body;		/* html, text, vllm, ollama, bad, evil */
	char	*odd_body;		/* a 200 answer no checker can read */
	char	*raw;			/* by hand: cr, nul, ctl, lf, fold, 8bit, trickle */
	int	 ratelimit;		/* rate-limit headers, some hostile */
	int	 flood;			/* a stream's event of N bytes, no end */
	int	 close;			/* no keep-alive: close after the reply */
	/*
	 * Reset, unanswered, a request on a connection that carried one
	 * before: a backend closing an idle keep-alive connection as the
	 * client reuses it. A client that tries again on a new one wins.
	 */
	int	 drop_reused;
	int	 echo;			/* answer = last user text */
	int	 chunks;		/* content events in a stream */
	int	 first_byte_delay_ms;
	int	 chunk_delay_ms;
	int	 status;		/* error status to answer; 0: none */
	int	 reset_after;		/* abort after N content events; -1: no */
	int	 usage;			/* 0: leave usage out */
	int	 cached;		/* prompt_tokens_details.cached_tokens */
};

/* The error body shape a route answers with. */
enum wire_kind {
	WIRE_OPENAI,			/* {"error":{"message","type",...}} */
	WIRE_OLLAMA,			/* {"error":"message"} */
};

/* The events of a stream besides the final marker, in order. */
enum wire_chunk {
	WIRE_CHUNK_ROLE,		/* OpenAI chat: delta.role */
	WIRE_CHUNK_CONTENT,		/* one piece of the answer */
	WIRE_CHUNK_FINISH,		/* finish_reason / done:true */
	WIRE_CHUNK_USAGE,		/* OpenAI include_usage: choices [] */
};

struct exchange;

/*
 * One API's wire format: how to read its request and shape its replies.
 * parse fills the exchange (prompt tokens, echo text, stream flags) or
 * returns -1 with a message for a 400; reply builds the whole non-stream
 * body; chunk builds one stream event (NULL for APIs that cannot stream).
 */
struct wire_api {
	const char	*name;
	enum wire_kind	 kind;
	int		 sse;		/* SSE with [DONE]; else NDJSON */
	int		 role_chunk;	/* stream opens with a role delta */
	int		 named;		/* SSE events with "event: <type>" and
					   no [DONE]: the Responses API's; its
					   chunk may be an array of events */
	int	 (*parse)(struct exchange *, char *, size_t);
	cJSON	*(*reply)(struct exchange *);
	cJSON	*(*chunk)(struct exchange *, enum wire_chunk, const char *);
};

/*
 * One API request from parse to the last byte of its reply. Immediate
 * replies are built and sent from the request callback; anything with a
 * delay or a reset is "armed": a timer drives it, a watch on the socket and
 * the connection's close callback notice a client that hangs up.
 */
struct exchange {
	TAILQ_ENTRY(exchange)	 entry;		/* armed exchanges */
	struct evhttp_request	*req;
	struct evhttp_connection *evcon;
	struct event		*timer;
	struct event		*watch;
	const struct wire_api	*api;
	cJSON			*body;		/* the parsed request, owned */
	struct fake_opts	 opts;
	uint64_t		 seq;		/* its record */
	time_t			 created;
	char			*model;		/* as the request said it */
	char			*echo;		/* last user text, or NULL */
	char			*answer;
	char			*decided;	/* answer the request set, or NULL */
	char			*tool;		/* function called, or NULL */
	int			 n;		/* choices */
	int			 logprobs;	/* logprobs asked for */
	int			 top_logprobs;
	int			 prompt_tokens;
	int			 completion_tokens;
	int			 stream;
	int			 include_usage;
	int			 step;		/* next stream event */
	int			 sent;		/* content events sent */
	int			 polls;		/* waiting to flush before reset */
	int			 events;	/* sequence_number of the next */
	int			 tool_sent;	/* Ollama's whole call went */
	int			 think_sent;	/* Ollama: the thinking went */
	struct z_stream_s	*z;		/* a coded stream's deflater */
	int			 flags;
#define EXCHANGE_ARMED		0x1
#define EXCHANGE_STARTED	0x2	/* stream headers are out */
#define EXCHANGE_RESETTING	0x4	/* we abort the connection ourselves */
#define EXCHANGE_FLUSHING	0x8	/* waiting for output before the reset */
#define EXCHANGE_RAW		0x10	/* we write the reply by hand */
};

/* fake-llm.c */
extern struct event_base	*fake_base;
extern int			 fake_stopping;
void	 fake_send_json(struct evhttp_request *, int, cJSON *);
void	 fake_send_error(struct evhttp_request *, enum wire_kind, int,
	    const char *);

/* exchange.c */
void	 exchange_parse_model(struct fake_opts *, const char *);
void	 exchange_clear_opts(struct fake_opts *);
struct exchange *exchange_new(struct evhttp_request *, const struct wire_api *,
	    cJSON *, uint64_t);
void	 exchange_free(struct exchange *);
void	 exchange_start(struct exchange *);
int	 exchange_count(void);

/* wire.c */
extern const struct wire_api wire_openai_chat;
extern const struct wire_api wire_openai_completions;
extern const struct wire_api wire_openai_embeddings;
extern const struct wire_api wire_openai_fim;
extern const struct wire_api wire_rerank;
extern const struct wire_api wire_openai_responses;
extern const struct wire_api wire_ollama_chat;
extern const struct wire_api wire_ollama_generate;
extern const struct wire_api wire_ollama_embed;
int	 wire_words(const char *);
cJSON	*wire_error(enum wire_kind, int, const char *);
const char *wire_reason(int);
cJSON	*wire_models(void);
cJSON	*wire_model(const char *);
cJSON	*wire_tags(void);
cJSON	*wire_version(void);

/* record.c */
uint64_t record_add(struct evhttp_request *, const char *, const char *,
	    const char *, const char *, size_t);
void	 record_status(uint64_t, int);
void	 record_completed(uint64_t);
void	 record_hung_up(uint64_t);
cJSON	*record_list(void);
void	 record_reset(void);
/* Did a request before seq come on the connection from this port? */
int	 record_port_seen(uint64_t seq, int port);

#endif
