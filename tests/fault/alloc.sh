#!/bin/sh
# tests/fault/alloc.sh - every allocation of a session open, a vault write
# and an audit emission fails once in turn (tests/fault/kw_fault.c): never
# a crash, never a partial delivery, never a broken vault, always a clear
# error.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/pam/pamlib.sh"

FAULT="$top_builddir/tests/fault/kw_fault"
# under valgrind (tests/valgrind/run.sh) the injector runs in it too
[ -n "${KW_WRAP:-}" ] && FAULT="$KW_WRAP $FAULT"
pam_setup
S=fault$$-key
secret "$S" "fault-value-$$"
policy "allow user=root service=kw-fault secrets=$S ttl=1h"

expect_status 0 "session open: each allocation failing in turn" \
    $FAULT session "$KW_CONF" root "$S"
echo "$out"
expect_status 0 "vault write: each allocation failing in turn" \
    $FAULT vault "$KW_CONF" "$S"
echo "$out"
expect_status 0 "the vault still verifies (keyward check)" kw check
check "no live key of the secret remains" [ "$(keys_named "$S")" -eq 0 ]
check "the registry is empty" [ "$(sessions)" -eq 0 ]
if pgrep -x auditd >/dev/null 2>&1; then
	expect_status 0 "audit emission (best-effort): each allocation failing" \
	    $FAULT audit best-effort
	echo "$out"
	expect_status 0 "audit emission (required): each allocation failing" \
	    $FAULT audit required
	echo "$out"
else
	skip "auditd is not running"
fi
finish
