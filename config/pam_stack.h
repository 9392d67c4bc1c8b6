/*
 * pam_stack.h - the PAM service files of /etc/pam.d read the way libpam
 * reads them, to see where pam_keyward.so sits in each service's stack
 * (keyward check). Nothing here loads a module or changes a file.
 */
#ifndef KW_PAM_STACK_H
#define KW_PAM_STACK_H

#include <stdbool.h>
#include <stddef.h>

#include "kw_error.h"

/* libpam's configuration directory (fixed when libpam is built). */
#define KW_PAMD_DIR		"/etc/pam.d"
/* libpam refuses includes nested this deep (PAM_SUBSTACK_MAX_LEVEL). */
#define KW_PAM_MAX_DEPTH	16
/* Symbolic links followed to reach one file; each must stay in /etc. */
#define KW_PAM_MAX_LINKS	8
/* A pam.d file larger than this is not read. */
#define KW_PAM_FILE_MAX		(1024 * 1024)

/* The module type: the first field of a line. */
enum kw_pam_type {
	KW_PAM_NONE = 0,	/* @include, or a type libpam does not know */
	KW_PAM_AUTH,
	KW_PAM_ACCOUNT,
	KW_PAM_SESSION,
	KW_PAM_PASSWORD,
};

/* What a line does. */
enum kw_pam_kind {
	KW_PAM_MODULE,		/* TYPE CONTROL MODULE [ARGS...] */
	KW_PAM_INCLUDE,		/* TYPE include FILE */
	KW_PAM_SUBSTACK,	/* TYPE substack FILE */
	KW_PAM_AT_INCLUDE,	/* @include FILE (Debian): every type */
	KW_PAM_BROKEN,		/* a line libpam cannot use (no control,
				 * no module, unknown type) */
};

/* One logical line of a pam.d file. */
struct kw_pam_entry {
	unsigned line;		/* the physical line it starts on */
	enum kw_pam_kind kind;
	enum kw_pam_type type;
	char *target;		/* module path or included file, or NULL */
	char **args;		/* module arguments */
	size_t n_args;
};

/* A parsed pam.d file. */
struct kw_pam_file {
	struct kw_pam_entry *entries;
	size_t n;
	/* the file ends inside a line continued with '\': libpam then
	 * refuses the whole file; last_line is that line */
	bool truncated;
	unsigned last_line;
};

/*
 * Parse the text of a pam.d file (len bytes; text[len] need not be NUL)
 * into f (cleared on entry) as libpam does: '#' ends a line, a line whose
 * last non-blank character is '\' goes on on the next one, fields are
 * separated by blanks and "[...]" is one field (with "\]" for ']'), a
 * leading '-' on the type is dropped and types are case-insensitive, as
 * are the include/substack controls. Returns 0 or KW_ENOMEM. Never fails
 * on bad syntax: such lines are KW_PAM_BROKEN. Free with
 * kw_pam_file_free().
 */
int kw_pam_file_parse(const char *text, size_t len, struct kw_pam_file *f,
    struct kw_error *e);

/* Free what kw_pam_file_parse() allocated. NULL-safe. */
void kw_pam_file_free(struct kw_pam_file *f);

/*
 * Check every service file in ROOT/etc/pam.d (root NULL or "" for the
 * system), following @include, include and substack (at most
 * KW_PAM_MAX_DEPTH levels, cycles detected), for what keyward needs:
 * a pam_keyward.so session line must come after every pam_keyinit.so
 * line with the force argument, and a service with pam_keyward.so in its
 * session stack should have it in its account stack too. Each finding,
 * and each file that cannot be read, is given to warn(where, msg, arg):
 * where is "file:line" or a file, msg the text; the same finding reached
 * from several services is given once, naming them. Files are read with
 * kw_read_file() (root-owned, not group/other writable); symbolic links
 * are followed at most KW_PAM_MAX_LINKS times and only within ROOT/etc.
 * Editor and package-manager leftovers (dotfiles, *~, *.dpkg-*, *.ucf-*,
 * *.rpmnew, *.rpmsave, *.rpmorig, #*#) are not services. A missing
 * directory is no finding. Returns 0, or KW_ENOMEM / KW_ETOOBIG (a path
 * over PATH_MAX) with e set.
 */
int kw_pam_check(const char *root,
    void (*warn)(const char *where, const char *msg, void *arg), void *arg,
    struct kw_error *e);

#endif /* KW_PAM_STACK_H */
