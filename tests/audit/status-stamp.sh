#!/bin/sh
# status-stamp.sh - audit = best-effort shares its status check through a
# stamp in the registry directory (kw_audit_share_status): a check that
# finds audit on with a daemon touches the stamp, an operation within
# KW_AUDIT_STAMP_SECS (10 s) of it asks the kernel for nothing, one that
# finds audit disabled removes it so every later operation checks and
# warns again, and a stamp that is not a fresh, singly linked regular file
# of root's is not believed. Audit is disabled for moments (as
# required.sh does) and restored at once and at exit.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/audit/audit-lib.sh"
need_root
export LC_ALL=C
need_auditd
ENABLED_BEFORE=$(auditctl -s | sed -n 's/^enabled //p')
[ "$ENABLED_BEFORE" != 2 ] || skip "audit is locked (enabled 2): cannot test auditctl -e 0"
at_exit "auditctl -e $ENABLED_BEFORE"

RUN="$KW_TMP/run"
mkdir -m 700 "$RUN"
STAMP="$RUN/audit-ok"
emit() { "$KW_EMIT" -b -s "$STAMP" vault "kwstamp-$$" 0 root success; }
# off CMD...: run CMD with audit disabled for that moment only.
off() {
	auditctl -e 0 >/dev/null
	"$@"
	local rc=$?
	auditctl -e "$ENABLED_BEFORE" >/dev/null
	return $rc
}
age() { touch -h -d "@$(($(date +%s) - $1))" "$STAMP"; }

# 1. a check that finds all well makes the stamp
expect_status 0 "audit on: the record is written" emit
check "the check left the stamp" test -f "$STAMP" -a ! -L "$STAMP"
check "the stamp is root's, mode 0600, empty" \
    [ "$(stat -c '%u %a %s' "$STAMP")" = "0 600 0" ]

# 2. within 10 s of it nothing is asked: a disabled audit goes unnoticed
# (the documented trade of best-effort); the stamp is left as it was
age 2
before=$(stat -c %Y "$STAMP")
expect_status 0 "fresh stamp: no status asked, so audit off is not seen" off emit
check "fresh stamp: nothing said" [ -z "$err" ]
check "fresh stamp: left untouched" [ "$(stat -c %Y "$STAMP")" = "$before" ]

# 3. a stale stamp: the check is made, says so, and removes the stamp
age 11
expect_status 1 "stale stamp: audit off is reported" off emit
check "stale stamp: says disabled" contains "$err" "disabled"
check "stale stamp: tolerable in best-effort" contains "$err" "(tolerable)"
check "a check that found audit off removed the stamp" [ ! -e "$STAMP" ]
expect_status 1 "no stamp: the next operation checks and reports again" off emit
check "and leaves no stamp" [ ! -e "$STAMP" ]

# 4. audit back on: the next check makes the stamp again
expect_status 0 "audit on again: written" emit
check "the stamp is back" [ -f "$STAMP" ]

# 5. stamps that are not believed: each one must be checked past
fresh_root_file() { : >"$1"; chmod 600 "$1"; }
rm -f "$STAMP"
fresh_root_file "$KW_TMP/elsewhere"
ln -s "$KW_TMP/elsewhere" "$STAMP"
expect_status 1 "a symlink as stamp is not believed" off emit
check "symlink: reported" contains "$err" "disabled"
rm -f "$STAMP" "$KW_TMP/elsewhere"

fresh_root_file "$STAMP"
ln "$STAMP" "$KW_TMP/second-link"
expect_status 1 "a stamp with a second link is not believed" off emit
check "hard link: reported" contains "$err" "disabled"
rm -f "$STAMP" "$KW_TMP/second-link"

fresh_root_file "$STAMP"
chown nobody "$STAMP"
expect_status 1 "a stamp not owned by root is not believed" off emit
check "foreign owner: reported" contains "$err" "disabled"
rm -f "$STAMP"

fresh_root_file "$STAMP"
touch -d "@$(($(date +%s) + 3600))" "$STAMP"
expect_status 1 "a stamp from the future is not believed" off emit
check "future: reported" contains "$err" "disabled"
rm -f "$STAMP"

mkdir "$STAMP"
expect_status 1 "a directory as stamp is not believed" off emit
rmdir "$STAMP"

# 6. required mode ignores any stamp: every operation checks
fresh_root_file "$STAMP"
expect_status 1 "required mode: a fresh stamp changes nothing" \
    off "$KW_EMIT" -s "$STAMP" vault "kwstamp-$$" 0 root success
check "required mode: the refusal says disabled" contains "$err" "disabled"
check "required mode: fatal" contains "$err" "(fatal)"

check "the enabled flag is restored" \
    [ "$(auditctl -s | sed -n 's/^enabled //p')" = "$ENABLED_BEFORE" ]
finish
