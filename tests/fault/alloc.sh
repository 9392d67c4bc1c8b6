#!/bin/sh
# tests/fault/alloc.sh - every allocation of the process during a session
# open, a vault write and an audit emission fails once in turn
# (tests/fault/kw_fault.c replaces malloc and its kin for the whole
# process: keyward's code, OpenSSL, libaudit, libkeyutils, and glibc's own,
# such as getpwnam_r, getgrouplist, getgrgid_r and the NSS modules behind
# them, stdio and opendir): never a crash, never a partial delivery, never
# a broken vault, always a clear error. Runs:
#   session open  as root (audit = best-effort), and as a throw-away user
#                 whose grant comes through a group= rule (getpwnam_r of a
#                 user nss-systemd does not synthesize, getgrouplist,
#                 getgrgid_r);
#   vault write   rotate + commit;
#   audit         open + emit, in both modes (needs auditd).
# KW_FAULT_VERBOSE=1 (or 2, with stacks) in the environment prints what
# each point did.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/pam/pamlib.sh"

FAULT="$top_builddir/tests/fault/kw_fault"
# under valgrind (tests/valgrind/run.sh) the injector runs in it too, with
# its own malloc left to it: by default valgrind replaces every exported
# malloc, the executable's as well (kw_fault refuses to run then)
case "${KW_WRAP:-}" in
valgrind*)
	FAULT="$KW_WRAP --soname-synonyms=somalloc=nouserintercepts $FAULT";;
?*)	FAULT="$KW_WRAP $FAULT";;
esac
pam_setup
S=fault$$-key
U=kwfault$$u
G=kwfault$$g
secret "$S" "fault-value-$$"
groupadd "$G" || { notok "groupadd $G"; finish; }
at_exit "groupdel '$G'"
add_user "$U" || { notok "useradd $U"; finish; }
usermod -a -G "$G" "$U" || { notok "usermod $U"; finish; }

policy "allow user=root service=kw-fault secrets=$S ttl=1h"
expect_status 0 "session open: each allocation failing in turn" \
    $FAULT session "$KW_CONF" root "$S"
echo "$out"
policy "allow group=$G service=kw-fault secrets=$S ttl=1h"
expect_status 0 "session open through group=: each allocation failing" \
    $FAULT session "$KW_CONF" "$U" "$S"
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
