/* transport.c, transport-unix.c: by-name lookup and connect failures named. */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <grp.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"
#include "transport.h"

struct fixture {
	char	dir[FIXTURE_DIR_MAX];
	char	path[96];
};

static int
setup(void **state)
{
	struct fixture	*f;

	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	fixture_dir_make(f->dir, sizeof(f->dir), "transport");
	snprintf(f->path, sizeof(f->path), "%s/agent.sock", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	fixture_dir_remove(f->dir);
	free(f);
	return 0;
}

/* A socket bound at path; listening or not. */
static int
bind_at(const char *path, int do_listen)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	if (do_listen)
		assert_int_equal(listen(fd, 1), 0);
	return fd;
}

/* Connect to path; returns the status, err filled. */
static enum transport_status
try_connect(const char *path, char *err, size_t errlen)
{
	struct transport_address	 addr = { .path = path };
	struct transport		*t;
	enum transport_status		 status;

	t = transport_new("unix");
	assert_non_null(t);
	if (transport_connect(t, &addr, err, errlen) == 0)
		status = TRANSPORT_OK;
	else
		status = t->status;
	transport_free(t);
	return status;
}

static void
test_by_name(void **state)
{
	(void)state;
	assert_null(transport_new("carrier-pigeon"));
	assert_null(transport_new(""));
	transport_free(NULL);
}

static void
test_connect_ok(void **state)
{
	struct fixture	*f = *state;
	char		 err[256];
	int		 fd;

	fd = bind_at(f->path, 1);
	assert_int_equal(try_connect(f->path, err, sizeof(err)), TRANSPORT_OK);
	close(fd);
}

static void
test_missing(void **state)
{
	struct fixture	*f = *state;
	char		 err[256], path[256];

	assert_int_equal(try_connect(f->path, err, sizeof(err)),
	    TRANSPORT_MISSING);
	assert_string_equal(err, "no such file");
	snprintf(path, sizeof(path), "%s/no/such/dir.sock", f->dir);
	assert_int_equal(try_connect(path, err, sizeof(err)),
	    TRANSPORT_MISSING);
}

static void
test_refused(void **state)
{
	struct fixture	*f = *state;
	char		 err[256];
	int		 fd;

	fd = bind_at(f->path, 0);	/* bound, nobody listening */
	assert_int_equal(try_connect(f->path, err, sizeof(err)),
	    TRANSPORT_REFUSED);
	assert_string_equal(err, "connection refused");
	close(fd);
}

static void
test_not_a_socket(void **state)
{
	struct fixture	*f = *state;
	char		 err[256];
	int		 fd;

	fd = open(f->path, O_CREAT | O_WRONLY, 0600);
	assert_int_not_equal(fd, -1);
	close(fd);
	assert_int_equal(try_connect(f->path, err, sizeof(err)),
	    TRANSPORT_FAILED);
	assert_string_equal(err, "not a socket");
}

/* try_connect() as user nobody, in a child: its status, or -1. */
static int
nobody_connects(const char *path)
{
	char	err[256];
	pid_t	pid;
	int	status;

	if ((pid = fork()) == 0) {
		if (setgroups(0, NULL) != 0 || setgid(65534) != 0 ||
		    setuid(65534) != 0)
			_exit(100);
		status = try_connect(path, err, sizeof(err));
		if (status == TRANSPORT_DENIED &&
		    strcmp(err, "permission denied") != 0)
			_exit(101);
		_exit(status);
	}
	if (pid == -1 || waitpid(pid, &status, 0) != pid ||
	    !WIFEXITED(status) || WEXITSTATUS(status) >= 100)
		return -1;
	return WEXITSTATUS(status);
}

/*
 * A socket the caller may not open. Root is never denied, so as root
 * (how CI runs) a child that became nobody tries it instead, and first
 * shows it could connect were the socket open to it.
 */
static void
test_denied(void **state)
{
	struct fixture	*f = *state;
	char		 err[256];
	int		 fd;

	fd = bind_at(f->path, 1);
	if (geteuid() == 0) {
		assert_int_equal(chmod(f->dir, 0755), 0);
		assert_int_equal(chmod(f->path, 0666), 0);
		assert_int_equal(nobody_connects(f->path), TRANSPORT_OK);
		assert_int_equal(chmod(f->path, 0), 0);
		assert_int_equal(nobody_connects(f->path), TRANSPORT_DENIED);
	} else {
		assert_int_equal(chmod(f->path, 0), 0);
		assert_int_equal(try_connect(f->path, err, sizeof(err)),
		    TRANSPORT_DENIED);
		assert_string_equal(err, "permission denied");
	}
	close(fd);
}

static void
test_bad_paths(void **state)
{
	char	err[256], path[200];

	(void)state;
	memset(path, 'x', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	assert_int_equal(try_connect(path, err, sizeof(err)),
	    TRANSPORT_FAILED);
	assert_non_null(strstr(err, "longer than"));
	assert_int_equal(try_connect("", err, sizeof(err)), TRANSPORT_FAILED);
}

/* The same default the agent listens on. */
static void
test_default_path(void **state)
{
	char	*p;

	(void)state;
	setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
	p = transport_unix_default_path();
	if (geteuid() == 0)
		assert_string_equal(p, "/run/cube/agent.sock");
	else
		assert_string_equal(p, "/run/user/1000/cube/agent.sock");
	free(p);
	unsetenv("XDG_RUNTIME_DIR");
	p = transport_unix_default_path();
	assert_non_null(strstr(p, "agent.sock"));
	free(p);
}

/* A client falls back to the system agent's socket, and only then. */
static void
test_client_path(void **state)
{
	struct fixture	*f = *state;
	char		 sys[160], *p;
	int		 fd, sfd;

	snprintf(sys, sizeof(sys), "%s/system.sock", f->dir);
	/* Neither there: the user's, for the error to name. */
	p = transport_unix_pick(f->path, sys);
	assert_string_equal(p, f->path);
	free(p);
	/* Only the system's: that one. */
	sfd = bind_at(sys, 1);
	p = transport_unix_pick(f->path, sys);
	assert_string_equal(p, sys);
	free(p);
	/* The user's there too (even dead): the user's own agent wins. */
	fd = bind_at(f->path, 0);
	p = transport_unix_pick(f->path, sys);
	assert_string_equal(p, f->path);
	free(p);
	close(fd);
	/* A system path that is not a socket: not taken. */
	unlink(f->path);
	close(sfd);
	unlink(sys);
	fd = open(sys, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	p = transport_unix_pick(f->path, sys);
	assert_string_equal(p, f->path);
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_by_name),
		cmocka_unit_test_setup_teardown(test_connect_ok, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_socket, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_denied, setup, teardown),
		cmocka_unit_test(test_bad_paths),
		cmocka_unit_test(test_default_path),
		cmocka_unit_test_setup_teardown(test_client_path, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
