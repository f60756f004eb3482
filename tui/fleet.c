/*
 * cubectl over several hosts (-H a,b, -H repeated, or --hosts-file):
 * status, apply and export run on every host at once, one child process
 * per host (at most --parallel at a time), each an ordinary one-host
 * cubectl run with its own connection and deadline. What each prints is
 * captured and shown per host in the order given, never interleaved, then
 * a summary table; -o json prints one array instead. Runs in cubectl's
 * main process before it connects anywhere.
 */
#include <sys/resource.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cubectl.h"
#include "log.h"
#include "rpc.h"
#include "xmalloc.h"

#define FLEET_ERROR_MAX		1024		/* bytes of a summary's error */
#define FLEET_PREFIX		"cubectl: "
#define FLEET_WARNING		FLEET_PREFIX "warning: "

enum fleet_state {
	FLEET_WAITING,
	FLEET_RUNNING,
	FLEET_DONE,
};

/* One host of the run. */
struct fleet_host {
	const char		*name;		/* borrowed from the hosts */
	enum fleet_state	 state;
	pid_t			 pid;
	FILE			*out;		/* the child's stdout, stderr */
	FILE			*err;
	struct timespec		 start;
	int64_t			 duration_ms;
	int			 timed_out;
	int			 rc;		/* its exit status */
	char			*error;		/* why it failed; owned */
};

struct fleet {
	struct cubectl			*c;
	const struct cmd_entry		*ce;
	const struct args		*a;
	const struct fleet_options	*o;
	struct fleet_host		*hosts;
	size_t				 n;
	size_t				 shown;		/* blocks printed */
	sigset_t			 oldmask;
	cJSON				*summary;
};

/* What the summary says for each exit status (DESIGN.md's). */
static const char *const fleet_results[] = {
	[EXIT_OK] =		"ok",
	[EXIT_FAILED] =		"failed",
	[EXIT_USAGE] =		"usage error",
	[EXIT_NOT_FOUND] =	"not found",
	[EXIT_DENIED] =		"denied",
	[EXIT_UNREACHABLE] =	"unreachable",
};
#define FLEET_NRESULTS	(sizeof(fleet_results) / sizeof(fleet_results[0]))

static const struct output_field fleet_columns[] = {
	{ "HOST",	"host",		OUTPUT_PLAIN },
	{ "RESULT",	"result",	OUTPUT_PLAIN },
	{ "DURATION",	"duration",	OUTPUT_PLAIN },
	{ "ERROR",	"error",	OUTPUT_PLAIN },
	{ NULL, NULL, OUTPUT_PLAIN }
};

static int64_t
fleet_ms_since(const struct timespec *start)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(now.tv_sec - start->tv_sec) * 1000 +
	    (now.tv_nsec - start->tv_nsec) / 1000000;
}

/*
 * The hosts of the command line: every -H (each a comma-separated list)
 * and --hosts-file of the sets in order, else $CUBE_HOST. Sets c->host
 * for a single run. Returns 1 for a fleet run (several hosts, or a hosts
 * file), 0 for one host or none, -1 with a usage message in err.
 */
int
fleet_hosts(struct cubectl *c, const struct args *const *sets, size_t nsets,
    struct hosts *h, struct fleet_options *o, char *err, size_t errlen)
{
	const struct args_value	*v;
	const char		*env, *name;
	size_t			 i, j;
	int			 given = 0, file = 0;

	memset(o, 0, sizeof(*o));
	o->parallel = FLEET_PARALLEL;
	o->timeout_s = FLEET_TIMEOUT_S;
	for (i = 0; i < nsets; i++) {
		for (j = 0; j < sets[i]->nvalues; j++) {
			v = &sets[i]->values[j];
			name = v->flag->name;
			if (strcmp(name, "-H") == 0) {
				given = 1;
				if (hosts_add_list(h, v->string, "-H", err,
				    errlen) == -1)
					return -1;
			} else if (strcmp(name, "--hosts-file") == 0) {
				given = file = 1;
				if (hosts_add_file(h, v->string, err, errlen) ==
				    -1)
					return -1;
			} else if (strcmp(name, "--parallel") == 0)
				o->parallel = (size_t)v->integer;
			else if (strcmp(name, "--timeout") == 0)
				o->timeout_s = v->integer;
		}
	}
	if (!given && (env = getenv("CUBE_HOST")) != NULL && *env != '\0' &&
	    hosts_add_list(h, env, "$CUBE_HOST", err, errlen) == -1)
		return -1;
	if (file && h->n == 0) {
		snprintf(err, errlen, "--hosts-file: no hosts in the file");
		return -1;
	}
	if (file || h->n > 1)
		return 1;
	for (i = 0; i < nsets; i++) {
		if (args_has(sets[i], "--parallel") ||
		    args_has(sets[i], "--timeout")) {
			snprintf(err, errlen, "--parallel and --timeout are for"
			    " several hosts (-H HOST,HOST or --hosts-file)");
			return -1;
		}
	}
	c->host = h->n == 0 || strcmp(h->names[0], "local") == 0 ? NULL :
	    h->names[0];
	return 0;
}

/* In the child: run the command on one host, its output to the files. */
static void
fleet_child(struct fleet *f, struct fleet_host *h)
{
	struct rlimit	rl;
	struct cubectl	*c = f->c;
	int		 fd, rc;

	sigprocmask(SIG_SETMASK, &f->oldmask, NULL);
	if ((fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1 ||
	    dup2(fd, STDIN_FILENO) == -1 ||
	    dup2(fileno(h->out), STDOUT_FILENO) == -1 ||
	    dup2(fileno(h->err), STDERR_FILENO) == -1)
		_exit(EXIT_FAILED);
	close(fd);
	/* Bounded output: past it the child gets SIGXFSZ. Only lowered. */
	if (getrlimit(RLIMIT_FSIZE, &rl) == -1)
		_exit(EXIT_FAILED);
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > FLEET_OUTPUT_MAX) {
		rl.rlim_cur = FLEET_OUTPUT_MAX;
		if (setrlimit(RLIMIT_FSIZE, &rl) == -1)
			_exit(EXIT_FAILED);
	}
	c->host = strcmp(h->name, "local") == 0 ? NULL : h->name;
	rc = (f->ce->exec != NULL ? f->ce->exec : cmd_exec_default)(c, f->ce,
	    f->a);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		output_error("cannot write output: %s", strerror(errno));
		if (rc == EXIT_OK)
			rc = EXIT_FAILED;
	}
	fflush(stderr);
	client_free(c);
	exit(rc);
}

/* The first error the host's run printed (not a warning), or NULL. */
static char *
fleet_first_error(FILE *err)
{
	char	*line = NULL, *found = NULL;
	size_t	 cap = 0;
	ssize_t	 len;

	rewind(err);
	while (found == NULL && (len = getline(&line, &cap, err)) != -1) {
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (strncmp(line, FLEET_PREFIX, strlen(FLEET_PREFIX)) == 0 &&
		    strncmp(line, FLEET_WARNING, strlen(FLEET_WARNING)) != 0)
			found = xstrndup(line + strlen(FLEET_PREFIX),
			    FLEET_ERROR_MAX);
	}
	free(line);
	return found;
}

/* A host has ended (status from waitpid): its exit status and error. */
static void
fleet_ended(struct fleet *f, struct fleet_host *h, int status)
{
	h->state = FLEET_DONE;
	h->duration_ms = fleet_ms_since(&h->start);
	if (WIFEXITED(status))
		h->rc = WEXITSTATUS(status);
	else if (h->timed_out) {
		h->rc = EXIT_UNREACHABLE;
		xasprintf(&h->error, "no result within %llds; stopped",
		    (long long)f->o->timeout_s);
	} else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGXFSZ) {
		h->rc = EXIT_FAILED;
		xasprintf(&h->error, "its output passed %d MiB; stopped",
		    FLEET_OUTPUT_MAX / (1024 * 1024));
	} else {
		h->rc = EXIT_FAILED;
		xasprintf(&h->error, "ended by signal %d",
		    WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	}
	if (h->rc != EXIT_OK && h->error == NULL &&
	    (h->error = fleet_first_error(h->err)) == NULL)
		xasprintf(&h->error, "exit status %d", h->rc);
}

/* Start the host's child; a host that cannot start has failed. */
static void
fleet_start(struct fleet *f, struct fleet_host *h)
{
	clock_gettime(CLOCK_MONOTONIC, &h->start);
	h->state = FLEET_RUNNING;
	if ((h->out = tmpfile()) == NULL || (h->err = tmpfile()) == NULL) {
		xasprintf(&h->error, "a file for its output: %s",
		    strerror(errno));
		goto failed;
	}
	fflush(NULL);
	if ((h->pid = fork()) == -1) {
		xasprintf(&h->error, "fork: %s", strerror(errno));
		goto failed;
	}
	if (h->pid == 0)
		fleet_child(f, h);
	return;
failed:
	h->state = FLEET_DONE;
	h->rc = EXIT_FAILED;
	h->duration_ms = 0;
}

/* Copy the host's stdout to ours, as it came. */
static void
fleet_copy_out(FILE *from)
{
	char	buf[8192];
	size_t	n;

	rewind(from);
	while ((n = fread(buf, 1, sizeof(buf), from)) > 0)
		fwrite(buf, 1, n, stdout);
	explicit_bzero(buf, sizeof(buf));
}

/* The host's stderr to ours, each line naming the host. */
static void
fleet_copy_err(const char *host, FILE *from)
{
	char	*line = NULL;
	size_t	 cap = 0;
	ssize_t	 len;

	fflush(stdout);
	rewind(from);
	while ((len = getline(&line, &cap, from)) != -1) {
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (strncmp(line, FLEET_PREFIX, strlen(FLEET_PREFIX)) == 0)
			fprintf(stderr, FLEET_PREFIX "%s: %s\n", host,
			    line + strlen(FLEET_PREFIX));
		else
			fprintf(stderr, "%s: %s\n", host, line);
	}
	free(line);
	fflush(stderr);
}

/* The host's stdout as JSON, or NULL when it printed none or not JSON. */
static cJSON *
fleet_json_out(FILE *from)
{
	cJSON	*json;
	char	*text;
	long	 size;

	if (fseek(from, 0, SEEK_END) == -1 || (size = ftell(from)) <= 0 ||
	    size > FLEET_OUTPUT_MAX)
		return NULL;
	rewind(from);
	text = xmalloc((size_t)size);
	if (fread(text, 1, (size_t)size, from) != (size_t)size)
		json = NULL;
	else
		json = cJSON_ParseWithLength(text, (size_t)size);
	explicit_bzero(text, (size_t)size);
	free(text);
	return json;
}

/* -o json: the host's element of the array. */
static void
fleet_show_json(struct fleet *f, struct fleet_host *h)
{
	cJSON	*o, *result;
	char	*text;

	result = h->out != NULL ? fleet_json_out(h->out) : NULL;
	if (h->rc == EXIT_OK && result == NULL) {
		h->rc = EXIT_FAILED;
		h->error = xstrdup("its output is not JSON");
	}
	if ((o = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(o, "host", h->name) == NULL ||
	    cJSON_AddBoolToObject(o, "ok", h->rc == EXIT_OK) == NULL ||
	    cJSON_AddNumberToObject(o, "exit", h->rc) == NULL ||
	    cJSON_AddNumberToObject(o, "duration_ms",
	    (double)h->duration_ms) == NULL)
		fatalx("%s: out of memory", __func__);
	if (result != NULL)
		cJSON_AddItemToObject(o, "result", result);
	if (h->rc != EXIT_OK && cJSON_AddStringToObject(o, "error",
	    h->error) == NULL)
		fatalx("%s: out of memory", __func__);
	if ((text = cJSON_Print(o)) == NULL)
		fatalx("%s: out of memory", __func__);
	printf("%s%s", f->shown == 0 ? "[" : ",\n", text);
	explicit_bzero(text, strlen(text));
	free(text);
	cJSON_Delete(o);
}

/* The summary's row for a host. */
static void
fleet_summary_add(struct fleet *f, const struct fleet_host *h)
{
	cJSON	*row;
	char	 duration[32];

	snprintf(duration, sizeof(duration), "%lld.%02llds",
	    (long long)(h->duration_ms / 1000),
	    (long long)(h->duration_ms % 1000 / 10));
	if ((row = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(row, "host", h->name) == NULL ||
	    cJSON_AddStringToObject(row, "result", h->timed_out ? "timed out" :
	    h->rc >= 0 && (size_t)h->rc < FLEET_NRESULTS ?
	    fleet_results[h->rc] : "failed") == NULL ||
	    cJSON_AddStringToObject(row, "duration", duration) == NULL ||
	    (h->error != NULL ? cJSON_AddStringToObject(row, "error",
	    h->error) : cJSON_AddNullToObject(row, "error")) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_AddItemToArray(f->summary, row);
}

/* Show the hosts done so far, in the order given, each whole. */
static void
fleet_show(struct fleet *f)
{
	struct fleet_host	*h;

	for (; f->shown < f->n && f->hosts[f->shown].state == FLEET_DONE;
	    f->shown++) {
		h = &f->hosts[f->shown];
		if (f->c->output == CUBECTL_JSON) {
			/* Its messages first: the array's lines stay whole. */
			if (h->err != NULL)
				fleet_copy_err(h->name, h->err);
			fleet_show_json(f, h);
		} else {
			printf("%s== %s ==\n", f->shown == 0 ? "" : "\n",
			    h->name);
			if (h->out != NULL)
				fleet_copy_out(h->out);
			if (h->err != NULL)
				fleet_copy_err(h->name, h->err);
		}
		fleet_summary_add(f, h);
		fflush(stdout);
	}
}

/*
 * Wait for a child to end or the nearest deadline; reap what ended and
 * stop what is past its deadline (reaped on a later pass).
 */
static void
fleet_wait(struct fleet *f)
{
	struct fleet_host	*h;
	struct timespec		 ts;
	int64_t			 left, wait_ms = -1, deadline;
	size_t			 i;
	sigset_t		 set;
	int			 status;

	deadline = f->o->timeout_s * 1000;
	for (i = 0; i < f->n; i++) {
		h = &f->hosts[i];
		if (h->state != FLEET_RUNNING || h->timed_out)
			continue;
		left = deadline - fleet_ms_since(&h->start);
		if (left < 0)
			left = 0;
		if (wait_ms == -1 || left < wait_ms)
			wait_ms = left;
	}
	/* SIGCHLD wakes us; look again each second all the same. */
	if (wait_ms == -1 || wait_ms > 1000)
		wait_ms = 1000;
	ts.tv_sec = wait_ms / 1000;
	ts.tv_nsec = (wait_ms % 1000) * 1000000;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigtimedwait(&set, NULL, &ts);

	for (i = 0; i < f->n; i++) {
		h = &f->hosts[i];
		if (h->state != FLEET_RUNNING)
			continue;
		if (waitpid(h->pid, &status, WNOHANG) == h->pid)
			fleet_ended(f, h, status);
		else if (!h->timed_out &&
		    fleet_ms_since(&h->start) >= deadline) {
			h->timed_out = 1;
			kill(h->pid, SIGKILL);
		}
	}
}

/* Run the command on every host; then the summary. An exit status. */
static int
fleet_loop(struct fleet *f)
{
	struct fleet_host	*h;
	sigset_t		 set;
	size_t			 i, next = 0, running;
	int			 rc = EXIT_OK;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, &f->oldmask);
	for (;;) {
		for (i = 0, running = 0; i < f->n; i++)
			running += f->hosts[i].state == FLEET_RUNNING;
		while (running < f->o->parallel && next < f->n) {
			fleet_start(f, &f->hosts[next++]);
			running += f->hosts[next - 1].state == FLEET_RUNNING;
		}
		fleet_show(f);
		if (running == 0 && next == f->n)
			break;
		fleet_wait(f);
	}
	sigprocmask(SIG_SETMASK, &f->oldmask, NULL);

	for (i = 0; i < f->n; i++) {
		h = &f->hosts[i];
		if (rc == EXIT_OK && h->rc != EXIT_OK)
			rc = h->rc > 0 && (size_t)h->rc < FLEET_NRESULTS ?
			    h->rc : EXIT_FAILED;
	}
	if (f->c->output == CUBECTL_JSON)
		printf("]\n");	/* hosts: at least one */
	else {
		printf("\n");
		output_table(fleet_columns, f->summary);
		for (i = 0, running = 0; i < f->n; i++)
			running += f->hosts[i].rc == EXIT_OK;
		printf("%zu hosts: %zu ok, %zu failed\n", f->n, running,
		    f->n - running);
	}
	return rc;
}

/* What a fleet run refuses before it starts; an exit status. */
static int
fleet_check(struct fleet *f)
{
	char	 msg[512];
	size_t	 i, n;

	if (!(f->ce->cflags & CMD_FLEET)) {
		n = snprintf(msg, sizeof(msg), "several hosts (-H HOST,HOST or"
		    " --hosts-file) work with these commands only:");
		for (i = 0; i < cmd_table_size && n < sizeof(msg); i++)
			if (cmd_table[i].cflags & CMD_FLEET)
				n += snprintf(msg + n, sizeof(msg) - n, " %s%s%s",
				    cmd_table[i].noun, cmd_table[i].verb !=
				    NULL ? " " : "", cmd_table[i].verb != NULL ?
				    cmd_table[i].verb : "");
		return cmd_usage_error(f->ce, msg);
	}
	if (strcmp(f->ce->noun, "export") == 0 &&
	    f->c->output != CUBECTL_JSON && !args_has(f->a, "--dir"))
		return cmd_usage_error(f->ce, "export over several hosts:"
		    " --dir DIR writes DIR/HOST.json for each, or -o json"
		    " prints one array");
	/* apply's document, read and checked once for every host. */
	if (strcmp(f->ce->noun, "apply") == 0)
		return cmd_apply_load(f->a, &f->c->document);
	return EXIT_OK;
}

int
fleet_run(struct cubectl *c, const struct cmd_entry *ce,
    const struct args *a, const struct hosts *hosts,
    const struct fleet_options *o)
{
	struct fleet	f;
	size_t		i;
	int		rc;

	memset(&f, 0, sizeof(f));
	f.c = c;
	f.ce = ce;
	f.a = a;
	f.o = o;
	f.n = hosts->n;
	if ((rc = fleet_check(&f)) != EXIT_OK)
		return rc;
	f.hosts = xcalloc(f.n, sizeof(*f.hosts));
	for (i = 0; i < f.n; i++)
		f.hosts[i].name = hosts->names[i];
	if ((f.summary = cJSON_CreateArray()) == NULL)
		fatalx("%s: out of memory", __func__);
	rc = fleet_loop(&f);
	for (i = 0; i < f.n; i++) {
		if (f.hosts[i].out != NULL)
			fclose(f.hosts[i].out);
		if (f.hosts[i].err != NULL)
			fclose(f.hosts[i].err);
		free(f.hosts[i].error);
	}
	free(f.hosts);
	cJSON_Delete(f.summary);
	return rc;
}
