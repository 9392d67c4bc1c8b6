#!/bin/sh
# tests/pam/audit-required.sh - audit = required with a real auditd and
# keyward's kernel rules: the gate, every delivery and the revocation at
# close are user records that ausearch finds, carrying the secret, its
# fingerprint and serial - never the value.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/pam/pamlib.sh"
. "$top_srcdir/tests/audit/audit-lib.sh"

pam_setup
need_auditd
load_rules
sink_start
set_conf audit required
U=kwq$$a
add_user "$U" || { notok "useradd $U"; finish; }
S1=aud$$-key
secret "$S1" "auditvalue-$$"
SVC=kw-test-$$-aud
pam_service "$SVC"
policy "allow user=$U secrets=$S1 ttl=1h"
cat >"$PUB/agent.sh" <<AGENT
#!/bin/sh
$KREAD -s $S1 >$PUB/read 2>&1
$KREAD -f $S1 >$PUB/serial 2>&1
AGENT
chmod 755 "$PUB/agent.sh"
for f in read serial; do pubfile $f "$U"; done
# only the log written from here on is searched (the whole log is slow)
LOG=/var/log/audit/audit.log
ino=$(stat -c %i "$LOG")
off=$(( $(stat -c %s "$LOG") + 1 ))

# slice: into $KW_TMP/slice.log, what auditd wrote since the offset above,
# also when it rotated its log meanwhile (the file we started in is then
# audit.log.N, followed by the newer ones): oldest first, from the file
# with the starting inode on
slice() {
	local n f found=""
	: >"$KW_TMP/slice.log"
	for n in .9 .8 .7 .6 .5 .4 .3 .2 .1 ""; do
		f="$LOG$n"
		[ -f "$f" ] || continue
		if [ -n "$found" ]; then
			cat "$f" >>"$KW_TMP/slice.log"
		elif [ "$(stat -c %i "$f")" = "$ino" ]; then
			found=1
			tail -c +"$off" "$f" >>"$KW_TMP/slice.log"
		fi
	done
}

expect_status 0 "audit=required: the agent runs" \
    in_ns "$KEYWARD" --root "$KW_ROOT" run --user "$U" --service "$SVC" -- \
    "$PUB/agent.sh"
check "audit=required: the secret was delivered and read" [ "$(cat "$PUB/read")" = OK ]
serial=$(cat "$PUB/serial")

# find OP TYPE TEXT: the user records of op OP holding TEXT, by ausearch
# over the log written since the test began (auditd writes asynchronously:
# try for a few seconds)
find() {
	local i=0 r
	while [ $i -lt 50 ]; do
		slice
		r=$(ausearch -if "$KW_TMP/slice.log" -m "$2" 2>/dev/null |
		    grep "op=$1" | grep -F "$3" || true)
		[ -n "$r" ] && { printf '%s\n' "$r"; return 0; }
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}
gate=$(find keyward-gate USER_ACCT "acct=\"$U\"") || gate=""
check "a keyward-gate USER_ACCT record with kw_rule=file:line" \
    contains "$gate" "kw_rule=\"$KW_ETC/policy.conf:1\""
check "... res=success" contains "$gate" "res=success"
deliver=$(find keyward-deliver CRYPTO_KEY_USER "kw_serial=$serial") || deliver=""
check "a keyward-deliver record names the secret" contains "$deliver" "kw_secret=\"$S1\""
check "... with its serial" contains "$deliver" "kw_serial=$serial"
check "... with a 16-hex fingerprint" sh -c "printf '%s' \"\$1\" | grep -qE 'fp=[0-9a-f]{16}'" sh "$deliver"
check "... with the session id" contains "$deliver" "kw_session="
revoke=$(find keyward-revoke CRYPTO_KEY_USER "kw_serial=$serial") || revoke=""
check "a keyward-revoke record at close" contains "$revoke" "kw_secret=\"$S1\""
check "no record holds the value" sh -c "! grep -q 'auditvalue-$$' '$KW_TMP/slice.log'"
finish
