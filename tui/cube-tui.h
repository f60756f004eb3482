/*
 * cube-tui internals: what its files share. Sections follow the files that
 * define them (tmux.h style). cube-tui also links cubectl's output.c and
 * its column tables (cubectl.h), so both show an object the same way.
 */
#ifndef CUBE_TUI_H
#define CUBE_TUI_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "cubectl.h"
#include "rpc.h"

struct cJSON;
struct tui;

/* host.c: one agent, its connection on a thread of its own. */
enum host_state {
	HOST_CONNECTING,
	HOST_UP,
	HOST_UNREACHABLE,
};

struct host_reply;
typedef void	(*host_done_cb)(struct tui *, struct host_reply *);

enum host_reply_kind {
	HOST_REPLY_CALL,	/* the answer to host_call */
	HOST_REPLY_NOTIFY,	/* a notification (logs.trace) */
};

/* A reply, handed from the host's thread to the main loop. */
struct host_reply {
	struct host_reply	*next;
	struct host		*host;
	enum host_reply_kind	 kind;
	host_done_cb		 done;		/* HOST_REPLY_CALL */
	unsigned		 gen;		/* tui->gen when asked */
	enum rpc_client_status	 status;
	int			 code;		/* RPC_CLIENT_REPLY_ERROR */
	char			 err[320];	/* reason + a prefix */
	char			*method;	/* HOST_REPLY_NOTIFY */
	struct cJSON		*result;	/* result, or notify params */
};

struct host_request;

enum host_verdict {
	HOST_VERDICT_UNKNOWN,	/* not asked, or no answer yet */
	HOST_VERDICT_OK,	/* every check passed */
	HOST_VERDICT_FAIL,
};

struct host {
	char			*name;		/* "local" or the -H form */
	char			*socket;
	char			*ssh_config;
	char			*identity;
	int			 wake_fd;	/* written when a reply waits */
	int			 timeout_ms;	/* of each call */

	pthread_t		 thread;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	/* Under lock: */
	struct host_request	*requests;
	struct host_reply	*replies;
	enum host_state		 state;
	char			 reason[256];
	struct cJSON		*tail;		/* logs.tail params, or NULL */
	int			 tail_changed;
	int			 stopping;

	/* Main thread only: */
	struct cJSON		*status;	/* the last status result */
	unsigned		 status_seq;	/* bumped when status changes */
	/* Main thread only, host-live.c's: */
	int64_t			 live_at;	/* ms, monotonic, last asked */
	int64_t			 answer_at;	/* ms, the last answer; 0: none */
	int			 status_pending;
	int			 stats_pending;
	int			 stats_unsupported;
	struct cJSON		*stats;		/* stats.get's "host" figures */
	int64_t			 stats_at;	/* ms, last asked */
	/* Main thread only, host-verdict.c's: */
	enum host_verdict	 verdict;
	char			 verdict_why[48];	/* the failed check */
	unsigned char		 verdict_nonce[32];	/* of the ask */
	int64_t			 verdict_at;
	int			 verdict_pending;
	uint64_t		 verdict_of;	/* the status it is of, hashed */
};

struct host	*host_new(const char *, const char *, const char *,
		    const char *, int);
struct host	*host_new_timed(const char *, const char *, const char *,
		    const char *, int, int);
void		 host_free(struct host *);
void		 host_call(struct host *, const char *, struct cJSON *,
		    host_done_cb, unsigned);
void		 host_tail(struct host *, const struct cJSON *);
struct host_reply *host_take(struct host *);
void		 host_reply_free(struct host_reply *);
enum host_state	 host_get_state(struct host *, char *, size_t);
int		 host_is_unsupported(const struct host_reply *);

/* host-live.c: each host's status and figures, and how old they are. */
#define HOST_LIVE_STALE_MS	5000	/* no answer for this long: stale */

int64_t		 host_live_now(void);
void		 host_live_poll(struct host *, int64_t);
int		 host_live_stale(const struct host *, int64_t, int64_t *);
double		 host_live_figure(const struct host *, const char *);
const char	*host_live_spend(const struct host *);

/* human.c: figures cut to a few columns. */
void	 human_duration(char *, size_t, double);
void	 human_rate(char *, size_t, double);
void	 human_ms(char *, size_t, double);
void	 human_percent(char *, size_t, double);
void	 human_usd(char *, size_t, const char *);

/* columns.c: which columns of a table a width holds. */
#define COLUMN_EXTRA	100	/* drop at or above: left out before shrinking */

struct column {
	const char	*label;
	int		 min;		/* shrinks down to this */
	int		 want;
	int		 drop;		/* 0: always shown; higher goes first */
	int		 flex;		/* takes the room left */
};

int	 columns_fit(const struct column *, size_t, int, int *);

/* filter.c: what / matches. */
int	 filter_match(const char *, const struct cJSON *,
	    const struct output_field *);

/* checklist.c: model deploy's pre-flight, as the form is filled in. */
enum check_state {
	CHECK_OK,
	CHECK_FAIL,
	CHECK_WARN,		/* passes, but say so */
	CHECK_PENDING,		/* not known yet */
};

#define CHECKLIST_SIZE	4

struct check {
	const char		*name;
	enum check_state	 state;
	char			 why[128];
};

struct checklist_input {
	const struct cJSON	*providers;	/* provider.list; NULL: not yet */
	const char		*provider;
	const struct cJSON	*served;	/* provider.models' "models" */
	const char		*served_err;	/* provider.models failed */
	const struct cJSON	*models;	/* model.list; NULL: not yet */
	const char		*name;
	const char		*model_id;
	const char		*key;		/* "": derived from name */
	const char		*price_input;
	const char		*price_output;
	const char		*price_cached;
	int			 free_ok;	/* knowingly free */
};

int	 checklist_eval(const struct checklist_input *, struct check *);
void	 checklist_key(const char *, char *, size_t);

/* model-sort.c: the Models view's rows, sorted by one column. */
enum model_sort {
	MODEL_SORT_KEY,
	MODEL_SORT_NAME,
	MODEL_SORT_PROVIDER,
	MODEL_SORT_CATEGORY,
	MODEL_SORT_STATUS,
	MODEL_SORT_CALLS,
	MODEL_SORT_LATENCY,
	MODEL_SORT_ERRORS,
	MODEL_SORT_SPEND,
	MODEL_SORT_PRICE_IN,
	MODEL_SORT_PRICE_OUT,
	MODEL_SORT_N
};

struct model_row {
	const struct cJSON	*model;		/* of model.list */
	const struct cJSON	*figures;	/* stats.get's entry, or NULL */
};

const char	*model_sort_name(enum model_sort);
int		 model_sort_numeric(enum model_sort);
double		 model_figure(const struct cJSON *, const char *,
		    const char *);
int		 model_row_compare(const struct model_row *,
		    const struct model_row *, enum model_sort, int);
void		 model_rows_sort(struct model_row *, size_t, enum model_sort,
		    int);

/* model-curl.c: the model page's ready-to-paste curl. */
struct model_curl {
	const char	*listen;	/* status' ADDR:PORT */
	const char	*host;		/* "local" or [user@]host[:port] */
	int		 tls;		/* https */
	int		 insecure;	/* no CA vouches for it: -k, pinned */
	const char	*spki;		/* hex SHA-256 of its key, or NULL */
	const char	*domain;
	const char	*key;
	int		 embedding;	/* /v1/embeddings, not chat */
};

#define MODEL_CURL_MAX	1024

int	 model_curl_line(const struct model_curl *, char *, size_t);

/* view-model.c: the model page, opened from Models (Enter, :model KEY). */
int		 view_model_active(void);
void		 view_model_open(struct tui *, const char *, int);
void		 view_model_close(void);
void		 view_model_refresh(struct tui *);
void		 view_model_draw(struct tui *, int, int);
int		 view_model_key(struct tui *, int);

/* view-models.c: the figures of a model of the domain in view, or NULL. */
const struct cJSON *view_models_figures(const char *);
int		 view_models_stats_state(void);
void		 view_models_load(struct tui *);
const struct cJSON *view_models_items(struct tui *);

/* list.c: a table of objects with a selection and a filter. */
enum list_state {
	LIST_EMPTY,		/* never asked */
	LIST_LOADING,
	LIST_READY,
	LIST_UNSUPPORTED,	/* method_not_found: an older agent */
	LIST_ERROR,
};

struct list {
	const char			*method;
	const struct output_field	*columns;
	struct cJSON			*items;		/* an array */
	enum list_state			 state;
	char				 error[320];
	size_t				 sel;		/* among matching rows */
	size_t				 top;
	int				 follow;	/* keep the last selected */
	unsigned			 gen;		/* tui->gen of items */
	uint32_t			 filtered;	/* hash of the filter */
	/* A row to select once it is listed (list_want), or want[0] 0. */
	const char			*want_field;
	char				 want[160];
};

void	 list_clear(struct list *);
void	 list_begin(struct tui *, struct list *);
void	 list_refresh(struct tui *, struct list *, struct cJSON *,
	    host_done_cb);
int	 list_result(struct list *, struct host_reply *);
void	 list_draw(struct tui *, struct list *, int, int);
int	 list_key(struct tui *, struct list *, int);
const struct cJSON *list_selected(struct tui *, struct list *);
size_t	 list_count(struct tui *, struct list *);
void	 list_append(struct list *, struct cJSON *, size_t);
void	 list_want(struct list *, const char *, const char *);
void	 list_apply_want(struct tui *, struct list *);

/*
 * textfield.c: one line of UTF-8 text being edited. Keys are ints: ASCII
 * as itself, curses' KEY_* codes, and a code point from 0x80 up as
 * TEXTFIELD_KEY_UNICODE | cp (so none collides with a KEY_* code).
 */
#define TEXTFIELD_KEY_UNICODE	0x1000000
#define TEXTFIELD_KEY_CPMASK	0x1fffff

struct textfield {
	char		*buf;		/* the caller's; NUL-terminated */
	size_t		 size;		/* of buf: size - 1 bytes of text */
	size_t		 len;		/* bytes of valid, printable UTF-8 */
	size_t		 cur;		/* byte offset, on a code point */
	size_t		 scroll;	/* first byte shown */
};

void	 textfield_init(struct textfield *, char *, size_t);
int	 textfield_set(struct textfield *, const char *);
size_t	 textfield_insert(struct textfield *, const char *, size_t);
int	 textfield_key(struct textfield *, int);
size_t	 textfield_view(struct textfield *, int, size_t *, int *);
size_t	 textfield_decode(const char *, size_t, uint32_t *);
int	 textfield_cp_width(uint32_t);
int	 textfield_getkey(void);

/* paste.c: bracketed paste, gathered as text. */
#define PASTE_MAX		4096	/* bytes kept of one paste */
#define PASTE_IDLE_MS		2000	/* no end marker: ended after */
#define PASTE_KEY_BEGIN		(KEY_MAX + 1)
#define PASTE_KEY_END		(KEY_MAX + 2)

enum paste_event {
	PASTE_PASS,		/* not a paste's: handle the key */
	PASTE_TAKEN,		/* the paste took it */
	PASTE_DONE,		/* a paste ended: its text is in buf */
};

struct paste {
	int		 active;
	int		 cut;		/* more than PASTE_MAX was pasted */
	int		 prev;		/* the key before */
	int64_t		 last;		/* ms, of the last key */
	size_t		 len;
	char		 buf[PASTE_MAX + 1];
};

void		 paste_init(void);
enum paste_event paste_feed(struct paste *, int, int64_t);
enum paste_event paste_tick(struct paste *, int64_t);
void		 paste_clear(struct paste *);

/* clipboard.c: copy to the operator's clipboard (OSC 52). */
#define CLIPBOARD_MAX	4096	/* bytes; terminals cut longer ones */

char	*clipboard_osc52(const char *, size_t);
void	 clipboard_free(char *);
int	 clipboard_copy(const char *);

/* form.c: a dialog of fields, for n and e. */
enum form_type {
	FORM_TEXT,
	FORM_SECRET,		/* no echo, kept in guarded memory */
	FORM_CHOICE,		/* one of choices; left/right/space */
	FORM_BOOL,		/* space toggles */
};

#define FORM_VALUE_MAX	512

struct form_field {
	const char		*label;
	const char		*param;		/* NULL: not sent as is */
	enum form_type		 type;
	char			 value[FORM_VALUE_MAX];
	unsigned char		*secret;	/* FORM_SECRET: sodium_malloc */
	size_t			 secretlen;
	struct textfield	 text;		/* edits value, or secret */
	char			**choices;	/* FORM_CHOICE; owned */
	size_t			 nchoices;
	size_t			 choice;
	int			 on;		/* FORM_BOOL */
};

struct form {
	char			*title;
	struct form_field	*fields;
	size_t			 nfields;
	size_t			 cur;
	int			 extra_rows;	/* below the fields, for draw */
	void			(*submit)(struct tui *, struct form *);
	void			(*changed)(struct tui *, struct form *);
	void			(*draw)(struct tui *, struct form *, int, int);
	char			 error[320];
	int			 busy;		/* submitted, waiting */
};

struct form	*form_new(const char *, size_t);
void		 form_free(struct form *);
struct form_field *form_add(struct form *, const char *, const char *,
		    enum form_type);
struct form_field *form_get(struct form *, const char *);
const char	*form_value(struct form *, const char *);
void		 form_set(struct form_field *, const char *);
void		 form_set_choices(struct form_field *, const struct cJSON *,
		    const char *);
struct cJSON	*form_words(const char *);
struct cJSON	*form_params(struct form *);
int		 form_key(struct tui *, struct form *, int);
int		 form_paste(struct tui *, struct form *, const char *, size_t);
void		 form_draw(struct tui *, struct form *);

/* form-guardrail.c: the guardrail editor, with its live test box. */
void		 form_guardrail_open(struct tui *, const struct cJSON *,
		    void (*)(struct tui *));

/* form-routing.c: a model's deployments, fallbacks and retries. */
void		 form_routing_open(struct tui *, const struct cJSON *,
		    const char *);

/* form-domain.c: a domain's form, to create or edit it. */
void		 form_domain_open(struct tui *, const struct cJSON *);
void		 form_domain_named(struct tui *, const char *);

/* form-token.c: token create's form, with the token's limits. */
struct form	*form_token_new(void);
struct cJSON	*form_token_params(struct form *);

/* draw.c: colour roles and small drawing helpers. */
enum draw_role {
	ROLE_NORMAL,
	ROLE_SELECTED,
	ROLE_OK,
	ROLE_WARN,
	ROLE_ERROR,
	ROLE_MUTED,
	ROLE_STALE,		/* data a host no longer confirms: dimmed */
};

void	 draw_init(int);
void	 draw_text(int, int, int, enum draw_role, const char *);
void	 draw_fmt(int, int, int, enum draw_role, const char *, ...)
	    __attribute__((format(printf, 5, 6)));
void	 draw_object(const struct output_field *, const struct cJSON *, int,
	    int);
void	 draw_box(int, int, int, int, const char *);
void	 draw_bar(int, int, int, uint64_t, uint64_t, enum draw_role);
enum draw_role draw_check_role(enum check_state);
const char *draw_ellipsis(void);
const char *draw_dot(void);

/* textfield-draw.c: a text field on screen, with its cursor. */
void	 textfield_draw(struct textfield *, int, int, int, enum draw_role,
	    int);
/* sparkline.c: values as a row of blocks, newest at the right. */
#define SPARKLINE_MAX	256	/* columns */

int	 sparkline_utf8(void);
int	 sparkline_render(char *, size_t, const double *, size_t, int, int);
size_t	 sparkline_values(const struct cJSON *, double *, size_t);
void	 sparkline_draw(int, int, int, enum draw_role, const double *,
	    size_t);

/* host-verdict.c: each host's attestation verdict, kept fresh. */
void		 host_verdict_poll(struct host *, int64_t);
struct attest_result;
void		 host_verdict_take(struct host *, const struct attest_result *,
		    int64_t);
const char	*host_verdict_word(const struct host *, enum draw_role *);

/* header.c: the header's first line, of the host in view. */
void	 header_draw(struct tui *);

/* host-tls.c: what a host's status says of TLS on its inference port. */
enum host_tls_state {
	HOST_TLS_UNKNOWN,	/* no status yet, or it does not say */
	HOST_TLS_ON,
	HOST_TLS_OFF,		/* plain HTTP: prompts arrive unencrypted */
};

struct host_tls {
	enum host_tls_state	 state;
	const char		*how;		/* how its key was made */
	char			 spki[65];	/* hex; "": none, or malformed */
	char			 listen[64];	/* "": none, or malformed */
	int			 loopback;	/* only this host reaches it */
	time_t			 not_after;	/* the certificate's; 0: none */
	char			 expires[11];	/* its date, YYYY-MM-DD */
	int			 expired;
	int			 expires_soon;	/* within two weeks */
};

void		 host_tls_read(const struct cJSON *, time_t, struct host_tls *);
const char	*host_tls_mark(const struct host_tls *, enum draw_role *);

/* cube-tui.c: the dashboard, its views and its modal dialogs. */
#define TUI_NVIEWS	9
#define TUI_FILTER_MAX	64

struct view_ops {
	const char	*name;
	int		 needs_domain;
	/* Ask the host for what the view shows. */
	void		(*refresh)(struct tui *);
	/* Draw into rows top..top+rows-1. */
	void		(*draw)(struct tui *, int, int);
	/* A key the dashboard did not take; 1 when used. */
	int		(*key)(struct tui *, int);
	/* The view is left (stop a subscription); may be NULL. */
	void		(*leave)(struct tui *);
};

extern const struct view_ops	 view_fleet_ops;
extern const struct view_ops	 view_overview_ops;
extern const struct view_ops	 view_models_ops;
extern const struct view_ops	 view_providers_ops;
extern const struct view_ops	 view_guardrails_ops;
extern const struct view_ops	 view_tokens_ops;
extern const struct view_ops	 view_logs_ops;
extern const struct view_ops	 view_usage_ops;
extern const struct view_ops	 view_attest_ops;

/* A pop-up: text to read, a yes/no question, or a menu to pick from. */
enum modal_kind {
	MODAL_NONE,
	MODAL_TEXT,
	MODAL_CONFIRM,
	MODAL_MENU,
};

struct modal {
	enum modal_kind	 kind;
	char		*title;
	char		**lines;	/* text lines, or menu items */
	size_t		 nlines;
	size_t		 sel;
	enum draw_role	 role;
	int		 secret;	/* wipe the lines when closed */
	char		*copy;		/* secret: what c copies; wiped */
	int		 copied;
	void		(*chosen)(struct tui *, const char *);
	char		*arg;		/* for chosen: what it is about */
};

struct tui {
	struct host	**hosts;
	size_t		 nhosts;
	size_t		 current;
	size_t		 view;
	unsigned	 gen;		/* bumped when host or domain changes */
	char		*domain;	/* the domain in view, or NULL */
	struct cJSON	*domains;	/* domain.list of the current host */
	int		 wake[2];
	int		 quit;
	int		 rows;
	int		 cols;
	char		 filter[TUI_NVIEWS][TUI_FILTER_MAX];
	int		 filtering;	/* editing the filter */
	char		 message[400];
	enum draw_role	 message_role;
	struct modal	 modal;
	struct form	*form;
	/* The Attestation view's verdict: --policy, the policy file in the
	 * config directory, else the defaults (path NULL). */
	struct verify_policy policy;
	char		*policy_path;
};

struct host	*tui_host(struct tui *);
void		 tui_call(struct tui *, const char *, struct cJSON *,
		    host_done_cb);
struct cJSON	*tui_domain_params(struct tui *);
const char	*tui_filter(struct tui *);
void		 tui_message(struct tui *, enum draw_role, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
void		 tui_reply_error(struct tui *, const char *,
		    const struct host_reply *);
int		 tui_reply_report(struct tui *, const struct host_reply *,
		    const char *, const char *);
void		 tui_show(struct tui *, const char *, enum draw_role, int,
		    const char *);
void		 tui_confirm(struct tui *, const char *, const char *,
		    void (*)(struct tui *, const char *));
void		 tui_menu(struct tui *, const char *, const struct cJSON *,
		    const char *, void (*)(struct tui *, const char *));
void		 tui_form(struct tui *, struct form *);
void		 tui_form_close(struct tui *);
void		 tui_refresh_view(struct tui *);
void		 tui_switch(struct tui *, size_t);
void		 tui_set_host(struct tui *, size_t);
void		 tui_pick_domain(struct tui *, const char *);
void		 tui_ask_domains(struct tui *);
void		 tui_show_secret(struct tui *, const char *, const char *,
		    const char *);
void		 tui_show_object(struct tui *, const char *,
		    const struct output_field *, const struct cJSON *);

/* command.c: the commands of the `:` command line. */
#define CMDLINE_MAX	128

enum command_words {
	COMMAND_WORDS_NONE,	/* Tab offers no argument */
	COMMAND_WORDS_DOMAINS,	/* the host's domains */
	COMMAND_WORDS_HOSTS,	/* the session's hosts */
	COMMAND_WORDS_MODELS,	/* the domain's model keys */
};

enum command_action {
	COMMAND_VIEW,		/* switch to view */
	COMMAND_LOGS,		/* Logs, filtered on the argument */
	COMMAND_DOMAIN,
	COMMAND_HOST,
	COMMAND_DEPLOY,		/* Models' deploy form */
	COMMAND_DOMAIN_NEW,	/* the domain form, to create one */
	COMMAND_DOMAIN_EDIT,	/* the domain form, on one */
	COMMAND_USAGE,		/* Usage, over the argument's range */
	COMMAND_MODEL,		/* the model page */
	COMMAND_CHAT,		/* the playground (playground.c) */
	COMMAND_QUIT,
	COMMAND_NACTIONS
};

struct command {
	const char		*name;
	const char		*metavar;	/* NULL: takes no argument */
	int			 needs_arg;
	enum command_words	 words;
	enum command_action	 action;
	int			 view;		/* -1: none */
	const char		*help;
};

/* The commands, ended by a NULL name. */
const struct command *command_table(void);
const struct command *command_lookup(const char *, size_t);
const struct command *command_parse(const char *, char *, size_t, char *,
	    size_t);
size_t	 command_complete(const char *, const char *const *, size_t, char *,
	    size_t, char *, size_t);

/* cmdline.c: the `:` prompt, on the main thread. */
int	 cmdline_active(void);
void	 cmdline_open(struct tui *);
void	 cmdline_key(struct tui *, int);
void	 cmdline_draw(struct tui *);
void	 cmdline_paste(struct tui *, const char *, size_t);

/* keys.c: each view's key bar and the ? overlay. */
const char	*keys_bar(const char *);
int		 keys_help_active(void);
void		 keys_help_open(void);
void		 keys_help_key(const char *, int);
void		 keys_help_draw(const char *);

/* view-usage.c: the Usage view's range (24h, 7d, 30d, today); -1: no. */
int	 view_usage_set_range(struct tui *, const char *);

/* view-tokens.c: select a token by id in the Tokens view. */
void	 view_tokens_select(struct tui *, const char *);
/* view-models.c, view-providers.c: select a row by key, by name. */
void	 view_models_select(struct tui *, const char *);
void	 view_providers_select(struct tui *, const char *);

/*
 * view-trace.c: every field of one trace, over the view in sight, with
 * jumps to its model, token and provider (Enter on a trace in Logs).
 */
int	 view_trace_active(struct tui *);
void	 view_trace_open(struct tui *, const struct cJSON *);
void	 view_trace_close(void);
void	 view_trace_draw(struct tui *, int, int);
int	 view_trace_key(struct tui *, int);
/*
 * playground.c: a chat with one model of the domain in view, through the
 * agent's pipeline (model.chat), on a connection of its own. While open
 * it has the screen and every key; Esc leaves.
 */
void	 playground_open(struct tui *, const char *);
int	 playground_active(void);
void	 playground_key(struct tui *, int);
void	 playground_draw(struct tui *);
void	 playground_take(struct tui *);
void	 playground_close(struct tui *);

/*
 * wrap.c: the next line of text (len bytes) in width columns: its length
 * in bytes, and in *next where the line after it starts.
 */
size_t	 wrap_line(const char *, size_t, int, size_t *);

/* view-logs.c: a logs.trace notification of the host in view. */
void	 view_logs_notify(struct tui *, struct host_reply *);

/*
 * view-attest.c: whether the evidence last fetched from the host in view
 * binds the TLS key its status reports: 1 yes, 0 no (the tls-key check
 * failed), -1 not known (no evidence of this host held).
 */
int	 view_attest_tls_ok(struct tui *);

#endif
