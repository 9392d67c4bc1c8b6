#!/bin/sh
# daemon-death.sh - auditd dies (SIGKILL, as when its cgroup is torn down):
# the kernel keeps its pid registered until it next fails to send to it,
# and records written in between reach only the kernel log. With audit =
# required keyward must see that no daemon is behind the pid and refuse a
# vault change (vault unchanged); tests/start-auditd.sh must see it too and
# start a new auditd, after which the change goes through and ausearch
# finds its record. Only an auditd that tests/start-auditd.sh started
# (its pid file) is killed; under CI that is always the case.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/audit/audit-lib.sh"
need_root
need_auditd

PIDFILE=/run/keyward-tests/auditd.pid
reg=$(auditctl -s | sed -n 's/^pid //p')
mine=$(cat "$PIDFILE" 2>/dev/null || true)
[ -n "$mine" ] && [ "$mine" = "$reg" ] ||
	skip "the running auditd (pid $reg) was not started by the tests"

new_root
CONF=$(find "$KW_ROOT" -name keyward.conf -path '*/keyward/*' | head -n 1)
VAULT=$(sed -n 's/^vault *= *//p' "$CONF")
name="dd-$$"
printf 'v1' | kw add "$name" >/dev/null || { notok "add before"; finish; }
sum_before=$(sha256sum "$VAULT" | cut -d' ' -f1)

# kill our auditd; make sure it is gone before going on
kill -KILL "$mine"
i=0
while kill -0 "$mine" 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.05; i=$((i + 1))
done
# whatever happens next, leave a live auditd behind
at_exit "sh '$top_srcdir/tests/start-auditd.sh'"
check_fails "our auditd (pid $mine) is gone" kill -0 "$mine" 2>/dev/null

expect_status 1 "rotate with a dead auditd is refused" \
	sh -c "printf v2 | \"\$KEYWARD\" --root '$KW_ROOT' rotate '$name'"
check "the refusal says no daemon runs" \
	contains "$err" "no audit daemon is running"
sum_after=$(sha256sum "$VAULT" | cut -d' ' -f1)
check "the vault is unchanged" [ "$sum_before" = "$sum_after" ]

out=$(sh "$top_srcdir/tests/start-auditd.sh" 2>&1) && st=0 || st=$?
check "start-auditd.sh starts a new auditd (said: $out)" \
	sh -c "[ $st -eq 0 ] && echo '$out' | grep -q 'auditd started'"
new=$(auditctl -s | sed -n 's/^pid //p')
check "a live auditd is registered (pid $new)" \
	sh -c "[ '$new' -gt 0 ] && [ '$new' != '$mine' ] && kill -0 '$new'"

since=$(LC_ALL=C date '+%x %T')
expect_status 0 "rotate goes through again" \
	sh -c "printf v2 | \"\$KEYWARD\" --root '$KW_ROOT' rotate '$name'"
n=0
for _ in 1 2 3 4 5 6 7 8 9 10; do
	n=$(ausearch -m CRYPTO_KEY_USER -ts $since -i 2>/dev/null |
	    grep "op=keyward-vault" | grep -c "kw_secret=\"\?$name\"\? .*kw_version=2")
	[ "$n" -ge 1 ] && break
	sleep 0.2
done
check "ausearch finds the rotation's record ($n)" [ "$n" -eq 1 ]
finish
