/*
 * cubectl backup --to FILE: a copy of a running agent's database, fetched
 * in chunks (backup.begin, backup.read, backup.end), written to a temp
 * file beside FILE (mode 0600), checked against the agent's SHA-256,
 * fsynced and renamed into place.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "cubectl.h"
#include "log.h"
#include "rpc.h"
#include "xmalloc.h"

#define BACKUP_TIMEOUT_MS	(10 * 60 * 1000)	/* a large copy */
/* What one backup.read asks for: the agent's chunk_max, or less. */
#define BACKUP_CHUNK_MAX	(1024 * 1024)

/* What backup.begin said. */
struct cmd_backup {
	char		 id[65];
	int64_t		 size;
	int		 schema_version;
	char		 sha256[65];
};

static int
cmd_backup_begun(const cJSON *r, struct cmd_backup *b)
{
	const cJSON	*id, *size, *schema, *sha;

	id = cJSON_GetObjectItemCaseSensitive(r, "id");
	size = cJSON_GetObjectItemCaseSensitive(r, "size");
	schema = cJSON_GetObjectItemCaseSensitive(r, "schema_version");
	sha = cJSON_GetObjectItemCaseSensitive(r, "sha256");
	if (!cJSON_IsString(id) || strlen(id->valuestring) >= sizeof(b->id) ||
	    !cJSON_IsNumber(size) || size->valuedouble < 0 ||
	    size->valuedouble > 9e15 || !cJSON_IsNumber(schema) ||
	    !cJSON_IsString(sha) || strlen(sha->valuestring) != 64)
		return -1;
	snprintf(b->id, sizeof(b->id), "%s", id->valuestring);
	b->size = (int64_t)size->valuedouble;
	b->schema_version = schema->valueint;
	snprintf(b->sha256, sizeof(b->sha256), "%s", sha->valuestring);
	return 0;
}

static cJSON *
cmd_backup_params(const struct cmd_backup *b, int64_t offset)
{
	cJSON	*p;

	if ((p = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(p, "id", b->id) == NULL ||
	    (offset >= 0 && (cJSON_AddNumberToObject(p, "offset",
	    (double)offset) == NULL || cJSON_AddNumberToObject(p, "length",
	    BACKUP_CHUNK_MAX) == NULL)))
		fatalx("%s: out of memory", __func__);
	return p;
}

/* Write all of buf to fd; 0, or -1 with errno. */
static int
cmd_backup_write(int fd, const unsigned char *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Fetch the copy into fd, hashing it as it comes; hex gets the SHA-256.
 * An exit status, the error printed.
 */
static int
cmd_backup_fetch(struct cubectl *c, const struct cmd_backup *b, int fd,
    const char *tmp, char hex[65])
{
	const cJSON			*data, *off;
	crypto_hash_sha256_state	 st;
	cJSON				*r;
	unsigned char			*buf, md[crypto_hash_sha256_BYTES];
	size_t				 len, cap = BACKUP_CHUNK_MAX;
	int64_t				 offset = 0;
	int				 rc = EXIT_OK;

	buf = xmalloc(cap);
	crypto_hash_sha256_init(&st);
	while (offset < b->size) {
		if ((rc = client_call(c, "backup.read", cmd_backup_params(b,
		    offset), &r)) != EXIT_OK)
			break;
		data = cJSON_GetObjectItemCaseSensitive(r, "data");
		off = cJSON_GetObjectItemCaseSensitive(r, "offset");
		if (!cJSON_IsString(data) || !cJSON_IsNumber(off) ||
		    (int64_t)off->valuedouble != offset ||
		    sodium_base642bin(buf, cap, data->valuestring,
		    strlen(data->valuestring), NULL, &len, NULL,
		    sodium_base64_VARIANT_ORIGINAL) != 0 || len == 0 ||
		    (int64_t)len > b->size - offset) {
			output_error("backup.read: unexpected reply from the"
			    " agent at offset %lld", (long long)offset);
			cJSON_Delete(r);
			rc = EXIT_FAILED;
			break;
		}
		cJSON_Delete(r);
		if (cmd_backup_write(fd, buf, len) == -1) {
			output_error("%s: %s", tmp, strerror(errno));
			rc = EXIT_FAILED;
			break;
		}
		crypto_hash_sha256_update(&st, buf, len);
		offset += (int64_t)len;
	}
	if (rc == EXIT_OK) {
		crypto_hash_sha256_final(&st, md);
		sodium_bin2hex(hex, 65, md, sizeof(md));
	}
	free(buf);
	return rc;
}

static void
cmd_backup_sync_dir(const char *dir)
{
	int	fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		fsync(fd);
		close(fd);
	}
}

int
cmd_backup(struct cubectl *c, const struct cmd_entry *e,
    const struct args *a)
{
	const struct args_value	*to;
	struct cmd_backup	 b;
	struct stat		 st;
	cJSON			*r, *o;
	char			*copy, *dir, *tmp, hex[65];
	int			 fd, rc, begun = 0;

	(void)e;
	memset(&b, 0, sizeof(b));
	to = args_get(a, "--to");
	if (lstat(to->string, &st) == 0 && !args_has(a, "--force")) {
		output_error("%s exists; --force replaces it", to->string);
		return EXIT_FAILED;
	}
	if (lstat(to->string, &st) == 0 && !S_ISREG(st.st_mode)) {
		output_error("%s exists and is not a file", to->string);
		return EXIT_FAILED;
	}
	copy = xstrdup(to->string);
	dir = xstrdup(dirname(copy));
	free(copy);
	xasprintf(&tmp, "%s/.cube-backup.XXXXXX", dir);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		output_error("%s: cannot write there: %s", to->string,
		    strerror(errno));
		free(tmp);
		free(dir);
		return EXIT_FAILED;
	}
	if (c->timeout_ms >= 0 && c->timeout_ms < BACKUP_TIMEOUT_MS)
		c->timeout_ms = BACKUP_TIMEOUT_MS;

	if ((rc = client_call(c, "backup.begin", NULL, &r)) != EXIT_OK)
		goto out;
	begun = cmd_backup_begun(r, &b) == 0;
	cJSON_Delete(r);
	if (!begun) {
		output_error("backup.begin: unexpected reply from the agent");
		rc = EXIT_FAILED;
		goto out;
	}
	if ((rc = cmd_backup_fetch(c, &b, fd, tmp, hex)) != EXIT_OK)
		goto out;
	if (strcmp(hex, b.sha256) != 0) {
		output_error("the copy's SHA-256 is %s, the agent's %s: not"
		    " written", hex, b.sha256);
		rc = EXIT_FAILED;
		goto out;
	}
	if (fchmod(fd, 0600) == -1 || fsync(fd) == -1 || close(fd) == -1) {
		fd = -1;
		output_error("%s: %s", tmp, strerror(errno));
		rc = EXIT_FAILED;
		goto out;
	}
	fd = -1;
	if (rename(tmp, to->string) == -1) {
		output_error("%s: %s", to->string, strerror(errno));
		rc = EXIT_FAILED;
		goto out;
	}
	cmd_backup_sync_dir(dir);

	if (c->output == CUBECTL_JSON) {
		if ((o = cJSON_CreateObject()) == NULL ||
		    cJSON_AddStringToObject(o, "file", to->string) == NULL ||
		    cJSON_AddNumberToObject(o, "size", (double)b.size) ==
		    NULL || cJSON_AddNumberToObject(o, "schema_version",
		    b.schema_version) == NULL ||
		    cJSON_AddStringToObject(o, "sha256", b.sha256) == NULL)
			fatalx("%s: out of memory", __func__);
		output_json(o);
		cJSON_Delete(o);
	} else
		printf("backup          %s\nsize            %lld bytes\n"
		    "schema version  %d\nsha256          %s\n", to->string,
		    (long long)b.size, b.schema_version, b.sha256);
out:
	if (begun) {
		/* The agent removes its copy; it would at hang-up anyway. */
		if (client_call(c, "backup.end", cmd_backup_params(&b, -1),
		    &r) == EXIT_OK)
			cJSON_Delete(r);
	}
	if (fd != -1)
		close(fd);
	if (rc != EXIT_OK)
		unlink(tmp);
	free(tmp);
	free(dir);
	return rc;
}
