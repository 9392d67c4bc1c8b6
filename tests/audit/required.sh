#!/bin/sh
# required.sh - audit=required refuses in every way audit can be missing:
# disabled, keyward's rule not loaded, no CAP_AUDIT_WRITE (unprivileged
# user; root with the capability dropped), unreachable in a user
# namespace. best-effort tolerates only "no kernel audit here". The audit
# state (enabled flag, rules) is left as found.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/audit/audit-lib.sh"
need_root
export LC_ALL=C
need_auditd
load_rules
new_agent req
RULES_BEFORE=$(auditctl -l | sort)
ENABLED_BEFORE=$(auditctl -s | sed -n 's/^enabled //p')

expect_status 0 "ready with auditd, audit on and the rule loaded" "$KW_EMIT" ready
expect_status 0 "a required-mode record is written" "$KW_EMIT" vault "kwreq-$$" 0 root success

# 1. audit disabled (restored at once, and at exit)
if [ "$ENABLED_BEFORE" = 2 ]; then
	skip "audit is locked (enabled 2): cannot test auditctl -e 0"
fi
at_exit "auditctl -e $ENABLED_BEFORE"
auditctl -e 0 >/dev/null
expect_status 1 "disabled: not ready" "$KW_EMIT" ready
D1="$err"
expect_status 1 "disabled: the record is refused" "$KW_EMIT" deliver "kwreq-$$" 1 "$AGENT" success
D2="$err"
expect_status 1 "disabled: best-effort reports it too" "$KW_EMIT" -b vault "kwreq-$$" 0 root success
D3="$err"
auditctl -e "$ENABLED_BEFORE" >/dev/null
check "disabled: says disabled" contains "$D1" "disabled"
check "disabled: the emit says so" contains "$D2" "disabled"
check "disabled: best-effort may go on (tolerable)" contains "$D3" "(tolerable)"
check "the enabled flag is restored" [ "$(auditctl -s | sed -n 's/^enabled //p')" = "$ENABLED_BEFORE" ]

# 2. keyward's read rule not loaded (b64 read rule removed for a moment)
R64="-a always,exit -F arch=b64 -S keyctl -F a0=11 -k keyward"
if auditctl -d always,exit -F arch=b64 -S keyctl -F a0=11 -k keyward >/dev/null 2>&1; then
	at_exit "auditctl $R64"
	expect_status 1 "rule missing: not ready" "$KW_EMIT" ready
	R1="$err"
	# shellcheck disable=SC2086
	auditctl $R64 >/dev/null
	check "rule missing: says the rule is not loaded" contains "$R1" "rule"
	expect_status 0 "rule back: ready again" "$KW_EMIT" ready
else
	notok "could not remove the read rule for the test"
fi
# ... nor when only the 32-bit read rule is missing (int 0x80 keyctl)
R32="-a always,exit -F arch=b32 -S keyctl -F a0=11 -k keyward"
if auditctl -d always,exit -F arch=b32 -S keyctl -F a0=11 -k keyward >/dev/null 2>&1; then
	at_exit "auditctl $R32"
	expect_status 1 "32-bit read rule missing: not ready" "$KW_EMIT" ready
	# shellcheck disable=SC2086
	auditctl $R32 >/dev/null
	expect_status 0 "32-bit rule back: ready again" "$KW_EMIT" ready
else
	notok "could not remove the 32-bit read rule for the test"
fi
# ... nor when an exclude rule drops SYSCALL records
XR="always,exclude -F msgtype=SYSCALL"
# shellcheck disable=SC2086
if auditctl -a $XR >/dev/null 2>&1; then
	at_exit "auditctl -d $XR"
	expect_status 1 "an exclude rule drops SYSCALL records: not ready" \
	    "$KW_EMIT" ready
	# shellcheck disable=SC2086
	auditctl -d $XR >/dev/null
	expect_status 0 "exclude rule gone: ready again" "$KW_EMIT" ready
else
	notok "could not add the exclude rule for the test"
fi

# 3. no CAP_AUDIT_WRITE: an unprivileged user, and root without the cap
expect_status 1 "unprivileged: not ready (no status access)" \
    setpriv --reuid="$AGENT" --regid="$AGENT" --clear-groups "$KW_EMIT" ready
expect_status 1 "unprivileged: required-mode record refused" \
    setpriv --reuid="$AGENT" --regid="$AGENT" --clear-groups "$KW_EMIT" deliver "kwreq-$$" 1 "$AGENT" success
check "unprivileged: fatal" contains "$err" "(fatal)"
expect_status 1 "root without CAP_AUDIT_WRITE: record refused" \
    setpriv --inh-caps=-audit_write --bounding-set=-audit_write "$KW_EMIT" vault "kwreq-$$" 0 root success
check "no CAP_AUDIT_WRITE: says so" contains "$err" "CAP_AUDIT_WRITE"
expect_status 1 "no CAP_AUDIT_WRITE: best-effort refuses too (EPERM is not 'no audit')" \
    setpriv --inh-caps=-audit_write --bounding-set=-audit_write "$KW_EMIT" -b vault "kwreq-$$" 0 root success
check "EPERM in best-effort: fatal" contains "$err" "(fatal)"

# 4. a user namespace: ECONNREFUSED
if unshare -U -r true 2>/dev/null; then
	expect_status 1 "user namespace: not ready" unshare -U -r "$KW_EMIT" ready
	check "user namespace: says refused" contains "$err" "refused"
	expect_status 1 "user namespace: required-mode record refused" unshare -U -r "$KW_EMIT" vault "kwreq-$$" 0 root success
	expect_status 1 "user namespace: best-effort reports it" unshare -U -r "$KW_EMIT" -b vault "kwreq-$$" 0 root success
	check "user namespace in best-effort: tolerable" contains "$err" "(tolerable)"
else
	notok "unshare -U -r does not work here"
fi

# 5. the PAM module, once it exists, delivers nothing without audit
# (tested by the keyring layer's tests with audit=required).

check "the rules are as before" [ "$(auditctl -l | sort)" = "$RULES_BEFORE" ]
finish
