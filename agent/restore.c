/*
 * cube-agent --restore FILE, run while no agent uses the data directory:
 * FILE is copied beside the database and checked there (an SQLite file,
 * PRAGMA integrity_check, a schema this agent knows), then renamed over
 * cube.db, the old one kept as cube.db.before-restore. Providers whose
 * sealed keys this host's vault cannot open are named, and marked errored
 * with why. Runs instead of the daemon, before any thread starts.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "agent.h"
#include "store.h"
#include "log.h"
#include "xmalloc.h"

#define RESTORE_RESEAL	"key sealed on another host; " RESEAL_ADVICE

/* Does anything hold a lock in [start, start + len) of path? */
static int
restore_locked(const char *path, off_t start, off_t len)
{
	struct flock	fl;
	int		fd, held;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return 0;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = start;
	fl.l_len = len;
	held = fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
	close(fd);
	return held;
}

int
restore_preflight(const struct agent_config *cfg, char *err, size_t errlen)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	struct passwd		*pw;
	char			*path;
	int			 fd, up = 0, held;

	/* The agent reads only key files of its own uid (dir.c). */
	if (stat(cfg->data_dir, &st) == 0 && st.st_uid != geteuid()) {
		pw = getpwuid(st.st_uid);
		snprintf(err, errlen, "%s belongs to %s (uid %u): run the"
		    " restore as the agent's user (sudo -u %s cube-agent ..."
		    " --restore FILE)", cfg->data_dir, pw != NULL ?
		    pw->pw_name : "another user", (unsigned)st.st_uid,
		    pw != NULL ? pw->pw_name : "USER");
		return -1;
	}

	if (cfg->admin_socket != NULL && strlen(cfg->admin_socket) <
	    sizeof(sun.sun_path) && (fd = socket(AF_UNIX, SOCK_STREAM |
	    SOCK_CLOEXEC, 0)) != -1) {
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		memcpy(sun.sun_path, cfg->admin_socket,
		    strlen(cfg->admin_socket));
		up = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
		close(fd);
	}
	if (up) {
		snprintf(err, errlen, "an agent is running: it answers on %s;"
		    " stop it first", cfg->admin_socket);
		return -1;
	}
	/*
	 * Every connection to a WAL database holds a read lock on the
	 * -shm file's DMS byte (128) for as long as it is open; a writer
	 * holds the lock bytes before it. Rollback mode: the lock bytes
	 * at 1 GiB of the database itself.
	 */
	xasprintf(&path, "%s/cube.db-shm", cfg->data_dir);
	held = restore_locked(path, 120, 9);
	free(path);
	xasprintf(&path, "%s/cube.db", cfg->data_dir);
	held = held || restore_locked(path, 0x40000000, 512 + 2);
	if (held)
		snprintf(err, errlen, "%s is in use by another process (an"
		    " agent with another admin socket?); stop it first", path);
	free(path);
	return held ? -1 : 0;
}

/*
 * FILE's header: an SQLite database, and not shorter than its header
 * says (a cut copy). Reads the first 100 bytes of fd.
 */
static int
restore_check_header(int fd, const char *file, off_t size, char *err,
    size_t errlen)
{
	unsigned char	h[100];
	uint32_t	pagesize, pages, counter, valid_for;
	ssize_t		n;

	if (size < (off_t)sizeof(h) || (n = pread(fd, h, sizeof(h), 0)) !=
	    (ssize_t)sizeof(h) || memcmp(h, "SQLite format 3", 16) != 0) {
		snprintf(err, errlen, "%s: not an SQLite database", file);
		return -1;
	}
	pagesize = (uint32_t)h[16] << 8 | h[17];
	if (pagesize == 1)
		pagesize = 65536;
	if (pagesize < 512 || (pagesize & (pagesize - 1)) != 0) {
		snprintf(err, errlen, "%s: not an SQLite database (page size"
		    " %u)", file, pagesize);
		return -1;
	}
	pages = (uint32_t)h[28] << 24 | (uint32_t)h[29] << 16 |
	    (uint32_t)h[30] << 8 | h[31];
	counter = (uint32_t)h[24] << 24 | (uint32_t)h[25] << 16 |
	    (uint32_t)h[26] << 8 | h[27];
	valid_for = (uint32_t)h[92] << 24 | (uint32_t)h[93] << 16 |
	    (uint32_t)h[94] << 8 | h[95];
	if (size % pagesize != 0 || (counter == valid_for && pages > 0 &&
	    (uint64_t)size < (uint64_t)pages * pagesize)) {
		snprintf(err, errlen, "%s: truncated: %lld bytes, where its"
		    " header says %llu", file, (long long)size,
		    (unsigned long long)pages * pagesize);
		return -1;
	}
	return 0;
}

/* Copy fd (from its start) into the new file tmpfd, then fsync it. */
static int
restore_copy(int fd, int tmpfd, const char *tmp, char *err, size_t errlen)
{
	unsigned char	buf[65536];
	ssize_t		n, w, off;

	for (;;) {
		if ((n = read(fd, buf, sizeof(buf))) == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errlen, "read: %s", strerror(errno));
			return -1;
		}
		if (n == 0)
			break;
		for (off = 0; off < n; off += w)
			if ((w = write(tmpfd, buf + off, n - off)) == -1 &&
			    errno != EINTR) {
				snprintf(err, errlen, "%s: %s", tmp, errno ==
				    ENOSPC ? "no space left on the data"
				    " directory's disk" : strerror(errno));
				return -1;
			} else if (w == -1)
				w = 0;
	}
	if (fsync(tmpfd) == -1) {
		snprintf(err, errlen, "%s: fsync: %s", tmp, strerror(errno));
		return -1;
	}
	return 0;
}

/* A list of "domain/provider" names, for the summary. */
struct restore_names {
	char	**names;
	size_t	  n;
};

/*
 * The restored copy, open: integrity, schema, then the providers whose
 * key does not open here, named in *out and marked errored.
 */
static int
restore_check_db(sqlite3 *db, const char *file, const struct vault *vault,
    int *schema, struct restore_names *out, char *err, size_t errlen)
{
	sqlite3_stmt	*sel = NULL, *upd = NULL;
	const void	*blob;
	char		 why[512];
	int		 rc, n, ret = -1;

	if (backup_integrity(db, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "%s: %s", file, why);
		return -1;
	}
	*schema = store_db_schema_version(db);
	if (*schema > STORE_SCHEMA_VERSION) {
		snprintf(err, errlen, "%s: schema version %d is newer than"
		    " this agent's (%d); restore it with a newer cube-agent",
		    file, *schema, STORE_SCHEMA_VERSION);
		return -1;
	}
	if (*schema < 1 || sqlite3_prepare_v2(db, "SELECT p.domain_id,"
	    " d.name, p.name, p.credential FROM providers p JOIN domains d"
	    " ON d.id = p.domain_id WHERE p.credential IS NOT NULL ORDER BY"
	    " d.name, p.name", -1, &sel, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: not a Cube database (schema version"
		    " %d, no providers and domains tables)", file, *schema);
		goto out;
	}
	if (sqlite3_prepare_v2(db, "UPDATE providers SET status = 'errored',"
	    " error = ?1 WHERE domain_id = ?2 AND name = ?3", -1, &upd,
	    NULL) != SQLITE_OK || sqlite3_exec(db, "BEGIN IMMEDIATE", NULL,
	    NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", file, sqlite3_errmsg(db));
		goto out;
	}
	while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
		blob = sqlite3_column_blob(sel, 3);
		n = sqlite3_column_bytes(sel, 3);
		if (blob != NULL && vault_opens(vault, blob, (size_t)n))
			continue;
		out->names = xreallocarray(out->names, out->n + 1,
		    sizeof(*out->names));
		xasprintf(&out->names[out->n++], "%s/%s",
		    (const char *)sqlite3_column_text(sel, 1),
		    (const char *)sqlite3_column_text(sel, 2));
		sqlite3_bind_text(upd, 1, RESTORE_RESEAL, -1, SQLITE_STATIC);
		sqlite3_bind_value(upd, 2, sqlite3_column_value(sel, 0));
		sqlite3_bind_value(upd, 3, sqlite3_column_value(sel, 2));
		if (sqlite3_step(upd) != SQLITE_DONE)
			break;
		sqlite3_reset(upd);
	}
	if (rc != SQLITE_DONE || sqlite3_exec(db, "COMMIT", NULL, NULL,
	    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", file, sqlite3_errmsg(db));
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	return ret;
}

/* fsync a directory, so that renames in it last. */
static void
restore_sync_dir(const char *dir)
{
	int	fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return;
	if (fsync(fd) == -1)
		log_warn("fsync %s", dir);
	close(fd);
}

/*
 * Keep the current database as cube.db.before-restore, whole: its WAL
 * checkpointed into it first (else moved along as the copy's -wal).
 * cube.db stays in place (a hard link); its -wal and -shm are gone
 * after. 1 when there was one, 0 when not, -1 with err.
 */
static int
restore_keep_old(const char *dir, char *err, size_t errlen)
{
	sqlite3		*db = NULL;
	struct stat	 st;
	char		*cur, *cur_wal, *cur_shm, *old, *old_wal, *old_shm;
	int		 ret = -1;

	xasprintf(&cur, "%s/cube.db", dir);
	xasprintf(&cur_wal, "%s/cube.db-wal", dir);
	xasprintf(&cur_shm, "%s/cube.db-shm", dir);
	xasprintf(&old, "%s/cube.db.before-restore", dir);
	xasprintf(&old_wal, "%s/cube.db.before-restore-wal", dir);
	xasprintf(&old_shm, "%s/cube.db.before-restore-shm", dir);
	if (lstat(cur, &st) == -1 && errno == ENOENT) {
		ret = 0;
		goto out;
	}
	/*
	 * Everything committed into the file itself first: no agent runs,
	 * so this succeeds unless the file is broken, and then it stays.
	 */
	if (sqlite3_open_v2(cur, &db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK || (sqlite3_busy_timeout(db, 2000),
	    sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL,
	    NULL)) != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot checkpoint it before keeping"
		    " it: %s", cur, db != NULL ? sqlite3_errmsg(db) :
		    "out of memory");
		sqlite3_close(db);
		goto out;
	}
	sqlite3_close(db);
	unlink(old_wal);
	unlink(old_shm);
	if ((unlink(old) == -1 && errno != ENOENT) || link(cur, old) == -1) {
		snprintf(err, errlen, "cannot keep the current database as %s:"
		    " %s", old, strerror(errno));
		goto out;
	}
	if (rename(cur_wal, old_wal) == -1 && errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", cur_wal, strerror(errno));
		goto out;
	}
	unlink(cur_shm);
	restore_sync_dir(dir);
	ret = 1;
out:
	free(cur);
	free(cur_wal);
	free(cur_shm);
	free(old);
	free(old_wal);
	free(old_shm);
	return ret;
}

int
restore_run(const struct agent_config *cfg, const struct vault *vault,
    const char *file)
{
	struct restore_names	 reseal = { NULL, 0 };
	struct stat		 st;
	sqlite3			*db = NULL;
	const char		*dir = cfg->data_dir;
	char			*tmp = NULL, *dst = NULL, err[1024], sha[65];
	int64_t			 size;
	int			 fd = -1, tmpfd = -1, schema = -1, kept = 0, rc = 1;
	size_t			 i;

	if (restore_preflight(cfg, err, sizeof(err)) != 0)
		goto fail;
	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, sizeof(err), "%s: %s", file, strerror(errno));
		goto fail;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, sizeof(err), "%s: not a regular file", file);
		goto fail;
	}
	if (restore_check_header(fd, file, st.st_size, err, sizeof(err)) != 0)
		goto fail;

	/* Checked as it will be used: the copy beside the database. */
	xasprintf(&tmp, "%s/cube.db.restore-XXXXXX", dir);
	if ((tmpfd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		snprintf(err, sizeof(err), "a file in %s: %s", dir,
		    strerror(errno));
		free(tmp);
		tmp = NULL;
		goto fail;
	}
	/* What is checked from here on is the copy, whatever FILE does. */
	if (restore_copy(fd, tmpfd, tmp, err, sizeof(err)) != 0 ||
	    backup_digest(tmpfd, &size, sha, err, sizeof(err)) != 0 ||
	    restore_check_header(tmpfd, file, (off_t)size, err,
	    sizeof(err)) != 0)
		goto fail;
	if (sqlite3_open_v2(tmp, &db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK) {
		snprintf(err, sizeof(err), "%s: %s", file, sqlite3_errmsg(db));
		goto fail;
	}
	sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_exec(db, "PRAGMA trusted_schema = OFF", NULL, NULL, NULL);
	if (restore_check_db(db, file, vault, &schema, &reseal, err,
	    sizeof(err)) != 0)
		goto fail;
	if (sqlite3_close(db) != SQLITE_OK) {
		snprintf(err, sizeof(err), "%s: %s", tmp, sqlite3_errmsg(db));
		db = NULL;
		goto fail;
	}
	db = NULL;
	if (fsync(tmpfd) == -1) {
		snprintf(err, sizeof(err), "%s: fsync: %s", tmp,
		    strerror(errno));
		goto fail;
	}

	/* Now the swap: the old database whole, then the new in its place. */
	if ((kept = restore_keep_old(dir, err, sizeof(err))) == -1)
		goto fail;
	xasprintf(&dst, "%s/cube.db", dir);
	if (rename(tmp, dst) == -1) {
		snprintf(err, sizeof(err), "rename %s to %s: %s", tmp, dst,
		    strerror(errno));
		goto fail;
	}
	restore_sync_dir(dir);
	free(tmp);
	tmp = NULL;

	printf("restored %s: schema version %d, %lld bytes, sha256 %s\n",
	    file, schema, (long long)size, sha);
	printf("into %s", dst);
	if (schema < STORE_SCHEMA_VERSION)
		printf(" (the agent migrates it to schema version %d when it"
		    " starts)", STORE_SCHEMA_VERSION);
	printf("\n");
	if (kept)
		printf("the database it replaces is kept as"
		    " %s/cube.db.before-restore\n", dir);
	if (reseal.n > 0) {
		printf("%zu provider key%s cannot be opened here (the agent's"
		    " keys are not in a backup); the provider%s stay%s"
		    " errored until sealed again:\n", reseal.n, reseal.n == 1 ?
		    "" : "s", reseal.n == 1 ? "" : "s", reseal.n == 1 ? "s" :
		    "");
		for (i = 0; i < reseal.n; i++)
			printf("%s: key sealed on another host; seal it again"
			    " with cubectl apply (api_key_file/api_key_env) or"
			    " cubectl provider edit -d %.*s %s --api-key-file"
			    " FILE\n", reseal.names[i],
			    (int)strcspn(reseal.names[i], "/"),
			    reseal.names[i], strchr(reseal.names[i], '/') + 1);
		printf("API tokens are checked with %s/token.key: those of the"
		    " backup work only if that file came from the same"
		    " agent\n", dir);
	}
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "cube-agent: restore refused: %s\n", err);
	if (kept == 1)	/* checkpointed, linked aside: still in place */
		fprintf(stderr, "cube-agent: %s/cube.db is as it was (also"
		    " linked as cube.db.before-restore)\n", dir);
	else
		fprintf(stderr, "cube-agent: nothing in %s was changed\n",
		    dir);
out:
	if (db != NULL)
		sqlite3_close(db);
	if (tmp != NULL)
		unlink(tmp);
	free(tmp);
	if (tmpfd != -1)
		close(tmpfd);
	if (fd != -1)
		close(fd);
	for (i = 0; i < reseal.n; i++)
		free(reseal.names[i]);
	free(reseal.names);
	free(dst);
	return rc;
}
