#!/bin/sh
# tests/fault/edquot.sh - the kernel key quota runs out during a session
# open (keys are owned by root, so root's quota is lowered for a moment:
# root_maxbytes, then root_maxkeys; both restored right after and at exit,
# even on failure): the open fails closed with a message naming the secret
# and "quota", and nothing is half-delivered.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/pam/pamlib.sh"

pam_setup
PAMCASE="$top_builddir/tests/bad-input/kw_pamcase"
# keep the module (and the libraries it pulls in) loaded past pam_end():
# memory those libraries keep for the life of the process is not a leak
export KW_PAMCASE_KEEP="$top_builddir/.libs/pam_keyward.so"
Q=/proc/sys/kernel/keys
[ -w "$Q/root_maxbytes" ] || skip "cannot change $Q"
MAXBYTES=$(cat "$Q/root_maxbytes")
MAXKEYS=$(cat "$Q/root_maxkeys")
restore() {
	echo "$MAXBYTES" >"$Q/root_maxbytes"
	echo "$MAXKEYS" >"$Q/root_maxkeys"
}
at_exit restore
U=kwq$$u
add_user "$U" || { notok "useradd $U"; finish; }
A=quota$$-a
B=quota$$-b
head -c 3000 /dev/urandom | base64 -w0 | head -c 3000 | kw add "$A" >/dev/null
head -c 3000 /dev/urandom | base64 -w0 | head -c 3000 | kw add "$B" >/dev/null
SVC=kw-quota-$$
policy "allow user=$U service=$SVC secrets=$A,$B ttl=1h"
pam_confdir "$SVC"

# root_usage FIELD: root's keys (4) or bytes (5) charged now (quota)
root_usage() {
	awk -v f="$1" '$1 == "0:" { split($f, a, "/"); print a[1] }' \
	    /proc/key-users
}
# settle: wait (at most 5 s) until the garbage collector has freed the
# revoked keys of earlier steps: root's charge unchanged for 0.5 s
settle() {
	local last="" now i=0
	while [ $i -lt 10 ]; do
		now="$(root_usage 4)/$(root_usage 5)"
		[ "$now" = "$last" ] && return 0
		last=$now
		sleep 0.5
		i=$((i + 1))
	done
}
live() { echo $(( $(keys_named "$A") + $(keys_named "$B") )); }

expect_status 0 "control: with the usual quota the session opens" \
    ${KW_WRAP:-} "$PAMCASE" "$PAMD" "$SVC" "$U" acct open close
check "... and closes, revoking both keys" [ "$(live)" -eq 0 ]

# room for the first 3000-byte secret, not for the second
settle
echo $(( $(root_usage 5) + 4000 )) >"$Q/root_maxbytes"
${KW_WRAP:-} "$PAMCASE" "$PAMD" "$SVC" "$U" acct open >"$KW_TMP/out" 2>&1
rc=$?
restore
out=$(cat "$KW_TMP/out")
check "maxbytes: the session open fails" [ $rc -ne 0 ]
check "... the message says quota" contains "$out" "quota"
check "... and names the secret that did not fit" contains "$out" "$B"
check "... nothing is left half-delivered" [ "$(live)" -eq 0 ]
check "... the registry holds no session" [ "$(sessions)" -eq 0 ]
echo "$out" | grep 'syslog: pam_keyward' | cut -c1-300

settle
echo $(( $(root_usage 4) + 1 )) >"$Q/root_maxkeys"
${KW_WRAP:-} "$PAMCASE" "$PAMD" "$SVC" "$U" acct open >"$KW_TMP/out" 2>&1
rc=$?
restore
out=$(cat "$KW_TMP/out")
check "maxkeys: the session open fails" [ $rc -ne 0 ]
check "... the message says quota" contains "$out" "quota"
check "... and names the secret that did not fit" contains "$out" "$B"
check "... nothing is left half-delivered" [ "$(live)" -eq 0 ]
check "... the registry holds no session" [ "$(sessions)" -eq 0 ]
echo "$out" | grep 'syslog: pam_keyward' | cut -c1-300

check "the quotas are restored" \
    [ "$(cat "$Q/root_maxbytes")" = "$MAXBYTES" ] &&
    [ "$(cat "$Q/root_maxkeys")" = "$MAXKEYS" ]
expect_status 0 "with the quota restored the session opens again" \
    ${KW_WRAP:-} "$PAMCASE" "$PAMD" "$SVC" "$U" acct open close
finish
