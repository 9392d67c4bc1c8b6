#!/bin/sh
# tests/pam/pamtester.sh - the module through real PAM stacks driven by
# pamtester: gate, delivery into a fresh session keyring (read by the user
# inside the session via pam_exec), the registry, revocation at close,
# setcred before open_session, unknown options, and the crash sweep.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/pam/pamlib.sh"

pam_setup
sink_start
U=kwp$$a
D=kwp$$d
add_user "$U" || { notok "useradd $U"; finish; }
add_user "$D" || { notok "useradd $D"; finish; }
S1=pt$$-one
S2=pt$$-two
secret "$S1" "value-one-$$"
secret "$S2" "value-two-$$"
policy "allow user=$U secrets=$S1 ttl=1h"

# a session hook that runs as the user inside the session: reads the keys
for f in read1 read2 serial ring after; do pubfile $f "$U"; done
cat >"$PUB/hook.sh" <<HOOK
#!/bin/sh
[ "\$PAM_TYPE" = open_session ] || exit 0
setpriv --reuid=$U --regid=$U --clear-groups sh -c '
	keyctl print %user:keyward:$S1 >$PUB/read1 2>&1
	$KREAD -s $S2 >$PUB/read2 2>&1
	$KREAD -f $S1 >$PUB/serial 2>&1
	keyctl rdescribe @s >$PUB/ring 2>&1
	# stay in the session past its close, then try again
	if [ ! -s $PUB/after ]; then
		( i=0; while [ ! -e $PUB/go ] && [ \$i -lt 100 ]; do
			sleep 0.1; i=\$((i + 1)); done
		  $KREAD \$(cat $PUB/serial) >$PUB/after 2>&1 ) \
		    </dev/null >/dev/null 2>&1 &
		echo started >$PUB/after
	fi'
exit 0
HOOK
chmod 755 "$PUB/hook.sh"
SVC=kw-test-$$-pt
PAM_EXTRA="session required pam_exec.so quiet $PUB/hook.sh" pam_service "$SVC"

expect_status 0 "pamtester: acct_mgmt, open_session, close_session" \
    in_ns $FOREIGN pamtester -v "$SVC" "$U" acct_mgmt open_session close_session
check "the user read its granted secret inside the session" \
    [ "$(cat "$PUB/read1")" = "value-one-$$" ]
check "the best-effort status check left its stamp in the registry (root, 0600)" \
    [ "$(stat -c '%u %a' "$KW_RUN/audit-ok" 2>&1)" = "0 600" ]
check "a secret not granted is not there (ENOKEY)" \
    [ "$(cat "$PUB/read2")" = "ENOKEY" ]
serial=$(cat "$PUB/serial")
check "the session keyring is a fresh one, not the user default _uid_ses" \
    sh -c "! grep -q _uid_ses '$PUB/ring'"
check "after close_session the key is revoked (root's view)" key_dead "$serial"
check "root outside the session cannot read it (EACCES)" \
    [ "$($KREAD "$serial")" = EACCES ]
: >"$PUB/after"
touch "$PUB/go"
wait_file "$PUB/after"
check "a process left in the closed session reads EKEYREVOKED" \
    [ "$(cat "$PUB/after")" = EKEYREVOKED ]
check "no live keyward:$S1 key remains" [ "$(keys_named "$S1")" -eq 0 ]
check "the registry holds no session after close" [ "$(sessions)" -eq 0 ]
check "registry directory is mode 0700" \
    [ "$(stat -c %a "$KW_RUN")" = 700 ]

# denied user: account fails with PAM_PERM_DENIED, no session
expect_status 1 "denied user: acct_mgmt fails" \
    in_ns $FOREIGN pamtester "$SVC" "$D" acct_mgmt
check "denied user: syslog says denied by default-deny" \
    logged "user '$D' on service '$SVC': denied by default-deny"
expect_status 1 "denied user: open_session fails too" \
    in_ns $FOREIGN pamtester "$SVC" "$D" open_session
check "denied user: nothing in the registry" [ "$(sessions)" -eq 0 ]

# setcred with every flag succeeds without side effects
expect_status 0 "setcred establish/reinit/refresh/delete succeed alone" \
    in_ns "$PAMDRIVE" "$SVC" "$U" establish reinit refresh delete
check "setcred alone delivers nothing" [ "$(keys_named "$S1")" -eq 0 ]
: >"$PUB/read1"
expect_status 0 "setcred(ESTABLISH) before open_session, as su does" \
    in_ns "$PAMDRIVE" "$SVC" "$U" acct establish open close delete
check "... and the session still got its secret" \
    [ "$(cat "$PUB/read1")" = "value-one-$$" ]

# an unknown option is PAM_SERVICE_ERR with a syslog line
SVC2=kw-test-$$-badopt
at_exit "rm -f /etc/pam.d/$SVC2"
echo "account required $MODULE config=$KW_CONF frobnicate" >/etc/pam.d/$SVC2
expect_status 1 "unknown module option fails" in_ns $FOREIGN pamtester "$SVC2" "$U" acct_mgmt
check "unknown option is named in syslog" logged "unknown option 'frobnicate'"

# a crashed session (opened, never closed) is swept at the next open
: >"$PUB/serial"
expect_status 0 "open_session without close (the process then exits)" \
    in_ns $FOREIGN pamtester "$SVC" "$U" open_session
crashed=$(cat "$PUB/serial")
check "the unclosed session is in the registry" [ "$(sessions)" -eq 1 ]
expect_status 0 "next session opens and closes" \
    in_ns $FOREIGN pamtester "$SVC" "$U" open_session close_session
check "the crashed session's key was revoked by the sweep" key_dead "$crashed"
check "the sweep is logged" logged "is gone: its keys were revoked"
check "the registry is empty again" [ "$(sessions)" -eq 0 ]
# group= matches a supplementary group: the group names are looked up
# only when a rule has a group= matcher, so check both ways
G=kwpg$$
groupadd "$G" && at_exit "groupdel '$G'" || notok "groupadd $G"
usermod -aG "$G" "$U" || notok "usermod -aG $G $U"
policy "allow user=$U secrets=$S1 ttl=1h" "allow group=$G secrets=$S2 ttl=1h"
: >"$PUB/read2"
expect_status 0 "a session of a member of $G (supplementary)" \
    in_ns $FOREIGN pamtester "$SVC" "$U" acct_mgmt open_session close_session
check "group=$G granted its secret (read OK)" [ "$(cat "$PUB/read2")" = "OK" ]
gpasswd -d "$U" "$G" >/dev/null || notok "gpasswd -d $U $G"
: >"$PUB/read2"
expect_status 0 "a session after leaving $G" \
    in_ns $FOREIGN pamtester "$SVC" "$U" acct_mgmt open_session close_session
check "no longer in $G: its secret is not delivered (ENOKEY)" \
    [ "$(cat "$PUB/read2")" = "ENOKEY" ]
check "no secret value in syslog" sh -c "! grep -q 'value-' '$SYSLOG'"
finish
