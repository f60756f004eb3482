/*
 * The unit tests' shared fixture (libssh's torture.c): a temporary
 * directory removed with everything in it, the vault and the store opened
 * there, and the domains and providers tests start from. Each function
 * fails the running test on an error instead of returning it.
 */
#ifndef FIXTURE_H
#define FIXTURE_H

#include <stddef.h>

struct store;
struct store_domain;
struct vault;

#define FIXTURE_DIR_MAX		64
#define FIXTURE_PROVIDER_URL	"http://127.0.0.1:8000/v1"

/* Make /tmp/cube-test-<name>.XXXXXX in dir (len at least FIXTURE_DIR_MAX). */
void		 fixture_dir_make(char *dir, size_t len, const char *name);
/* Remove dir and everything below it; a missing dir is not an error. */
void		 fixture_dir_remove(const char *dir);

/* The vault and the store of the data directory dir. */
struct vault	*fixture_vault_open(const char *dir);
struct store	*fixture_store_open(const char *dir);

/*
 * A domain keeping traces 30 days, created at 1000: inserted, or only
 * filled in (name not copied) for a test to change before it puts it.
 */
void		 fixture_domain(struct store *, const char *id,
		    const char *name);
void		 fixture_domain_init(struct store_domain *, const char *id,
		    const char *name);
void		 fixture_domain_put(struct store *, const struct store_domain *);

/*
 * An active provider created at 1001, its credential key sealed to vault
 * (key NULL: none). 0, or the store's STORE_* for tests of refusals.
 */
int		 fixture_provider(struct store *, const struct vault *,
		    const char *domain_id, const char *name,
		    const char *driver, const char *url, const char *key);

#endif
