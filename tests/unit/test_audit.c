/*
 * test_audit.c - CUnit tests of the audit layer's core: op names, record
 * formatting (field order, encoding), fingerprints, the audit key file,
 * the fatal/tolerable decision, and one real round trip to the kernel.
 */
#include "config.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <libaudit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "audit_impl.h"
#include "kw_util.h"

static char tmpdir[] = "/tmp/kw-test-audit.XXXXXX";

/* Write len bytes to path with mode. */
static void
write_bytes(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(kw_write_all(fd, data, len) == 0);
	CU_ASSERT_FATAL(fchmod(fd, mode) == 0);
	close(fd);
}

static void
test_op_names(void)
{
	CU_ASSERT_STRING_EQUAL(kw_audit_op_name(KW_OP_GATE), "keyward-gate");
	CU_ASSERT_STRING_EQUAL(kw_audit_op_name(KW_OP_DELIVER),
	    "keyward-deliver");
	CU_ASSERT_STRING_EQUAL(kw_audit_op_name(KW_OP_READ), "keyward-read");
	CU_ASSERT_STRING_EQUAL(kw_audit_op_name(KW_OP_UPDATE),
	    "keyward-update");
	CU_ASSERT_STRING_EQUAL(kw_audit_op_name(KW_OP_REVOKE),
	    "keyward-revoke");
	CU_ASSERT_STRING_EQUAL(kw_audit_op_name(KW_OP_DENY), "keyward-deny");
	CU_ASSERT_STRING_EQUAL(kw_audit_op_name(KW_OP_VAULT), "keyward-vault");
	CU_ASSERT_STRING_EQUAL(kw_audit_op_name((enum kw_audit_op)99),
	    "keyward-unknown");
}

static void
test_format_order(void)
{
	struct kw_audit_rec r;
	struct kw_error e;
	char buf[1024];

	memset(&r, 0, sizeof(r));
	r.op = KW_OP_DELIVER;
	r.secret = "openai-prod";
	r.version = 3;
	r.fp = "0123456789abcdef";
	r.serial = 123456789;
	r.scope = "session";
	r.ttl = 3600;
	r.rule = "/etc/keyward/policy.conf:7";
	r.session = "s-42";
	r.acct = "summarizer";
	CU_ASSERT_EQUAL(kw_audit_format(&r, buf, sizeof(buf), &e), 0);
	CU_ASSERT_STRING_EQUAL(buf, "op=keyward-deliver "
	    "kw_secret=\"openai-prod\" kw_version=3 fp=0123456789abcdef "
	    "kw_serial=123456789 kw_scope=session kw_ttl=3600 "
	    "kw_rule=\"/etc/keyward/policy.conf:7\" kw_session=\"s-42\" "
	    "acct=\"summarizer\"");
	/* unset fields are left out */
	memset(&r, 0, sizeof(r));
	r.op = KW_OP_GATE;
	CU_ASSERT_EQUAL(kw_audit_format(&r, buf, sizeof(buf), &e), 0);
	CU_ASSERT_STRING_EQUAL(buf, "op=keyward-gate");
	/* no field name ends in "uid" */
	CU_ASSERT_PTR_NULL(strstr(buf, "uid="));
}

static void
test_format_encoding(void)
{
	struct kw_audit_rec r;
	struct kw_error e;
	char buf[1024];

	memset(&r, 0, sizeof(r));
	r.op = KW_OP_DENY;
	r.acct = "evil res=success op=x";
	r.rule = "a b";
	CU_ASSERT_EQUAL(kw_audit_format(&r, buf, sizeof(buf), &e), 0);
	/* blanks force hex: "a b" = 612062 */
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "kw_rule=612062"));
	CU_ASSERT_PTR_NULL(strstr(buf, "res=success"));
	CU_ASSERT_PTR_NULL(strstr(buf, "op=x"));
	/* a malformed fp is a bug, refused */
	r.fp = "not hex at all!!";
	CU_ASSERT_EQUAL(kw_audit_format(&r, buf, sizeof(buf), &e),
	    KW_EINTERNAL);
	CU_ASSERT_STRING_EQUAL(buf, "");
	/* too small a buffer */
	r.fp = NULL;
	CU_ASSERT_EQUAL(kw_audit_format(&r, buf, 10, &e), KW_ETOOBIG);
}

static void
test_fp(void)
{
	unsigned char key[KW_AUDIT_KEY_LEN];
	char fp[KW_FP_HEX_LEN + 1], fp2[KW_FP_HEX_LEN + 1];
	struct kw_error e;

	/* openssl dgst -sha256 -mac HMAC -macopt key:k*32 of "hello" */
	memset(key, 'k', sizeof(key));
	CU_ASSERT_EQUAL(kw_audit_fp(key, "hello", 5, fp, &e), 0);
	CU_ASSERT_STRING_EQUAL(fp, "b77dedb81d7deb35");
	key[0] ^= 1;
	CU_ASSERT_EQUAL(kw_audit_fp(key, "hello", 5, fp2, &e), 0);
	CU_ASSERT_STRING_NOT_EQUAL(fp, fp2);
	CU_ASSERT_EQUAL(strlen(fp2), KW_FP_HEX_LEN);
}

/*
 * One keyed context for many values (a session's deliveries): each value
 * gets the fp of its own one-shot HMAC, in any order, the empty value too;
 * the key outlives its caller's copy (wiped right after kw_fp_new()).
 */
static void
test_fp_ctx(void)
{
	static const struct {
		const char *v, *fp;
	} want[] = {
		{ "hello", "b77dedb81d7deb35" },
		{ "world", "4248aa0fa0b719ef" },
		{ "", "a4ad8e340e32bf1d" },
		{ "hello", "b77dedb81d7deb35" },
	};
	unsigned char key[KW_AUDIT_KEY_LEN];
	char fp[KW_FP_HEX_LEN + 1];
	struct kw_fp *f = NULL;
	struct kw_error e;
	size_t i;

	memset(key, 'k', sizeof(key));
	CU_ASSERT_EQUAL_FATAL(kw_fp_new(key, &f, &e), 0);
	memset(key, 0, sizeof(key));
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		CU_ASSERT_EQUAL(kw_fp_value(f, want[i].v, strlen(want[i].v),
		    fp, &e), 0);
		CU_ASSERT_STRING_EQUAL(fp, want[i].fp);
	}
	kw_fp_free(f);
	kw_fp_free(NULL);
}

static void
test_key_load(void)
{
	unsigned char key[KW_AUDIT_KEY_LEN], want[KW_AUDIT_KEY_LEN + 1];
	char path[256];
	struct kw_error e;

	memset(want, 0xa5, sizeof(want));
	snprintf(path, sizeof(path), "%s/audit.key", tmpdir);
	write_bytes(path, want, KW_AUDIT_KEY_LEN, 0400);
	CU_ASSERT_EQUAL(kw_audit_key_load(path, key, &e), 0);
	CU_ASSERT_EQUAL(memcmp(key, want, sizeof(key)), 0);
	/* readable by others: unsafe, key cleared */
	write_bytes(path, want, KW_AUDIT_KEY_LEN, 0644);
	CU_ASSERT_EQUAL(kw_audit_key_load(path, key, &e), KW_EUNSAFE);
	/* wrong size */
	write_bytes(path, want, 31, 0400);
	CU_ASSERT_EQUAL(kw_audit_key_load(path, key, &e), KW_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "exactly 32 bytes"));
	write_bytes(path, want, 33, 0400);
	CU_ASSERT_EQUAL(kw_audit_key_load(path, key, &e), KW_EINVAL);
	unlink(path);
	CU_ASSERT_EQUAL(kw_audit_key_load(path, key, &e), KW_ENOTFOUND);
}

static void
test_fatal(void)
{
	struct kw_audit *req = NULL, *be = NULL;
	struct kw_error e;

	CU_ASSERT_TRUE(kw_audit_errno_is_absent(ECONNREFUSED));
	CU_ASSERT_TRUE(kw_audit_errno_is_absent(EPROTONOSUPPORT));
	CU_ASSERT_FALSE(kw_audit_errno_is_absent(EPERM));
	CU_ASSERT_FALSE(kw_audit_errno_is_absent(ENOBUFS));
	CU_ASSERT_EQUAL_FATAL(kw_audit_open(KW_AUDIT_BEST_EFFORT, &be, &e), 0);
	CU_ASSERT_FALSE(kw_audit_fatal(be, 0));
	CU_ASSERT_FALSE(kw_audit_fatal(be, KW_EAUDIT));
	CU_ASSERT_TRUE(kw_audit_fatal(be, KW_ESYSTEM));
	if (kw_audit_open(KW_AUDIT_REQUIRED, &req, &e) == 0) {
		CU_ASSERT_TRUE(kw_audit_fatal(req, KW_EAUDIT));
		CU_ASSERT_FALSE(kw_audit_fatal(req, 0));
	}
	CU_ASSERT_TRUE(kw_audit_fatal(NULL, KW_EAUDIT));
	kw_audit_close(req);
	kw_audit_close(be);
	kw_audit_close(NULL);
}

/*
 * A real record: as root with a running auditd, a required-mode emit
 * succeeds exactly when the status says enabled and a daemon; otherwise
 * it must fail with KW_EAUDIT.
 */
static void
test_emit_real(void)
{
	struct kw_audit *a = NULL;
	struct kw_audit_status st;
	struct kw_audit_rec r;
	struct kw_error e;
	int err, rc, fd;

	if (kw_audit_open(KW_AUDIT_REQUIRED, &a, &e) != 0) {
		CU_ASSERT_EQUAL(e.code, KW_EAUDIT);
		return;
	}
	memset(&r, 0, sizeof(r));
	r.op = KW_OP_VAULT;
	r.secret = "unit-test";
	r.version = 1;
	r.success = true;
	rc = kw_audit_emit(a, &r, &e);
	CU_ASSERT_EQUAL(kw_audit_get_status(-1, &st, &err, &e), KW_EAUDIT);
	fd = audit_open();
	if (geteuid() == 0 && fd >= 0 &&
	    kw_audit_get_status(fd, &st, &err, &e) == 0 &&
	    st.enabled != 0 && st.pid != 0) {
		CU_ASSERT_EQUAL(rc, 0);
	} else {
		CU_ASSERT_EQUAL(rc, KW_EAUDIT);
	}
	if (fd >= 0)
		audit_close(fd);
	kw_audit_close(a);
}

int
main(void)
{
	CU_pSuite s;
	unsigned failures;

	if (mkdtemp(tmpdir) == NULL)
		return 1;
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("audit", NULL, NULL);
	CU_add_test(s, "op names", test_op_names);
	CU_add_test(s, "format order", test_format_order);
	CU_add_test(s, "format encoding", test_format_encoding);
	CU_add_test(s, "fingerprint", test_fp);
	CU_add_test(s, "fingerprint context", test_fp_ctx);
	CU_add_test(s, "audit key file", test_key_load);
	CU_add_test(s, "fatal or tolerable", test_fatal);
	CU_add_test(s, "real record", test_emit_real);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures();
	CU_cleanup_registry();
	rmdir(tmpdir);
	return failures == 0 ? 0 : 1;
}
