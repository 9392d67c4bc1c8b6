#!/bin/sh
# vault-records.sh - every vault change (add, rotate, rollback, rm) is a
# keyward-vault record that ausearch finds, with the fp= of the new value and
# never the value; with audit = required a change whose record cannot be
# written is refused and the vault is unchanged; best-effort goes on.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/audit/audit-lib.sh"
need_root
need_auditd

new_root
name="vrec-$$"
value="vault-audit-$$-Zq8K2mX"
since=$(LC_ALL=C date '+%x %T')

# records OP-FILTER: the keyward-vault records of $name since the start
records() {
	ausearch -m CRYPTO_KEY_USER -ts $since -i 2>/dev/null |
	    grep "op=keyward-vault" | grep "kw_secret=\"\?$name\"\? "
}

printf '%s' "$value" | kw add "$name" >/dev/null
printf '%s-2' "$value" | kw rotate "$name" >/dev/null
kw rollback "$name" >/dev/null
kw rm "$name" >/dev/null
n=$(records | grep -c "res=success")
[ "$n" -eq 4 ] && ok "4 changes, 4 keyward-vault records" ||
    notok "4 changes gave $n keyward-vault records"
fp1=$(printf '%s' "$value" | kw audit-hash)
fp2=$(printf '%s-2' "$value" | kw audit-hash)
check "add's record carries the fp of the value (audit-hash agrees)" \
    contains "$(records | grep 'kw_version=1 ' | head -1)" "$fp1"
check "rotate's record carries the fp of the new value" \
    contains "$(records | grep 'kw_version=2 ')" "$fp2"
check_fails "the value is not in the audit log" \
    grep -q "$value" /var/log/audit/audit.log
hex=$(printf '%s' "$value" | od -An -tx1 | tr -d ' \n')
HEX=$(printf '%s' "$hex" | tr a-f A-F)
check_fails "the value's hex (either case) is not in the audit log" \
    grep -q -e "$hex" -e "$HEX" /var/log/audit/audit.log
b64=$(printf '%s' "$value" | base64)
check_fails "the value's base64 is not in the audit log" \
    grep -q -- "$b64" /var/log/audit/audit.log

# audit = required and audit disabled: refused, nothing changed
was=$(auditctl -s | sed -n 's/^enabled //p')
[ "$was" = 2 ] && skip "audit configuration is locked (enabled 2)"

vault=$(sed -n 's/^vault = //p' "$(find "$KW_ROOT" -name keyward.conf)")
before=$(sha256sum < "$vault")
at_exit "auditctl -e $was"
auditctl -e 0 >/dev/null
expect_status 1 "required: add refused while audit is disabled" \
    sh -c "printf x | '$KEYWARD' --root '$KW_ROOT' add '$name-off'"
auditctl -e "$was" >/dev/null
check "the error says audit is unavailable" contains "$err" "audit"
[ "$(sha256sum < "$vault")" = "$before" ] && ok "vault unchanged" ||
    notok "vault changed although the change was refused"
conf=$(find "$KW_ROOT" -name keyward.conf)
sed -i 's/^audit = required/audit = best-effort/' "$conf"
auditctl -e 0 >/dev/null
expect_status 0 "best-effort: add goes on while audit is disabled" \
    sh -c "printf x | '$KEYWARD' --root '$KW_ROOT' add '$name-be'"
auditctl -e "$was" >/dev/null
check "best-effort warns that the record was not written" \
    contains "$err" "audit record not written"
[ "$(auditctl -s | sed -n 's/^enabled //p')" = "$was" ] &&
    ok "audit enabled flag restored" || notok "audit enabled flag changed"
finish
