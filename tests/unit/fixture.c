/* The unit tests' shared fixture: temporary data directories and rows. */
#include <sys/stat.h>

#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "agent.h"
#include "store.h"
#include "fixture.h"

void
fixture_dir_make(char *dir, size_t len, const char *name)
{
	assert_true(len >= FIXTURE_DIR_MAX);
	assert_true((size_t)snprintf(dir, len, "/tmp/cube-test-%s.XXXXXX",
	    name) < len);
	if (mkdtemp(dir) == NULL)
		fail_msg("mkdtemp %s: %s", dir, strerror(errno));
}

static int
fixture_remove_one(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void
fixture_dir_remove(const char *dir)
{
	if (nftw(dir, fixture_remove_one, 16, FTW_DEPTH | FTW_PHYS) == -1 &&
	    errno != ENOENT)
		fail_msg("remove %s: %s", dir, strerror(errno));
}

struct vault *
fixture_vault_open(const char *dir)
{
	struct vault	*v;
	char		 err[256];

	if ((v = vault_open(dir, err, sizeof(err))) == NULL)
		fail_msg("vault_open: %s", err);
	return v;
}

struct store *
fixture_store_open(const char *dir)
{
	struct store	*s;
	char		 err[256];

	if ((s = store_open(dir, err, sizeof(err))) == NULL)
		fail_msg("store_open: %s", err);
	return s;
}

void
fixture_domain_put(struct store *s, const struct store_domain *d)
{
	char	err[256];

	if (store_domain_insert(s, d, err, sizeof(err)) != 0)
		fail_msg("insert domain %s: %s", d->name, err);
}

void
fixture_domain_init(struct store_domain *d, const char *id, const char *name)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->id, sizeof(d->id), "%s", id);
	d->name = (char *)name;
	d->trace_retention_days = 30;
	d->created_at = 1000;
}

void
fixture_domain(struct store *s, const char *id, const char *name)
{
	struct store_domain	d;

	fixture_domain_init(&d, id, name);
	fixture_domain_put(s, &d);
}

int
fixture_provider(struct store *s, const struct vault *v,
    const char *domain_id, const char *name, const char *driver,
    const char *url, const char *key)
{
	struct store_provider	p;
	unsigned char		sealed[256];
	char			err[256];

	memset(&p, 0, sizeof(p));
	snprintf(p.domain_id, sizeof(p.domain_id), "%s", domain_id);
	p.name = (char *)name;
	p.driver = (char *)driver;
	p.url = (char *)url;
	p.status = (char *)"active";
	p.created_at = 1001;
	if (key != NULL) {
		assert_non_null(v);
		assert_true(strlen(key) + crypto_box_SEALBYTES <=
		    sizeof(sealed));
		assert_int_equal(crypto_box_seal(sealed, (const unsigned char *)
		    key, strlen(key), vault_seal_public_key(v)), 0);
		p.credential = sealed;
		p.credential_len = strlen(key) + crypto_box_SEALBYTES;
	}
	return store_provider_insert(s, &p, err, sizeof(err));
}
