/*
 * Where the agent's admin socket is: its default path and the one a client
 * reaches when none is named. Apart from the transport so that the agent,
 * which only needs its default, links no client transport (and no libssh).
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "transport.h"
#include "xmalloc.h"

char *
transport_unix_default_path(void)
{
	const char	*run = getenv("XDG_RUNTIME_DIR");
	char		*path;

	if (geteuid() == 0)
		return xstrdup("/run/cube/agent.sock");
	if (run != NULL && *run == '/')
		xasprintf(&path, "%s/cube/agent.sock", run);
	else
		xasprintf(&path, "/tmp/cube-%u/agent.sock", (unsigned)geteuid());
	return path;
}

char *
transport_unix_pick(const char *user, const char *system)
{
	struct stat	 st;

	if (lstat(user, &st) == -1 && errno == ENOENT &&
	    stat(system, &st) == 0 && S_ISSOCK(st.st_mode))
		return xstrdup(system);
	return xstrdup(user);
}

char *
transport_unix_client_path(void)
{
	char	*user = transport_unix_default_path(), *path;

	path = transport_unix_pick(user, TRANSPORT_SSH_DEFAULT_PATH);
	free(user);
	return path;
}
