/*
 * A consistent copy of the agent's database for backup.begin
 * (admin-backup.c), made with SQLite's online backup API on a connection
 * of its own, on an admin probe's thread: neither the admin loop nor the
 * request path (which never touches SQLite) waits for it. The copy is a
 * plain SQLite file in rollback-journal mode, checked with PRAGMA
 * integrity_check, then opened and unlinked: it lives as long as its
 * descriptor, so nothing is left behind whatever ends it.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

#define BACKUP_PREFIX		"cube.db.backup-"
#define BACKUP_STEP_PAGES	1024	/* between two looks at cancel */
#define BACKUP_BUSY_MS		5000

struct backup *
backup_new(const char *data_dir)
{
	struct backup	*b;

	b = xcalloc(1, sizeof(*b));
	b->dir = xstrdup(data_dir);
	b->fd = -1;
	b->schema_version = -1;
	return b;
}

void
backup_free(struct backup *b)
{
	if (b == NULL)
		return;
	if (b->fd != -1)
		close(b->fd);
	free(b->dir);
	free(b);
}

/* A failed SQLite call on db, said the way an operator can act on. */
static void
backup_sqlite_error(sqlite3 *db, int rc, const char *what, char *err,
    size_t errlen)
{
	if ((rc & 0xff) == SQLITE_FULL)
		snprintf(err, errlen, "%s: no space left on the data"
		    " directory's disk", what);
	else
		snprintf(err, errlen, "%s: %s", what, db != NULL ?
		    sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

/* One row of "ok" from PRAGMA integrity_check, else err says what not. */
int
backup_integrity(struct sqlite3 *db, char *err, size_t errlen)
{
	sqlite3_stmt	*stmt;
	const char	*text;
	int		 rc, ok = 0;

	if ((rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check(8)", -1,
	    &stmt, NULL)) != SQLITE_OK) {
		backup_sqlite_error(db, rc, "integrity check", err, errlen);
		return -1;
	}
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		text = (const char *)sqlite3_column_text(stmt, 0);
		ok = text != NULL && strcmp(text, "ok") == 0;
		if (!ok)
			snprintf(err, errlen, "integrity check failed: %.200s",
			    text != NULL ? text : "(no message)");
	} else
		backup_sqlite_error(db, rc, "integrity check", err, errlen);
	sqlite3_finalize(stmt);
	return ok ? 0 : -1;
}

/* Size and SHA-256 (hex) of what fd holds, read from its start. */
int
backup_digest(int fd, int64_t *size, char hex[65], char *err, size_t errlen)
{
	struct sha256		 h = { NULL };
	unsigned char		 buf[65536], md[SHA256_BYTES];
	int64_t			 total = 0;
	ssize_t			 n;
	int			 rc = -1;

	if (sha256_begin(&h) == -1) {
		snprintf(err, errlen, "SHA-256: out of memory");
		goto out;
	}
	for (;;) {
		n = pread(fd, buf, sizeof(buf), total);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errlen, "read: %s", strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		sha256_update(&h, buf, (size_t)n);
		total += n;
	}
	if (sha256_end(&h, md) == -1) {
		snprintf(err, errlen, "SHA-256 failed");
		goto out;
	}
	sodium_bin2hex(hex, 65, md, sizeof(md));
	*size = total;
	rc = 0;
out:
	sha256_free(&h);
	return rc;
}

/*
 * Copy the database into path: a read transaction is held on the source
 * for the whole copy, so the trace writer's commits meanwhile neither
 * show in it nor restart it (WAL readers see one snapshot).
 */
static int
backup_copy(const char *src_path, const char *path, const int *cancel,
    int *schema, char *err, size_t errlen)
{
	sqlite3		*src = NULL, *dst = NULL;
	sqlite3_backup	*bk = NULL;
	int		 rc, ret = -1;

	if ((rc = sqlite3_open_v2(src_path, &src, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL)) != SQLITE_OK) {
		backup_sqlite_error(src, rc, src_path, err, errlen);
		goto out;
	}
	sqlite3_busy_timeout(src, BACKUP_BUSY_MS);
	if ((rc = sqlite3_exec(src, "BEGIN; SELECT count(*) FROM"
	    " sqlite_schema", NULL, NULL, NULL)) != SQLITE_OK) {
		backup_sqlite_error(src, rc, src_path, err, errlen);
		goto out;
	}
	if ((rc = sqlite3_open_v2(path, &dst, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL)) != SQLITE_OK) {
		backup_sqlite_error(dst, rc, path, err, errlen);
		goto out;
	}
	sqlite3_busy_timeout(dst, BACKUP_BUSY_MS);
	if ((bk = sqlite3_backup_init(dst, "main", src, "main")) == NULL) {
		backup_sqlite_error(dst, sqlite3_errcode(dst), "backup", err,
		    errlen);
		goto out;
	}
	do {
		if (__atomic_load_n(cancel, __ATOMIC_RELAXED)) {
			snprintf(err, errlen, "cancelled");
			goto out;
		}
		rc = sqlite3_backup_step(bk, BACKUP_STEP_PAGES);
		if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
			sqlite3_sleep(10);
	} while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
	rc = sqlite3_backup_finish(bk);
	bk = NULL;
	if (rc != SQLITE_OK) {
		backup_sqlite_error(dst, rc, "backup", err, errlen);
		goto out;
	}
	sqlite3_exec(src, "COMMIT", NULL, NULL, NULL);
	/* A file of its own: no -wal beside it to go with it. */
	if ((rc = sqlite3_exec(dst, "PRAGMA journal_mode = DELETE", NULL, NULL,
	    NULL)) != SQLITE_OK) {
		backup_sqlite_error(dst, rc, "backup", err, errlen);
		goto out;
	}
	if (backup_integrity(dst, err, errlen) != 0)
		goto out;
	if ((*schema = store_db_schema_version(dst)) < 0) {
		backup_sqlite_error(dst, sqlite3_errcode(dst), "user_version",
		    err, errlen);
		goto out;
	}
	ret = 0;
out:
	if (bk != NULL)
		sqlite3_backup_finish(bk);
	if (dst != NULL && sqlite3_close(dst) != SQLITE_OK && ret == 0) {
		backup_sqlite_error(dst, sqlite3_errcode(dst), path, err,
		    errlen);
		ret = -1;
	}
	sqlite3_close(src);
	return ret;
}

int
backup_make(struct backup *b, const int *cancel, char *err, size_t errlen)
{
	char	*src_path, *path, *journal;
	int	 fd, rc = -1;

	xasprintf(&src_path, "%s/cube.db", b->dir);
	xasprintf(&path, "%s/" BACKUP_PREFIX "XXXXXX", b->dir);
	if ((fd = mkostemp(path, O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "a file for the copy in %s: %s", b->dir,
		    errno == ENOSPC ? "no space left on the data directory's"
		    " disk" : strerror(errno));
		free(path);
		free(src_path);
		return -1;
	}
	close(fd);	/* mode 0600; SQLite opens it again */
	xasprintf(&journal, "%s-journal", path);
	if (backup_copy(src_path, path, cancel, &b->schema_version, err,
	    errlen) != 0)
		goto out;
	if ((b->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (backup_digest(b->fd, &b->size, b->sha256, err, errlen) != 0) {
		close(b->fd);
		b->fd = -1;
		goto out;
	}
	rc = 0;
out:
	/* Open or not, the file goes: the descriptor keeps the copy. */
	unlink(journal);
	if (unlink(path) == -1)
		log_warn("backup: unlink %s", path);
	free(journal);
	free(path);
	free(src_path);
	return rc;
}

ssize_t
backup_read(const struct backup *b, int64_t offset, void *buf, size_t len)
{
	ssize_t	n;

	if (offset >= b->size)
		return 0;
	if ((int64_t)len > b->size - offset)
		len = (size_t)(b->size - offset);
	while ((n = pread(b->fd, buf, len, offset)) == -1 && errno == EINTR)
		;
	return n;
}

void
backup_sweep(const char *data_dir)
{
	struct dirent	*de;
	DIR		*d;
	int		 dfd;

	if ((d = opendir(data_dir)) == NULL)
		return;
	dfd = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, BACKUP_PREFIX, strlen(BACKUP_PREFIX))
		    != 0 && strncmp(de->d_name, "cube.db.restore-", 16) != 0)
			continue;
		if (unlinkat(dfd, de->d_name, 0) == 0)
			log_info("removed %s/%s, left by a backup or restore"
			    " that did not finish", data_dir, de->d_name);
	}
	closedir(d);
}
