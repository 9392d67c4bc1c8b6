#!/bin/sh
# tests/pam/systemd-order.sh - a service manager's order, as systemd runs
# a unit with User= and PAMName= (src/core/execute.c, exec_child): it
# joins the service's own session keyring first (KeyringMode=private),
# then pam_start, acct_mgmt, setcred(ESTABLISH) and open_session; it forks
# the main process (the user's groups, gid, uid; the PAM environment) and
# keeps a process, (sd-pam), that waits for it, drops to the service's
# uid ("we don't need any [privileges] to pam_close_session"), then closes
# the session and deletes the credentials. systemd is not PID 1 on the
# test machines, so kw_pamdrive plays it step by step with the module
# from the build tree: the main process must hold its granted secret, in
# a keyring of its own (not the one joined before PAM); the close without
# root unlinks it from that keyring, so that a process the unit left
# behind (KillMode=process) cannot reach it any more; the registry keeps
# the session until the next sweep (which finds the key gone: freed by
# the kernel once unlinked from its only keyring).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/pam/pamlib.sh"

pam_setup
sink_start
U=kwsd$$a
add_user "$U" || { notok "useradd $U"; finish; }
S=sd$$-key
O=sd$$-other
secret "$S" "sd-value-$$"
secret "$O" "sd-other-$$"
SVC=kw-test-$$-sd
pam_service "$SVC"
policy "allow user=$U service=$SVC secrets=$S ttl=1h"

for f in read other ring serial env late; do pubfile $f "$U"; done
cat >"$PUB/main.sh" <<MAIN
#!/bin/sh
keyctl print %user:keyward:$S >$PUB/read 2>&1
$KREAD -s $O >$PUB/other 2>&1
keyctl rdescribe @s >$PUB/ring 2>&1
keyctl id @s >>$PUB/ring 2>&1
$KREAD -f $S >$PUB/serial 2>&1
echo "\$KEYWARD_SESSION" >$PUB/env
# left behind: waits (at most 30 s) for the close, then tries again
( i=0; while [ ! -e $PUB/go ] && [ \$i -lt 600 ]; do sleep 0.05; i=\$((i + 1)); done
  $KREAD -s $S >$PUB/late 2>&1 ) </dev/null >/dev/null 2>&1 &
MAIN
chmod 755 "$PUB/main.sh"

expect_status 0 "joinring, acct, establish, open, main process, drop to the user, close, delete" \
    in_ns "$PAMDRIVE" "$SVC" "$U" joinring acct establish open \
    "exec:$PUB/main.sh" dropuid close delete
check "the main process read its secret" [ "$(cat "$PUB/read")" = "sd-value-$$" ]
check "a secret not granted is not there (ENOKEY)" [ "$(cat "$PUB/other")" = ENOKEY ]
joined=$(printf '%s\n' "$out" | sed -n 's/^joined keyring //p')
check "its session keyring is an anonymous one (_ses)" \
    sh -c "head -1 '$PUB/ring' | grep -q ';_ses\$'"
check "... not the one joined before PAM ($joined): pam_keyward's own" \
    sh -c "[ -n '$joined' ] && [ \"\$(tail -1 '$PUB/ring')\" != '$joined' ]"
check "KEYWARD_SESSION reached the main process's environment" \
    sh -c "[ -s '$PUB/env' ] && grep -Eq '^[0-9a-f]{16}\$' '$PUB/env'"
sid=$(cat "$PUB/env")
check "the close without root says what it did, and what it cannot do" \
    logged "close of session $sid without root privileges (uid $(id -u "$U")): 1 key(s) unlinked from its keyring"
check "... at warning level, not as a failure" \
    sh -c "grep -F 'close of session $sid' '$SYSLOG' | grep -q '^<84>'"
: >"$PUB/go"
wait_file "$PUB/late"
check "a process left in the session cannot reach the key after the close (ENOKEY)" \
    [ "$(cat "$PUB/late")" = ENOKEY ]
# gone SERIAL: the kernel frees an unlinked key shortly after; wait a bit
gone() {
	local i=0
	while ! key_dead "$1" && [ $i -lt $((40 * KW_PATIENCE)) ]; do
		sleep 0.05
		i=$((i + 1))
	done
	key_dead "$1"
}
check "unlinked from its only keyring, the key is gone" gone "$(cat "$PUB/serial")"
check "the registry keeps the session for the sweep" [ "$(sessions)" -eq 1 ]
expect_status 0 "keyward sessions sweeps the session of the gone opener" kw sessions
check "... so the registry is empty" [ "$(sessions)" -eq 0 ]
finish
