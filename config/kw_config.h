/*
 * config.h - keyward.conf settings and the paths of an installation.
 *
 * Every other file is found from keyward.conf: its directory holds
 * policy.conf, policy.d/, master.key and audit.key; the vault and the
 * live-delivery registry are where keyward.conf's vault= and run_dir= say
 * (defaults: the configured localstatedir and runstatedir).
 */
#ifndef KW_CONFIG_H
#define KW_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "kw_error.h"

enum kw_audit_mode {
	KW_AUDIT_REQUIRED = 0,
	KW_AUDIT_BEST_EFFORT = 1,
};

#define KW_CONFIG_MAX_LAUNCHERS 16
#define KW_CONFIG_MAX_BYTES (64 * 1024)
#define KW_LINE_MAX 4096

struct kw_config {
	char path[PATH_MAX];		/* keyward.conf */
	char etc_dir[PATH_MAX];		/* its directory */
	char policy[PATH_MAX];		/* etc_dir/policy.conf */
	char policy_d[PATH_MAX];	/* etc_dir/policy.d */
	char master_key[PATH_MAX];	/* etc_dir/master.key */
	char audit_key[PATH_MAX];	/* etc_dir/audit.key */
	char vault[PATH_MAX];		/* vault= */
	char run_dir[PATH_MAX];		/* run_dir= */
	enum kw_audit_mode audit;	/* audit= */
	char *trusted_launchers[KW_CONFIG_MAX_LAUNCHERS];
	unsigned n_trusted_launchers;
	uint64_t default_ttl;		/* seconds */
	uint64_t max_ttl;		/* seconds */
};

/* Default path of keyward.conf (SYSCONFDIR/keyward/keyward.conf). */
const char *kw_config_default_path(void);

/*
 * Fill cfg with built-in defaults for a keyward.conf at path (derives the
 * etc_dir paths; vault and run_dir from the configured state dirs, under
 * root if root is non-NULL). No file is read.
 */
int kw_config_defaults(struct kw_config *cfg, const char *path,
    const char *root, struct kw_error *e);

/*
 * Read keyward.conf at path (NULL: the default path) after kw_safe_open()
 * checks and apply it over the defaults. A missing file is KW_ENOTFOUND.
 * Errors are "path:line: what is wrong". Call kw_config_free() after.
 */
int kw_config_load(struct kw_config *cfg, const char *path,
    struct kw_error *e);

/*
 * Parse keyward.conf text (len bytes, NUL bytes are errors) as if read
 * from file name; used by kw_config_load() and by the fuzzers.
 */
int kw_config_parse(struct kw_config *cfg, const char *name,
    const char *text, size_t len, struct kw_error *e);

/*
 * Apply one setting key=value to cfg. Shared by the file parser and by the
 * PAM module's options. Errors have no location; callers prefix it.
 */
int kw_config_set(struct kw_config *cfg, const char *key, const char *value,
    struct kw_error *e);

/* True when service is listed in trusted_launchers. */
bool kw_config_is_trusted_launcher(const struct kw_config *cfg,
    const char *service);

/* Free what kw_config_load()/kw_config_set() allocated. */
void kw_config_free(struct kw_config *cfg);

/*
 * Split a text into logical lines for the line-based parsers: strips '#'
 * comments and blanks at both ends, joins lines ending in '\' (only when
 * join_continuations), refuses NUL bytes, CR characters and lines over
 * KW_LINE_MAX. Calls fn(line, lineno, arg) for each non-empty logical line
 * (lineno = its first physical line); stops at the first non-zero return.
 * Errors are "name:line: what is wrong".
 */
int kw_text_lines(const char *name, const char *text, size_t len,
    bool join_continuations,
    int (*fn)(char *line, unsigned lineno, void *arg, struct kw_error *e),
    void *arg, struct kw_error *e);

#endif /* KW_CONFIG_H */
