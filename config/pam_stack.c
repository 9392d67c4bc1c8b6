/*
 * pam_stack.c - read /etc/pam.d as libpam does and check where
 * pam_keyward.so sits in each service's session and account stacks.
 *
 * The syntax followed is libpam's (pam.d(5) and Debian's @include): '#'
 * to the end of a line is a comment, a trailing '\' continues a line,
 * "[...]" is one field, "-type" is "type", types and the include/substack
 * controls are case-insensitive. Order is what matters here, not control
 * flow: a jump over a line is not simulated.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kw_util.h"
#include "pam_stack.h"

/* Lines visited for one service stack before giving up (a wide include
 * graph can repeat files without a cycle). */
#define MAX_VISITS	100000
/* Services named in one finding before "and N more". */
#define MAX_NAMED	8

/* ---- parsing ------------------------------------------------------------- */

/*
 * Take the next field from *next, as libpam's tokenizer does: blanks
 * (space, tab, newline) separate fields; a field starting with '[' runs
 * to the first ']' and loses its brackets, "\]" standing for ']'. The
 * field is cut out in place. Returns it, or NULL when no field is left.
 */
static char *
next_field(char **next)
{
	char *from = *next, *end, *to;

	if (from == NULL)
		return NULL;
	from += strspn(from, " \t\n");
	if (*from == '\0') {
		*next = NULL;
		return NULL;
	}
	if (*from == '[') {
		from++;
		to = from;
		for (end = from; *end != '\0' && *end != ']'; end++) {
			if (end[0] == '\\' && end[1] == ']')
				end++;
			*to++ = *end;
		}
		if (to != end)
			*to = '\0';
	} else {
		end = from + strcspn(from, " \t\n");
	}
	if (*end != '\0')
		*end++ = '\0';
	*next = *end != '\0' ? end : NULL;
	return from;
}

/* The module type named by a field (a leading '-' dropped). */
static enum kw_pam_type
type_of(const char *s)
{
	if (*s == '-')
		s++;
	if (strcasecmp(s, "auth") == 0)
		return KW_PAM_AUTH;
	if (strcasecmp(s, "account") == 0)
		return KW_PAM_ACCOUNT;
	if (strcasecmp(s, "session") == 0)
		return KW_PAM_SESSION;
	if (strcasecmp(s, "password") == 0)
		return KW_PAM_PASSWORD;
	return KW_PAM_NONE;
}

/* Free one entry's strings. */
static void
entry_free(struct kw_pam_entry *en)
{
	size_t i;

	free(en->target);
	for (i = 0; i < en->n_args; i++)
		free(en->args[i]);
	free(en->args);
	memset(en, 0, sizeof(*en));
}

/* Copy the remaining fields of *next into en's arguments. */
static int
take_args(struct kw_pam_entry *en, char **next)
{
	char *tok, **a;

	while ((tok = next_field(next)) != NULL) {
		a = realloc(en->args, (en->n_args + 1) * sizeof(*a));
		if (a == NULL)
			return KW_ENOMEM;
		en->args = a;
		if ((a[en->n_args] = strdup(tok)) == NULL)
			return KW_ENOMEM;
		en->n_args++;
	}
	return 0;
}

/*
 * Turn one logical line (modified in place) that starts on physical line
 * `line` into an entry of f. Returns 0 or KW_ENOMEM.
 */
static int
add_entry(struct kw_pam_file *f, char *text, unsigned line,
    struct kw_error *e)
{
	struct kw_pam_entry en, *grown;
	char *next = text, *tok, *ctl;

	memset(&en, 0, sizeof(en));
	en.line = line;
	en.kind = KW_PAM_BROKEN;
	if ((tok = next_field(&next)) == NULL)
		return 0;
	if (strcmp(tok, "@include") == 0) {
		en.kind = KW_PAM_AT_INCLUDE;
		tok = next_field(&next);
	} else if ((en.type = type_of(tok)) == KW_PAM_NONE) {
		tok = NULL;
	} else if ((ctl = next_field(&next)) == NULL) {
		tok = NULL;
	} else {
		if (strcasecmp(ctl, "include") == 0)
			en.kind = KW_PAM_INCLUDE;
		else if (strcasecmp(ctl, "substack") == 0)
			en.kind = KW_PAM_SUBSTACK;
		else
			en.kind = KW_PAM_MODULE;
		tok = next_field(&next);
		if (en.kind == KW_PAM_MODULE && tok == NULL)
			en.kind = KW_PAM_BROKEN;
	}
	if (tok != NULL && (en.target = strdup(tok)) == NULL)
		goto out;
	if (en.kind == KW_PAM_MODULE && take_args(&en, &next) != 0)
		goto out;
	grown = realloc(f->entries, (f->n + 1) * sizeof(*grown));
	if (grown == NULL)
		goto out;
	f->entries = grown;
	f->entries[f->n++] = en;
	return 0;
out:
	entry_free(&en);
	return kw_fail(e, KW_ENOMEM, "out of memory");
}

/* Append n bytes to a growing NUL-terminated buffer. */
static int
buf_add(char **buf, size_t *len, size_t *cap, const char *p, size_t n)
{
	char *b;
	size_t want = *len + n + 1;

	if (*buf == NULL || want > *cap) {
		if (want < 2 * *cap)
			want = 2 * *cap;
		if ((b = realloc(*buf, want)) == NULL)
			return KW_ENOMEM;
		*buf = b;
		*cap = want;
	}
	memcpy(*buf + *len, p, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}

/* Parse a pam.d file's text into entries (see pam_stack.h). */
int
kw_pam_file_parse(const char *text, size_t len, struct kw_pam_file *f,
    struct kw_error *e)
{
	const char *p = text, *end = text + len, *nl;
	char *phys = NULL, *logical = NULL, *s, *hash;
	size_t physcap = 0, n, q, llen = 0, lcap = 0;
	unsigned lineno = 0, start = 0;
	bool cont = false;
	int rc = 0;

	memset(f, 0, sizeof(*f));
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		lineno++;
		/* libpam handles a line as a C string: up to a NUL */
		n = strnlen(p, n);
		if (n + 1 > physcap) {
			free(phys);
			physcap = n + 1;
			if ((phys = malloc(physcap)) == NULL) {
				rc = KW_ENOMEM;
				goto out;
			}
		}
		memcpy(phys, p, n);
		phys[n] = '\0';
		p = nl != NULL ? nl + 1 : end;

		/* a last non-blank '\' continues the line (as a blank) */
		for (q = n; q > 0 && (phys[q - 1] == ' ' ||
		    phys[q - 1] == '\t'); q--)
			;
		cont = q > 0 && phys[q - 1] == '\\';
		if (cont) {
			phys[q - 1] = ' ';
			phys[q] = '\0';
		}
		/* a comment ends the logical line, continued or not */
		if ((hash = strchr(phys, '#')) != NULL) {
			*hash = '\0';
			cont = false;
		}
		s = phys + strspn(phys, " \t");
		if (*s != '\0') {
			if (llen == 0)
				start = lineno;
			if ((rc = buf_add(&logical, &llen, &lcap, s,
			    strlen(s))) != 0)
				goto out;
		}
		if (cont || llen == 0)
			continue;
		if ((rc = add_entry(f, logical, start, e)) != 0)
			goto out;
		llen = 0;
	}
	if (cont) {
		/* libpam: "incomplete read", the file is refused */
		f->truncated = true;
		f->last_line = lineno;
	}
out:
	free(phys);
	free(logical);
	if (rc != 0) {
		kw_pam_file_free(f);
		return kw_fail(e, rc, "out of memory");
	}
	return 0;
}

/* Free a parsed file. */
void
kw_pam_file_free(struct kw_pam_file *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < f->n; i++)
		entry_free(&f->entries[i]);
	free(f->entries);
	memset(f, 0, sizeof(*f));
}

/* ---- the check ----------------------------------------------------------- */

/* A file read once, whatever the number of services that include it. */
struct pfile {
	char *path;		/* after symbolic links */
	dev_t dev;
	ino_t ino;
	struct kw_pam_file f;
};

/* Something to tell, with the services it was seen from. */
struct finding {
	char *where, *head, *tail;
	char **services;
	size_t n_services;
};

/* What one walk of a stack saw: pam_keyward and pam_keyinit force lines
 * in order, and how many module lines there were. */
struct item {
	size_t file;
	unsigned line;
	bool keyward;		/* else pam_keyinit.so force */
};

struct stack {
	struct item *v;
	size_t n, cap;
	size_t modules;
	size_t visits;
	bool too_big;
};

struct ctx {
	char root[PATH_MAX];	/* normalized --root, "" for the system */
	char pamd[PATH_MAX];	/* root + /etc/pam.d */
	char etc[PATH_MAX];	/* root + /etc/ : where links may lead */
	struct pfile *files;	/* their entries arrays never move */
	size_t n_files;
	struct finding *finds;
	size_t n_finds;
};

/*
 * Normalize an absolute path lexically into out: no "//", "." or "..".
 * A relative path is kept relative. Returns 0 or KW_ETOOBIG.
 */
static int
normalize(const char *in, char *out, size_t size, struct kw_error *e)
{
	const char *p = in, *c;
	size_t o = 0, n, keep;

	if (size < 2)
		return kw_fail(e, KW_ETOOBIG, "path too long");
	if (*in == '/')
		out[o++] = '/';
	out[o] = '\0';
	keep = o;
	while (*p != '\0') {
		p += strspn(p, "/");
		c = p;
		n = strcspn(p, "/");
		p += n;
		if (n == 0 || (n == 1 && c[0] == '.'))
			continue;
		if (n == 2 && c[0] == '.' && c[1] == '.') {
			while (o > keep && out[o - 1] != '/')
				o--;
			if (o > keep)
				o--;
			out[o] = '\0';
			continue;
		}
		if (o + n + 2 > size)
			return kw_fail(e, KW_ETOOBIG, "%s: path too long", in);
		if (o > keep)
			out[o++] = '/';
		memcpy(out + o, c, n);
		o += n;
		out[o] = '\0';
	}
	return 0;
}

/* Copy s with every control character made '?' (file text is printed). */
static char *
printable(const char *s)
{
	char *d = strdup(s), *p;

	if (d != NULL)
		for (p = d; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
	return d;
}

/*
 * Record a finding at where: head, then the service (if any), then tail.
 * The same where/head/tail seen from another service only adds its name.
 * Returns 0 or KW_ENOMEM.
 */
static int
add_finding(struct ctx *x, const char *where, const char *head,
    const char *tail, const char *service, struct kw_error *e)
{
	struct finding *f = NULL, *grown;
	char **names;
	size_t i;

	for (i = 0; i < x->n_finds; i++)
		if (strcmp(x->finds[i].where, where) == 0 &&
		    strcmp(x->finds[i].head, head) == 0 &&
		    strcmp(x->finds[i].tail, tail) == 0) {
			f = &x->finds[i];
			break;
		}
	if (f == NULL) {
		grown = realloc(x->finds, (x->n_finds + 1) * sizeof(*grown));
		if (grown == NULL)
			return kw_fail(e, KW_ENOMEM, "out of memory");
		x->finds = grown;
		f = &x->finds[x->n_finds];
		memset(f, 0, sizeof(*f));
		f->where = printable(where);
		f->head = printable(head);
		f->tail = printable(tail);
		x->n_finds++;
		if (f->where == NULL || f->head == NULL || f->tail == NULL)
			return kw_fail(e, KW_ENOMEM, "out of memory");
	}
	if (service == NULL)
		return 0;
	for (i = 0; i < f->n_services; i++)
		if (strcmp(f->services[i], service) == 0)
			return 0;
	names = realloc(f->services, (f->n_services + 1) * sizeof(*names));
	if (names == NULL)
		return kw_fail(e, KW_ENOMEM, "out of memory");
	f->services = names;
	if ((names[f->n_services] = printable(service)) == NULL)
		return kw_fail(e, KW_ENOMEM, "out of memory");
	f->n_services++;
	return 0;
}

/* "file:line" of an entry of a loaded file. */
static void
where_of(const struct ctx *x, size_t file, unsigned line, char *buf,
    size_t size)
{
	(void)snprintf(buf, size, "%s:%u", x->files[file].path, line);
}

/*
 * Follow symbolic links from path (at most KW_PAM_MAX_LINKS, each staying
 * within ROOT/etc; an absolute target is taken under ROOT) into out.
 * Returns 0, or a KW_E* code with e set.
 */
static int
resolve(const struct ctx *x, const char *path, char *out, size_t size,
    struct kw_error *e)
{
	char cur[PATH_MAX], target[PATH_MAX], next[2 * PATH_MAX + 2];
	char *slash = NULL;
	struct stat st;
	ssize_t n;
	int hops, rc;

	if ((rc = normalize(path, cur, sizeof(cur), e)) != 0)
		return rc;
	for (hops = 0;; hops++) {
		if (lstat(cur, &st) != 0)
			return kw_fail_errno(e, errno == ENOENT ? KW_ENOTFOUND :
			    KW_ESYSTEM, errno, "%s", cur);
		if (!S_ISLNK(st.st_mode))
			break;
		if (hops == KW_PAM_MAX_LINKS)
			return kw_fail(e, KW_EUNSAFE, "%s: more than %d "
			    "symbolic links; not followed", path,
			    KW_PAM_MAX_LINKS);
		n = readlink(cur, target, sizeof(target) - 1);
		if (n < 0)
			return kw_fail_errno(e, KW_ESYSTEM, errno, "%s", cur);
		target[n] = '\0';
		if (target[0] != '/' && (slash = strrchr(cur, '/')) != NULL)
			slash[1] = '\0';
		if ((rc = kw_snprintf(next, sizeof(next), e, "%s%s",
		    target[0] == '/' ? x->root : slash != NULL ? cur : "",
		    target)) != 0 ||
		    (rc = normalize(next, cur, sizeof(cur), e)) != 0)
			return rc;
		if (strncmp(cur, x->etc, strlen(x->etc)) != 0)
			return kw_fail(e, KW_EUNSAFE, "%s: a symbolic link to "
			    "'%s', out of %s; not followed", path, target,
			    x->etc);
	}
	if (strlen(cur) >= size)
		return kw_fail(e, KW_ETOOBIG, "%s: path too long", cur);
	strcpy(out, cur);
	return 0;
}

/*
 * Load the file at path (once: files are known by device and inode) and
 * set *idx. Returns 0, KW_ENOMEM, or another KW_E* code with e saying why
 * the file cannot be read.
 */
static int
load(struct ctx *x, const char *path, size_t *idx, struct kw_error *e)
{
	char real[PATH_MAX], where[PATH_MAX + 16];
	struct pfile pf, *grown;
	struct stat st;
	char *text = NULL;
	size_t len = 0, i;
	int rc;

	memset(&pf, 0, sizeof(pf));
	if ((rc = resolve(x, path, real, sizeof(real), e)) != 0)
		return rc;
	if (stat(real, &st) != 0)
		return kw_fail_errno(e, KW_ESYSTEM, errno, "%s", real);
	for (i = 0; i < x->n_files; i++)
		if (x->files[i].dev == st.st_dev &&
		    x->files[i].ino == st.st_ino) {
			*idx = i;
			return 0;
		}
	if ((rc = kw_read_file(real, 0, KW_PAM_FILE_MAX, &text, &len, e)) != 0)
		return rc;
	pf.dev = st.st_dev;
	pf.ino = st.st_ino;
	rc = KW_ENOMEM;
	if ((pf.path = strdup(real)) == NULL)
		goto out;
	if ((rc = kw_pam_file_parse(text, len, &pf.f, e)) != 0)
		goto out;
	rc = KW_ENOMEM;
	grown = realloc(x->files, (x->n_files + 1) * sizeof(*grown));
	if (grown == NULL)
		goto out;
	x->files = grown;
	x->files[x->n_files] = pf;
	*idx = x->n_files++;
	memset(&pf, 0, sizeof(pf));
	rc = 0;
	if (x->files[*idx].f.truncated) {
		where_of(x, *idx, x->files[*idx].f.last_line, where,
		    sizeof(where));
		rc = add_finding(x, where, "the file ends in a line continued "
		    "with '\\'", "; libpam refuses the whole file", NULL, e);
	}
out:
	kw_freezero(text, len + 1);
	kw_pam_file_free(&pf.f);
	free(pf.path);
	if (rc == KW_ENOMEM)
		return kw_fail(e, rc, "out of memory");
	return rc;
}

/* The last path component of a module path. */
static const char *
base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s != NULL ? s + 1 : path;
}

/* Add a line to a stack. */
static int
push(struct stack *st, size_t file, unsigned line, bool keyward)
{
	struct item *v;
	size_t cap;

	if (st->n == st->cap) {
		cap = st->cap != 0 ? 2 * st->cap : 8;
		if ((v = realloc(st->v, cap * sizeof(*v))) == NULL)
			return KW_ENOMEM;
		st->v = v;
		st->cap = cap;
	}
	st->v[st->n].file = file;
	st->v[st->n].line = line;
	st->v[st->n].keyward = keyward;
	st->n++;
	return 0;
}

/*
 * A module line whose module is "include" or "substack": the control
 * field came first ("session [default=ignore] substack foo"), so libpam
 * takes the word as a module to load and includes nothing.
 */
static int
misplaced_include(struct ctx *x, size_t file, const struct kw_pam_entry *en,
    const char *service, struct kw_error *e)
{
	static const char *const types[] = { "", "auth", "account", "session",
	    "password" };
	char where[PATH_MAX + 16], head[160], tail[160];

	where_of(x, file, en->line, where, sizeof(where));
	(void)snprintf(head, sizeof(head), "the control field is followed by "
	    "'%s', which libpam loads as a module", en->target);
	(void)snprintf(tail, sizeof(tail), "; nothing is included: write "
	    "'%s %s FILE' (a [...] control cannot include)", types[en->type],
	    en->target);
	return add_finding(x, where, head, tail, service, e);
}

static int walk(struct ctx *x, size_t file, enum kw_pam_type type,
    unsigned depth, size_t *chain, const char *service, struct stack *st,
    struct kw_error *e);

/*
 * Follow an include (any kind) at entry `en` of file `file` for one
 * stack. Problems with it are findings; returns 0 or a fatal KW_E* code.
 */
static int
follow(struct ctx *x, size_t file, const struct kw_pam_entry *en,
    enum kw_pam_type type, unsigned depth, size_t *chain,
    const char *service, struct stack *st, struct kw_error *e)
{
	char where[PATH_MAX + 16], path[2 * PATH_MAX + 2];
	char head[PATH_MAX + 128];
	struct kw_error why;
	size_t inc, k;
	int rc;

	where_of(x, file, en->line, where, sizeof(where));
	if (en->target == NULL)
		return add_finding(x, where, "an include without a file name",
		    "; libpam fails this stack", service, e);
	if (depth + 1 >= KW_PAM_MAX_DEPTH) {
		(void)snprintf(head, sizeof(head), "'%s' is included more "
		    "than %d levels deep", en->target, KW_PAM_MAX_DEPTH - 1);
		return add_finding(x, where, head, "; libpam fails this stack",
		    service, e);
	}
	if ((size_t)snprintf(path, sizeof(path), "%s%s%s",
	    en->target[0] == '/' ? x->root : x->pamd,
	    en->target[0] == '/' ? "" : "/", en->target) >= sizeof(path))
		return add_finding(x, where, "the included file's name is too "
		    "long", "; libpam fails this stack", service, e);
	kw_error_clear(&why);
	rc = load(x, path, &inc, &why);
	if (rc == KW_ENOMEM) {
		*e = why;
		return rc;
	}
	if (rc != 0) {
		(void)snprintf(head, sizeof(head), "cannot read the included "
		    "file (%s)", kw_error_text(&why));
		return add_finding(x, where, head, "; libpam fails this stack",
		    service, e);
	}
	for (k = 0; k <= depth; k++)
		if (chain[k] == inc) {
			(void)snprintf(head, sizeof(head), "includes '%s', "
			    "which is already being read (an include cycle)",
			    en->target);
			return add_finding(x, where, head, "; libpam fails "
			    "this stack at its nesting limit", service, e);
		}
	chain[depth + 1] = inc;
	return walk(x, inc, type, depth + 1, chain, service, st, e);
}

/*
 * Walk the lines of one type in file (and what it includes), at depth
 * `depth` with chain[0..depth] the files being read, into st. Returns 0
 * or a fatal KW_E* code (problems found are findings).
 */
static int
walk(struct ctx *x, size_t file, enum kw_pam_type type, unsigned depth,
    size_t *chain, const char *service, struct stack *st,
    struct kw_error *e)
{
	/* following an include may grow x->files and move the pfile, but
	 * not its entries array */
	const struct kw_pam_entry *entries = x->files[file].f.entries, *en;
	size_t n = x->files[file].f.n, i, a;
	const char *mod;
	bool force;
	int rc;

	for (i = 0; i < n; i++) {
		en = &entries[i];
		if (++st->visits > MAX_VISITS) {
			st->too_big = true;
			return 0;
		}
		if (en->kind == KW_PAM_AT_INCLUDE ||
		    (en->type == type && (en->kind == KW_PAM_INCLUDE ||
		    en->kind == KW_PAM_SUBSTACK))) {
			if ((rc = follow(x, file, en, type, depth, chain,
			    service, st, e)) != 0)
				return rc;
			continue;
		}
		if (en->type != type || en->kind != KW_PAM_MODULE)
			continue;
		st->modules++;
		if ((strcasecmp(en->target, "include") == 0 ||
		    strcasecmp(en->target, "substack") == 0) &&
		    (rc = misplaced_include(x, file, en, service, e)) != 0)
			return rc;
		mod = base_name(en->target);
		force = false;
		if (strcmp(mod, "pam_keyinit.so") == 0)
			for (a = 0; a < en->n_args; a++)
				if (strcmp(en->args[a], "force") == 0)
					force = true;
		if (strcmp(mod, "pam_keyward.so") == 0 || force) {
			if (push(st, file, en->line, !force) != 0)
				return kw_fail(e, KW_ENOMEM, "out of memory");
		}
	}
	return 0;
}

/* Walk the stack of one type of a service, from its file `file`. */
static int
stack_of(struct ctx *x, size_t file, enum kw_pam_type type,
    const char *service, struct stack *st, struct kw_error *e)
{
	size_t chain[KW_PAM_MAX_DEPTH + 1];
	char head[64];
	int rc;

	memset(st, 0, sizeof(*st));
	chain[0] = file;
	if ((rc = walk(x, file, type, 0, chain, service, st, e)) != 0)
		return rc;
	if (st->too_big) {
		(void)snprintf(head, sizeof(head), "the stack is too large to "
		    "check (over %d lines)", MAX_VISITS);
		return add_finding(x, x->files[file].path, head, "",
		    service, e);
	}
	return 0;
}

/* True when a stack has a pam_keyward line. */
static bool
has_keyward(const struct stack *st)
{
	size_t i;

	for (i = 0; i < st->n; i++)
		if (st->v[i].keyward)
			return true;
	return false;
}

/*
 * The account stack of a service: its own, or libpam's fallback, the
 * "other" service's, when it has no account line at all.
 */
static int
account_of(struct ctx *x, size_t file, const char *service,
    struct stack *st, struct kw_error *e)
{
	char path[PATH_MAX + 16];
	struct kw_error why;
	size_t other;
	int rc;

	if ((rc = stack_of(x, file, KW_PAM_ACCOUNT, service, st, e)) != 0 ||
	    st->modules > 0 || strcmp(service, "other") == 0)
		return rc;
	free(st->v);
	memset(st, 0, sizeof(*st));
	kw_error_clear(&why);
	if (kw_snprintf(path, sizeof(path), &why, "%s/other", x->pamd) != 0)
		return 0;
	rc = load(x, path, &other, &why);
	if (rc == KW_ENOMEM) {
		*e = why;
		return rc;
	}
	if (rc != 0)
		return 0;
	return stack_of(x, other, KW_PAM_ACCOUNT, service, st, e);
}

/* Check one service: the order of its session stack, then its account. */
static int
check_service(struct ctx *x, const char *name, struct kw_error *e)
{
	char path[PATH_MAX + 16], kw_at[PATH_MAX + 16], ki_at[PATH_MAX + 16];
	char head[2 * PATH_MAX + 96], msg[KW_ERROR_MSG_MAX];
	struct stack ses, acc;
	struct kw_error why;
	struct stat st;
	const char *text;
	size_t file, i, j, last;
	int rc;

	memset(&ses, 0, sizeof(ses));
	memset(&acc, 0, sizeof(acc));
	kw_error_clear(&why);
	if (kw_snprintf(path, sizeof(path), &why, "%s/%s", x->pamd, name) != 0)
		return add_finding(x, x->pamd, "a file name too long to read",
		    "; not checked", NULL, e);
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	if ((rc = load(x, path, &file, &why)) != 0) {
		if (rc == KW_ENOMEM) {
			*e = why;
			return rc;
		}
		/* the message starts with the path, said once */
		text = kw_error_text(&why);
		if (strncmp(text, path, strlen(path)) == 0 &&
		    strncmp(text + strlen(path), ": ", 2) == 0)
			text += strlen(path) + 2;
		(void)snprintf(msg, sizeof(msg), "cannot read it (%s)", text);
		return add_finding(x, path, msg, "; not checked", NULL, e);
	}
	if ((rc = stack_of(x, file, KW_PAM_SESSION, name, &ses, e)) != 0 ||
	    !has_keyward(&ses))
		goto out;
	for (i = 0; i < ses.n; i++) {
		if (!ses.v[i].keyward)
			continue;
		last = SIZE_MAX;
		for (j = i + 1; j < ses.n; j++)
			if (!ses.v[j].keyward)
				last = j;
		if (last == SIZE_MAX)
			continue;
		where_of(x, ses.v[i].file, ses.v[i].line, kw_at,
		    sizeof(kw_at));
		where_of(x, ses.v[last].file, ses.v[last].line, ki_at,
		    sizeof(ki_at));
		(void)snprintf(head, sizeof(head), "pam_keyward's session line "
		    "comes before pam_keyinit.so force (%s)", ki_at);
		if ((rc = add_finding(x, kw_at, head, ": the keys it delivers "
		    "will not reach the session; move it after", name,
		    e)) != 0)
			goto out;
	}
	if ((rc = account_of(x, file, name, &acc, e)) != 0 ||
	    has_keyward(&acc))
		goto out;
	for (i = 0; !ses.v[i].keyward; i++)
		;
	where_of(x, ses.v[i].file, ses.v[i].line, kw_at, sizeof(kw_at));
	rc = add_finding(x, kw_at, "pam_keyward.so has a session line but no "
	    "account line", ": its policy gate never runs and no keyward-gate "
	    "decision is recorded; add 'account required pam_keyward.so'",
	    name, e);
out:
	free(ses.v);
	free(acc.v);
	return rc;
}

/* True for names that are not services: editor and package leftovers. */
static bool
ignored(const char *name)
{
	static const char *const suffixes[] = { "~", ".rpmnew", ".rpmsave",
	    ".rpmorig" };
	size_t n = strlen(name), i, l;

	if (name[0] == '.' || name[0] == '#' || strstr(name, ".dpkg-") != NULL
	    || strstr(name, ".ucf-") != NULL)
		return true;
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		l = strlen(suffixes[i]);
		if (n >= l && strcmp(name + n - l, suffixes[i]) == 0)
			return true;
	}
	return false;
}

/* qsort comparison of names. */
static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted service names of the pam.d directory (*names NULL if none). */
static int
list_services(struct ctx *x, char ***names, size_t *n, struct kw_error *e)
{
	struct dirent *d;
	char **v = NULL, **grown, msg[256];
	size_t cnt = 0;
	DIR *dir;
	int rc = 0, err = 0;

	*names = NULL;
	*n = 0;
	if ((dir = opendir(x->pamd)) == NULL) {
		if (errno == ENOENT)
			return 0;
		err = errno;
		goto unreadable;
	}
	/* readdir() ends with NULL on an error too: told apart by errno */
	for (errno = 0; (d = readdir(dir)) != NULL; errno = 0) {
		if (ignored(d->d_name))
			continue;
		if ((grown = realloc(v, (cnt + 1) * sizeof(*v))) == NULL ||
		    (grown[cnt] = strdup(d->d_name)) == NULL) {
			if (grown != NULL)
				v = grown;
			rc = kw_fail(e, KW_ENOMEM, "out of memory");
			break;
		}
		v = grown;
		cnt++;
	}
	if (d == NULL)
		err = errno;
	closedir(dir);
	if (rc != 0 || err != 0) {
		while (cnt > 0)
			free(v[--cnt]);
		free(v);
		if (rc != 0)
			return rc;
		goto unreadable;
	}
	if (cnt > 0)
		qsort(v, cnt, sizeof(*v), by_name);
	*names = v;
	*n = cnt;
	return 0;
unreadable:
	/* a part of the directory would be checked as if it were all */
	(void)snprintf(msg, sizeof(msg), "cannot read the directory (%s)",
	    strerror(err));
	return add_finding(x, x->pamd, msg, "; no service checked", NULL, e);
}

/* Append a NUL-terminated string to a growing buffer. */
static int
buf_str(char **buf, size_t *len, size_t *cap, const char *s)
{
	return buf_add(buf, len, cap, s, strlen(s));
}

/*
 * Compose the text of finding f into *buf: head, the services ("in
 * service 'a'", "in services 'a', 'b' and 'c'", at most MAX_NAMED then
 * "and N more"), tail. Returns 0 or KW_ENOMEM.
 */
static int
compose(const struct finding *f, char **buf, size_t *cap)
{
	char more[64];
	size_t k, len = 0, n = f->n_services;
	int rc;

	if ((rc = buf_str(buf, &len, cap, f->head)) != 0)
		return rc;
	for (k = 0; k < n && k < MAX_NAMED; k++) {
		if (k == 0)
			rc = buf_str(buf, &len, cap, n == 1 ? " in service '" :
			    " in services '");
		else
			rc = buf_str(buf, &len, cap, k + 1 == n ? " and '" :
			    ", '");
		if (rc != 0 || (rc = buf_str(buf, &len, cap,
		    f->services[k])) != 0 ||
		    (rc = buf_str(buf, &len, cap, "'")) != 0)
			return rc;
	}
	if (n > MAX_NAMED) {
		(void)snprintf(more, sizeof(more), " and %zu more",
		    n - MAX_NAMED);
		if ((rc = buf_str(buf, &len, cap, more)) != 0)
			return rc;
	}
	return buf_str(buf, &len, cap, f->tail);
}

/* Give every finding to warn, in the order found. */
static int
report(struct ctx *x,
    void (*warn)(const char *where, const char *msg, void *arg), void *arg,
    struct kw_error *e)
{
	char *msg = NULL;
	size_t i, cap = 0;
	int rc = 0;

	for (i = 0; i < x->n_finds; i++) {
		if ((rc = compose(&x->finds[i], &msg, &cap)) != 0)
			break;
		warn(x->finds[i].where, msg, arg);
	}
	free(msg);
	if (rc != 0)
		return kw_fail(e, rc, "out of memory");
	return 0;
}

/* Free everything the check holds. */
static void
ctx_free(struct ctx *x)
{
	size_t i, k;

	for (i = 0; i < x->n_files; i++) {
		kw_pam_file_free(&x->files[i].f);
		free(x->files[i].path);
	}
	free(x->files);
	for (i = 0; i < x->n_finds; i++) {
		free(x->finds[i].where);
		free(x->finds[i].head);
		free(x->finds[i].tail);
		for (k = 0; k < x->finds[i].n_services; k++)
			free(x->finds[i].services[k]);
		free(x->finds[i].services);
	}
	free(x->finds);
}

/* Check every service of ROOT/etc/pam.d (see pam_stack.h). */
int
kw_pam_check(const char *root,
    void (*warn)(const char *where, const char *msg, void *arg), void *arg,
    struct kw_error *e)
{
	struct ctx x;
	char **names = NULL, tmp[PATH_MAX + 16];
	size_t n = 0, i;
	int rc;

	memset(&x, 0, sizeof(x));
	if (root == NULL)
		root = "";
	if (root[0] != '\0') {
		if (normalize(root, x.root, sizeof(x.root), e) != 0)
			return kw_error_prefix(e, "--root");
		if (strcmp(x.root, "/") == 0)
			x.root[0] = '\0';
	}
	if (kw_snprintf(tmp, sizeof(tmp), e, "%s%s", x.root,
	    KW_PAMD_DIR) != 0 ||
	    normalize(tmp, x.pamd, sizeof(x.pamd), e) != 0 ||
	    kw_snprintf(x.etc, sizeof(x.etc), e, "%s/etc/", x.root) != 0)
		return kw_error_prefix(e, "--root");
	if ((rc = list_services(&x, &names, &n, e)) != 0)
		goto out;
	for (i = 0; i < n; i++)
		if ((rc = check_service(&x, names[i], e)) != 0)
			goto out;
	rc = report(&x, warn, arg, e);
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	ctx_free(&x);
	return rc;
}
