/*
 * The small parts of ssh's command line and configuration that libssh
 * does not give us: the [user@]host[:port] target cubectl takes with -H,
 * and StrictHostKeyChecking's accept-new, which libssh cannot parse.
 */
#ifndef CUBE_SSHCONF_H
#define CUBE_SSHCONF_H

#include <stddef.h>

/* A parsed -H argument. port is 0 when not given. */
struct sshconf_target {
	char	*user;		/* NULL when not given */
	char	*host;		/* never NULL */
	int	 port;
};

/*
 * Parse "[user@]host[:port]" ("[v6addr]:port" too) into *t. Returns 0, or
 * -1 with a reason in err. The caller owns the strings in *t; free them
 * with sshconf_target_clear().
 */
int	 sshconf_parse_target(const char *, struct sshconf_target *,
	    char *err, size_t errlen);
/* Free what *t holds; safe on a zeroed or already cleared target. */
void	 sshconf_target_clear(struct sshconf_target *);

/* What to do with a host key known_hosts does not have. */
enum sshconf_strict {
	SSHCONF_STRICT_UNSET = 0,	/* no setting: ssh's default, ask */
	SSHCONF_STRICT_YES,		/* refuse */
	SSHCONF_STRICT_ASK,		/* refuse: nobody to ask here */
	SSHCONF_STRICT_ACCEPT_NEW,	/* record it and go on */
	SSHCONF_STRICT_NO,		/* as accept-new: never more lenient */
};

/*
 * StrictHostKeyChecking for the host alias (as given on the command line)
 * in the ssh config file at path: the first value of a matching Host
 * section wins, as in ssh. Match sections and Include are not followed, so
 * what they would set stays at the stricter default. A missing file is
 * SSHCONF_STRICT_UNSET.
 */
enum sshconf_strict	 sshconf_strict(const char *path, const char *alias);

#endif
