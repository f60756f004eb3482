/*
 * Byte-stream transports to the agent's admin socket: a small vtable chosen
 * by name ("unix", or "ssh": a direct-streamlocal channel through the
 * host's sshd), so the JSON-RPC client does not care how the bytes travel.
 */
#ifndef CUBE_TRANSPORT_H
#define CUBE_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* What a connect failure was, so callers can say what to do about it. */
enum transport_status {
	TRANSPORT_OK = 0,
	TRANSPORT_MISSING,	/* no such socket (or a directory on its path) */
	TRANSPORT_REFUSED,	/* the socket exists, nobody listens */
	TRANSPORT_DENIED,	/* permission denied, authentication refused */
	TRANSPORT_HOSTKEY,	/* the host's key is unknown or changed */
	TRANSPORT_FAILED,	/* anything else */
};

/* transport_read's results besides a byte count. */
#define TRANSPORT_EOF		0
#define TRANSPORT_ERROR		-1
#define TRANSPORT_TIMEOUT	-2

/*
 * Where to connect. path is the agent's socket (on the remote host for
 * remote transports); host, ssh_config and identity are for SSH and may be
 * NULL. The strings are borrowed for the duration of the connect call.
 */
struct transport_address {
	const char	*path;
	const char	*host;
	const char	*ssh_config;
	const char	*identity;
};

struct transport;

/*
 * One transport implementation. connect returns 0, or -1 with a message
 * and t->status set. read returns a byte count, TRANSPORT_EOF,
 * TRANSPORT_ERROR or TRANSPORT_TIMEOUT; write sends everything or returns
 * -1 (TRANSPORT_TIMEOUT when the peer does not drain in time). timeout_ms
 * < 0 waits forever. close releases the connection and t->data.
 */
struct transport_ops {
	const char	*name;
	int		 (*connect)(struct transport *,
			    const struct transport_address *, char *, size_t);
	ssize_t		 (*read)(struct transport *, void *, size_t, int,
			    char *, size_t);
	int		 (*write)(struct transport *, const void *, size_t, int,
			    char *, size_t);
	void		 (*close)(struct transport *);
};

struct transport {
	const struct transport_ops	*ops;
	void				*data;	/* the implementation's state */
	enum transport_status		 status;	/* of the last connect */
};

/*
 * A transport of the named kind ("unix", "ssh"), not yet connected, or NULL when
 * there is no such kind. Caller owns it; free with transport_free().
 */
struct transport	*transport_new(const char *name);
/* Close and free; transport_free(NULL) is a no-op. */
void			 transport_free(struct transport *);

/*
 * Connect to addr. Returns 0, or -1 with a short reason in err ("no such
 * file", "connection refused", "permission denied") and the kind of failure
 * in t->status.
 */
int	 transport_connect(struct transport *, const struct transport_address *,
	    char *err, size_t errlen);
/* Read up to len bytes, waiting at most timeout_ms; see struct transport_ops. */
ssize_t	 transport_read(struct transport *, void *buf, size_t len,
	    int timeout_ms, char *err, size_t errlen);
/* Write all len bytes within timeout_ms. Returns 0, -1 or TRANSPORT_TIMEOUT. */
int	 transport_write(struct transport *, const void *buf, size_t len,
	    int timeout_ms, char *err, size_t errlen);

/*
 * Deadlines for the blocking calls above: transport_deadline(timeout_ms)
 * is a CLOCK_MONOTONIC time in ms (-1: none, for timeout_ms < 0), and
 * transport_left() the ms until it (-1: no deadline; never negative).
 */
int64_t	 transport_deadline(int timeout_ms);
int	 transport_left(int64_t deadline);

/* transport-unix.c */
extern const struct transport_ops transport_unix_ops;

/* socket-path.c */
/*
 * The agent's default admin socket, as the agent computes it:
 * /run/cube/agent.sock for root, else $XDG_RUNTIME_DIR/cube/agent.sock,
 * else /tmp/cube-UID/agent.sock. Caller owns the result; free with free().
 */
char	*transport_unix_default_path(void);
/*
 * The socket a client reaches when none is named: the default above,
 * unless nothing is there and the system agent's is (an operator in
 * group cube on a host where the packaged service runs).
 */
char	*transport_unix_client_path(void);
/* That choice, between user and system (for tests): a copy of one. */
char	*transport_unix_pick(const char *user, const char *system);

/* transport-ssh.c */
extern const struct transport_ops transport_ssh_ops;

/* The socket -H reaches when none is named: a system agent's, as root. */
#define TRANSPORT_SSH_DEFAULT_PATH	"/run/cube/agent.sock"

#endif
