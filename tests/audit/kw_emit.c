/*
 * kw_emit.c - test helper: write one keyward record through the core
 * (kw_audit_emit), or check readiness, and say what happened.
 *
 *   kw_emit [-b [-s STAMP]] ready
 *   kw_emit [-b [-s STAMP]] OP SECRET SERIAL ACCT success|failed [VERSION]
 *   kw_emit [-b [-s STAMP]] batch N SECRET ACCT
 *
 * batch: N keyward-update records for SECRET with kw_serial=1..N in one
 * batch (kw_audit_batch_begin/end), as a rotation writes them; a refusal
 * names the record that reported it ("record K:" or "batch end:").
 *
 * -b: best-effort mode (default required); -s: its status check shared
 * through the stamp file STAMP (kw_audit_share_status). Exit 0 when the
 * record was
 * written (or audit is ready), 1 when refused (the message on stderr,
 * "fatal" or "tolerable" after it), 2 on bad usage.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "kw_util.h"

static const struct { const char *name; enum kw_audit_op op; } ops[] = {
	{ "gate", KW_OP_GATE }, { "deliver", KW_OP_DELIVER },
	{ "read", KW_OP_READ }, { "update", KW_OP_UPDATE },
	{ "revoke", KW_OP_REVOKE }, { "deny", KW_OP_DENY },
	{ "vault", KW_OP_VAULT },
};

/* N update records in one batch; the failing one is named in e. */
static int
batch(struct kw_audit *a, uint64_t n, const char *secret, const char *acct,
    struct kw_error *e)
{
	struct kw_audit_rec r;
	uint64_t k;
	int rc;

	if ((rc = kw_audit_batch_begin(a, e)) != 0)
		return kw_error_prefix(e, "batch begin");
	memset(&r, 0, sizeof(r));
	r.op = KW_OP_UPDATE;
	r.secret = secret;
	r.version = 2;
	r.scope = "session";
	r.session = "test";
	r.acct = acct;
	r.success = true;
	for (k = 1; k <= n; k++) {
		r.serial = (int32_t)k;
		if ((rc = kw_audit_emit(a, &r, e)) != 0) {
			(void)kw_audit_batch_end(a, NULL);
			return kw_error_prefix(e, "record %llu",
			    (unsigned long long)k);
		}
	}
	if ((rc = kw_audit_batch_end(a, e)) != 0)
		return kw_error_prefix(e, "batch end");
	return 0;
}

int
main(int argc, char **argv)
{
	enum kw_audit_mode mode = KW_AUDIT_REQUIRED;
	struct kw_audit *a = NULL;
	struct kw_audit_rec r;
	struct kw_error e;
	const char *stamp = NULL;
	uint64_t n;
	size_t i;
	int rc;

	kw_error_clear(&e);
	if (argc > 1 && strcmp(argv[1], "-b") == 0) {
		mode = KW_AUDIT_BEST_EFFORT;
		argv++;
		argc--;
	}
	if (argc > 2 && strcmp(argv[1], "-s") == 0) {
		stamp = argv[2];
		argv += 2;
		argc -= 2;
	}
	if (argc < 2)
		return 2;
	if ((rc = kw_audit_open(mode, &a, &e)) != 0 || (stamp != NULL &&
	    (rc = kw_audit_share_status(a, stamp, &e)) != 0)) {
		fprintf(stderr, "kw_emit: %s (fatal)\n", kw_error_text(&e));
		return 1;
	}
	if (strcmp(argv[1], "ready") == 0) {
		rc = kw_audit_ready(a, &e);
	} else if (strcmp(argv[1], "batch") == 0) {
		if (argc < 5 || kw_parse_u64(argv[2], 1, 100000, &n, &e) != 0)
			return 2;
		rc = batch(a, n, argv[3], argv[4], &e);
	} else {
		if (argc < 6)
			return 2;
		memset(&r, 0, sizeof(r));
		for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
			if (strcmp(ops[i].name, argv[1]) == 0)
				break;
		if (i == sizeof(ops) / sizeof(ops[0]))
			return 2;
		r.op = ops[i].op;
		r.secret = argv[2];
		if (kw_parse_u64(argv[3], 0, INT32_MAX, &n, &e) != 0)
			return 2;
		r.serial = (int32_t)n;
		r.acct = argv[4];
		r.success = strcmp(argv[5], "success") == 0;
		if (argc > 6 && kw_parse_u64(argv[6], 0, UINT32_MAX, &n,
		    &e) == 0)
			r.version = (uint32_t)n;
		if (r.op == KW_OP_DELIVER) {
			r.scope = "session";
			r.ttl = 3600;
			r.rule = "/etc/keyward/policy.conf:1";
			r.session = "test";
		}
		rc = kw_audit_emit(a, &r, &e);
	}
	if (rc != 0)
		fprintf(stderr, "kw_emit: %s (%s)\n", kw_error_text(&e),
		    kw_audit_fatal(a, rc) ? "fatal" : "tolerable");
	kw_audit_close(a);
	return rc == 0 ? 0 : 1;
}
