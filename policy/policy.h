/*
 * policy.h - the policy language of /etc/keyward/policy.conf and
 * policy.d/NAME.conf (keyward-policy(5)): parsing, evaluation and the
 * resolution of granted secret patterns against the vault.
 *
 * Default deny: a request passes iff some allow rule matches and no deny
 * rule matches. exe=/exe_sha256= matchers only ever match when the request
 * comes from a trusted launcher.
 */
#ifndef KW_POLICY_H
#define KW_POLICY_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "kw_config.h"
#include "kw_error.h"
#include "kw_util.h"

struct kw_vault;
struct kw_policy;

enum kw_scope {
	KW_SCOPE_SESSION = 0,
	KW_SCOPE_USER = 1,
};

#define KW_RULE_REF_MAX (PATH_MAX + 16)	/* "file:line" */

/* Who is asking, as PAM or keyward explain sees it. */
struct kw_request {
	const char *user;		/* login name (required) */
	const char *const *groups;	/* primary + supplementary group names */
	size_t n_groups;
	const char *service;		/* PAM service, or NULL */
	const char *tty;		/* PAM_TTY, or NULL */
	const char *rhost;		/* PAM_RHOST, or NULL */
	time_t now;			/* evaluated in local time */
	const char *exe;		/* absolute path, trusted launcher only */
	const char *exe_sha256;		/* 64 lowercase hex, trusted launcher only */
	bool trusted_launcher;		/* service is in trusted_launchers */
};

/* A secret pattern granted by one matching allow rule. */
struct kw_grant_pattern {
	char pattern[KW_NAME_MAX + 1];	/* a name or a glob */
	uint64_t ttl;			/* rule's ttl= or default_ttl, capped by
					 * the end of the rule's time window */
	enum kw_scope scope;
	const char *rule;		/* file:line of the granting rule: one
					 * of the decision's matched[] */
};

/*
 * A concrete granted secret after resolution against the vault. rule
 * points into the decision it was resolved from: use a grant only while
 * that decision lives (file:line references are up to PATH_MAX long; a
 * copy in every grant made a 100-secret grant list 400 KiB of fresh pages).
 */
struct kw_grant {
	char name[KW_NAME_MAX + 1];
	uint64_t ttl;			/* effective: min(rule, secret max_ttl,
					 * window end, max_ttl) */
	enum kw_scope scope;
	const char *rule;		/* file:line: the decision's matched[] */
};

struct kw_decision {
	bool allow;
	char rule[KW_RULE_REF_MAX];	/* the deny rule that won, the first
					 * matching allow, or "default-deny" */
	char **matched;			/* file:line of every matching rule */
	size_t n_matched;
	struct kw_grant_pattern *patterns;
	size_t n_patterns;
	bool *matched_deny;		/* per matched rule: a deny rule */
};

/*
 * Load policy.conf and then policy.d/NAME.conf in lexical order (files are
 * trusted only after kw_safe_open() checks; a missing policy.conf is an
 * empty policy, i.e. deny all). Errors are "file:line: what is wrong".
 */
int kw_policy_load(const struct kw_config *cfg, struct kw_policy **out,
    struct kw_error *e);

/* An empty policy to parse texts into (fuzzers, tests). */
int kw_policy_new(struct kw_policy **out, struct kw_error *e);

/* Parse one file's text (as named) and append its rules. */
int kw_policy_parse(struct kw_policy *p, const char *name, const char *text,
    size_t len, struct kw_error *e);

/* Free a policy. NULL-safe. */
void kw_policy_free(struct kw_policy *p);

/* Evaluate a request. out must be freed with kw_decision_free(). */
int kw_policy_eval(const struct kw_policy *p, const struct kw_config *cfg,
    const struct kw_request *req, struct kw_decision *out,
    struct kw_error *e);

/* Free what kw_policy_eval() allocated. NULL-safe. */
void kw_decision_free(struct kw_decision *d);

/*
 * Resolve the decision's patterns against the vault: names and globs to the
 * secrets that exist, merged per secret (the union of grants; smallest ttl;
 * scope user only if every granting rule says user), ttl capped by the
 * secret's own max_ttl and cfg->max_ttl. A granted exact name missing from
 * the vault is KW_ENOTFOUND naming the rule (fail closed). *out is sorted
 * by name; free with free(). Its rule strings are d's: keep d until the
 * grants are no longer used.
 */
int kw_policy_resolve(const struct kw_decision *d, const struct kw_config *cfg,
    struct kw_vault *v, struct kw_grant **out, size_t *n_out,
    struct kw_error *e);

/*
 * True when some rule of p has a group= matcher: only then does a request
 * need the user's group names (a group database lookup per evaluation).
 */
bool kw_policy_uses_groups(const struct kw_policy *p);

/* Glob match of name against pattern with '*' and '?'. */
bool kw_glob_match(const char *pattern, const char *name);

/*
 * The group names of user for a request: the primary group and every
 * supplementary group (getpwnam_r, getgrouplist, getgrgid_r), without
 * duplicates; a group without a name appears as its decimal gid. An
 * unknown user is KW_ENOTFOUND. Free with kw_request_groups_free().
 */
int kw_request_groups(const char *user, char ***names, size_t *n,
    struct kw_error *e);

/* Free what kw_request_groups() returned. NULL-safe. */
void kw_request_groups_free(char **names, size_t n);

/*
 * SHA-256 of the file an executable path names, streamed through EVP, as
 * 64 lowercase hex digits and a NUL. The path is resolved with realpath(3)
 * first (symbolic links are followed on purpose: the hash is of what would
 * run); it must be a regular file.
 */
int kw_sha256_file(const char *path, char hex[65], struct kw_error *e);

/*
 * SHA-256 of the regular file open as fd (read from offset 0 with pread,
 * the descriptor's own offset untouched), as kw_sha256_file() gives it;
 * name is used in messages. Launchers hash and exec one descriptor so the
 * file cannot be swapped between the two.
 */
int kw_sha256_fd(int fd, const char *name, char hex[65], struct kw_error *e);

/*
 * Warnings of a loaded policy for 'keyward check': over-broad rules (an
 * allow without any matcher, secrets=*), secrets not in the vault v (when
 * v is not NULL), and rules that can never match (exe=/exe_sha256= without
 * a trusted launcher among their services, users or groups that do not
 * exist, ttl= over max_ttl). warn(where, message, arg) is called once per
 * warning, where being the rule's file:line. Returns 0 or a KW_E* code
 * (a vault that cannot be read).
 */
int kw_policy_lint(const struct kw_policy *p, const struct kw_config *cfg,
    struct kw_vault *v,
    void (*warn)(const char *where, const char *msg, void *arg), void *arg,
    struct kw_error *e);

/* Number of rules of a policy. */
size_t kw_policy_count(const struct kw_policy *p);

#endif /* KW_POLICY_H */
