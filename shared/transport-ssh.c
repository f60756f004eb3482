/*
 * The SSH transport: the agent's admin socket on another host, reached
 * through that host's sshd as a direct-streamlocal@openssh.com channel.
 * It rides on the operator's ssh setup (config, known_hosts, agent, keys)
 * and names the step that failed: resolve, connect, host key, auth,
 * channel open.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netdb.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libssh/libssh.h>

#include "sshconf.h"
#include "transport.h"
#include "xmalloc.h"

/* ConnectTimeout, unless the ssh config sets one; also bounds each step. */
#define TRANSPORT_SSH_TIMEOUT_S	15L
#define TRANSPORT_SSH_SYSTEM_CONFIG	"/etc/ssh/ssh_config"

struct transport_ssh {
	ssh_session	session;
	ssh_channel	channel;
};

/* The user's ~/.ssh/config, for what libssh does not read for us. */
static char *
transport_ssh_user_config(void)
{
	const char	*home = getenv("HOME");
	struct passwd	*pw;
	char		*path;

	if ((home == NULL || *home == '\0') &&
	    (pw = getpwuid(getuid())) != NULL)
		home = pw->pw_dir;
	if (home == NULL)
		return NULL;
	xasprintf(&path, "%s/.ssh/config", home);
	return path;
}

/* StrictHostKeyChecking for alias, from -F's file or ssh's usual two. */
static enum sshconf_strict
transport_ssh_strict(const struct transport_address *addr, const char *alias)
{
	enum sshconf_strict	 strict;
	char			*user;

	if (addr->ssh_config != NULL)
		return sshconf_strict(addr->ssh_config, alias);
	user = transport_ssh_user_config();
	strict = sshconf_strict(user, alias);
	free(user);
	if (strict == SSHCONF_STRICT_UNSET)
		strict = sshconf_strict(TRANSPORT_SSH_SYSTEM_CONFIG, alias);
	return strict;
}

/* Options from the target, then the ssh config, then -H's user and port. */
static int
transport_ssh_options(ssh_session s, const struct transport_address *addr,
    const struct sshconf_target *target, char *err, size_t errlen)
{
	long	timeout = TRANSPORT_SSH_TIMEOUT_S;

	if (ssh_options_set(s, SSH_OPTIONS_HOST, target->host) < 0 ||
	    ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &timeout) < 0) {
		snprintf(err, errlen, "ssh options: %s", ssh_get_error(s));
		return -1;
	}
	if (addr->ssh_config != NULL && access(addr->ssh_config, R_OK) != 0) {
		snprintf(err, errlen, "cannot read ssh config %s",
		    addr->ssh_config);
		return -1;
	}
	/* NULL reads ~/.ssh/config then /etc/ssh/ssh_config, as ssh does. */
	if (ssh_options_parse_config(s, addr->ssh_config) < 0) {
		snprintf(err, errlen, "ssh config %s: %s", addr->ssh_config ?
		    addr->ssh_config : "~/.ssh/config", ssh_get_error(s));
		return -1;
	}
	if ((target->user != NULL &&
	    ssh_options_set(s, SSH_OPTIONS_USER, target->user) < 0) ||
	    (target->port != 0 &&
	    ssh_options_set(s, SSH_OPTIONS_PORT, &target->port) < 0) ||
	    (addr->identity != NULL &&
	    ssh_options_set(s, SSH_OPTIONS_IDENTITY, addr->identity) < 0)) {
		snprintf(err, errlen, "ssh options: %s", ssh_get_error(s));
		return -1;
	}
	return 0;
}

/* Fail early and clearly on a name that does not resolve. */
static int
transport_ssh_resolve(ssh_session s, char *err, size_t errlen)
{
	struct addrinfo	 hints, *res;
	char		*host = NULL, *proxy = NULL;
	int		 rc;

	if (ssh_options_get(s, SSH_OPTIONS_PROXYCOMMAND, &proxy) == SSH_OK) {
		ssh_string_free_char(proxy);	/* the proxy resolves it */
		return 0;
	}
	if (ssh_options_get(s, SSH_OPTIONS_HOST, &host) != SSH_OK)
		return 0;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc != 0)
		snprintf(err, errlen, "cannot resolve %s: %s", host,
		    gai_strerror(rc));
	else
		freeaddrinfo(res);
	ssh_string_free_char(host);
	return rc == 0 ? 0 : -1;
}

/* "ED25519 key SHA256:..." of the server's host key, into buf. */
static void
transport_ssh_fingerprint(ssh_session s, char *buf, size_t len)
{
	ssh_key		 key = NULL;
	unsigned char	*hash = NULL;
	size_t		 hlen;
	char		*fp = NULL;

	snprintf(buf, len, "(unknown key)");
	if (ssh_get_server_publickey(s, &key) != SSH_OK)
		return;
	if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash,
	    &hlen) == SSH_OK &&
	    (fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash,
	    hlen)) != NULL)
		snprintf(buf, len, "%s key %s",
		    ssh_key_type_to_char(ssh_key_type(key)), fp);
	ssh_string_free_char(fp);
	ssh_clean_pubkey_hash(&hash);
	ssh_key_free(key);
}

/* How to trust a host after checking its fingerprint out of band. */
static void
transport_ssh_trust_hint(ssh_session s, char *buf, size_t len)
{
	char		*host = NULL;
	unsigned int	 port = 22;

	ssh_options_get_port(s, &port);
	if (ssh_options_get(s, SSH_OPTIONS_HOST, &host) != SSH_OK)
		host = NULL;
	snprintf(buf, len, "if that is the host's key, add it with"
	    " 'ssh-keyscan -p %u %s >> ~/.ssh/known_hosts' (or the"
	    " UserKnownHostsFile your ssh config names), or connect once"
	    " with ssh", port, host != NULL ? host : "HOST");
	ssh_string_free_char(host);
}

/*
 * Check the server's key against known_hosts. Unknown keys pass only with
 * StrictHostKeyChecking accept-new (or no), and are then recorded; a
 * changed key never passes.
 */
static int
transport_ssh_verify_host(struct transport *t, ssh_session s,
    enum sshconf_strict strict, const char *alias, char *err, size_t errlen)
{
	char		 fp[160], hint[512], name[512], *host = NULL;
	unsigned int	 port = 22;

	ssh_options_get_port(s, &port);
	if (ssh_options_get(s, SSH_OPTIONS_HOST, &host) != SSH_OK)
		host = NULL;
	if (host != NULL && strcmp(host, alias) != 0)
		snprintf(name, sizeof(name), "%s (%s port %u)", alias, host,
		    port);
	else
		snprintf(name, sizeof(name), "%s port %u", alias, port);
	ssh_string_free_char(host);
	transport_ssh_fingerprint(s, fp, sizeof(fp));
	switch (ssh_session_is_known_server(s)) {
	case SSH_KNOWN_HOSTS_OK:
		return 0;
	case SSH_KNOWN_HOSTS_CHANGED:
	case SSH_KNOWN_HOSTS_OTHER:
		t->status = TRANSPORT_HOSTKEY;
		snprintf(err, errlen, "host key for %s has CHANGED (now %s):"
		    " refusing to connect; someone may be intercepting the"
		    " connection. If the host was reinstalled, remove the old"
		    " key with 'ssh-keygen -R HOST' and check the new one",
		    name, fp);
		return -1;
	case SSH_KNOWN_HOSTS_NOT_FOUND:
	case SSH_KNOWN_HOSTS_UNKNOWN:
		if (strict == SSHCONF_STRICT_ACCEPT_NEW ||
		    strict == SSHCONF_STRICT_NO) {
			if (ssh_session_update_known_hosts(s) != SSH_OK) {
				snprintf(err, errlen, "cannot record the host"
				    " key of %s: %s", name, ssh_get_error(s));
				return -1;
			}
			return 0;
		}
		t->status = TRANSPORT_HOSTKEY;
		transport_ssh_trust_hint(s, hint, sizeof(hint));
		snprintf(err, errlen, "host key for %s is not known (%s):"
		    " refusing to connect; %s", name, fp, hint);
		return -1;
	default:
		snprintf(err, errlen, "cannot check the host key of %s: %s",
		    name, ssh_get_error(s));
		return -1;
	}
}

/* Public-key authentication: ssh-agent first, then the identity files. */
static int
transport_ssh_auth(struct transport *t, ssh_session s, const char *alias,
    char *err, size_t errlen)
{
	char	*user = NULL;
	int	 rc;

	rc = ssh_userauth_none(s, NULL);
	if (rc != SSH_AUTH_SUCCESS && rc != SSH_AUTH_ERROR)
		rc = ssh_userauth_publickey_auto(s, NULL, NULL);
	if (rc == SSH_AUTH_SUCCESS)
		return 0;
	if (rc == SSH_AUTH_ERROR) {
		snprintf(err, errlen, "authentication with %s failed: %s",
		    alias, ssh_get_error(s));
		return -1;
	}
	t->status = TRANSPORT_DENIED;
	if (ssh_options_get(s, SSH_OPTIONS_USER, &user) != SSH_OK)
		user = NULL;
	snprintf(err, errlen, "authentication refused for %s@%s (tried"
	    " ssh-agent and the identity files; is your key in the host's"
	    " authorized_keys?)", user != NULL ? user : "?", alias);
	ssh_string_free_char(user);
	return -1;
}

static int
transport_ssh_connect(struct transport *t,
    const struct transport_address *addr, char *err, size_t errlen)
{
	struct sshconf_target	 target;
	struct transport_ssh	*ts;
	ssh_session		 s;
	enum sshconf_strict	 strict;
	char			 why[512];
	unsigned int		 port = 22;

	if (addr->host == NULL || addr->path == NULL || *addr->path == '\0') {
		snprintf(err, errlen, "no host or socket path");
		return -1;
	}
	if (sshconf_parse_target(addr->host, &target, err, errlen) == -1)
		return -1;
	if ((s = ssh_new()) == NULL) {
		sshconf_target_clear(&target);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	ts = xcalloc(1, sizeof(*ts));
	ts->session = s;
	t->data = ts;

	if (transport_ssh_options(s, addr, &target, err, errlen) == -1 ||
	    transport_ssh_resolve(s, err, errlen) == -1)
		goto fail;
	if (ssh_connect(s) != SSH_OK) {
		ssh_options_get_port(s, &port);
		snprintf(err, errlen, "cannot connect to %s port %u: %s",
		    target.host, port, ssh_get_error(s));
		goto fail;
	}
	strict = transport_ssh_strict(addr, target.host);
	if (transport_ssh_verify_host(t, s, strict, target.host, err,
	    errlen) == -1 ||
	    transport_ssh_auth(t, s, target.host, err, errlen) == -1)
		goto fail;

	if ((ts->channel = ssh_channel_new(s)) == NULL) {
		snprintf(err, errlen, "ssh channel: %s", ssh_get_error(s));
		goto fail;
	}
	if (ssh_channel_open_forward_unix(ts->channel, addr->path,
	    "127.0.0.1", 0) != SSH_OK) {
		/* sshd says no more than "open failed": it cannot tell why. */
		t->status = TRANSPORT_MISSING;
		snprintf(why, sizeof(why), "%s", ssh_get_error(s));
		snprintf(err, errlen, "%s refused a channel to %s (%s)",
		    target.host, addr->path, why);
		goto fail;
	}
	sshconf_target_clear(&target);
	return 0;
fail:
	sshconf_target_clear(&target);
	t->ops->close(t);
	return -1;
}

static ssize_t
transport_ssh_read(struct transport *t, void *buf, size_t len,
    int timeout_ms, char *err, size_t errlen)
{
	struct transport_ssh	*ts = t->data;
	int64_t			 deadline = transport_deadline(timeout_ms);
	uint32_t		 want;
	int			 n, left;

	if (ts == NULL || ts->channel == NULL) {
		snprintf(err, errlen, "not connected");
		return TRANSPORT_ERROR;
	}
	want = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
	for (;;) {
		if ((left = transport_left(deadline)) == 0) {
			snprintf(err, errlen, "timed out");
			return TRANSPORT_TIMEOUT;
		}
		n = ssh_channel_read_timeout(ts->channel, buf, want, 0, left);
		if (n > 0)
			return n;
		if (n == SSH_ERROR) {
			snprintf(err, errlen, "read: %s",
			    ssh_get_error(ts->session));
			return TRANSPORT_ERROR;
		}
		/* 0 is end of file or a timeout; SSH_AGAIN a timeout. */
		if (ssh_channel_is_eof(ts->channel) ||
		    ssh_channel_is_closed(ts->channel))
			return TRANSPORT_EOF;
	}
}

static int
transport_ssh_write(struct transport *t, const void *buf, size_t len,
    int timeout_ms, char *err, size_t errlen)
{
	struct transport_ssh	*ts = t->data;
	const char		*p = buf;
	uint32_t		 chunk;
	int			 n;

	(void)timeout_ms;	/* the session timeout bounds blocking writes */
	if (ts == NULL || ts->channel == NULL) {
		snprintf(err, errlen, "not connected");
		return -1;
	}
	while (len > 0) {
		chunk = len > 65536 ? 65536 : (uint32_t)len;
		n = ssh_channel_write(ts->channel, p, chunk);
		if (n == SSH_ERROR || n < 0) {
			snprintf(err, errlen, "write: %s",
			    ssh_get_error(ts->session));
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

static void
transport_ssh_close(struct transport *t)
{
	struct transport_ssh	*ts = t->data;

	if (ts == NULL)
		return;
	if (ts->channel != NULL) {
		if (ssh_channel_is_open(ts->channel)) {
			ssh_channel_send_eof(ts->channel);
			ssh_channel_close(ts->channel);
		}
		ssh_channel_free(ts->channel);
	}
	if (ssh_is_connected(ts->session))
		ssh_disconnect(ts->session);
	ssh_free(ts->session);
	free(ts);
	t->data = NULL;
}

const struct transport_ops transport_ssh_ops = {
	.name = "ssh",
	.connect = transport_ssh_connect,
	.read = transport_ssh_read,
	.write = transport_ssh_write,
	.close = transport_ssh_close,
};
