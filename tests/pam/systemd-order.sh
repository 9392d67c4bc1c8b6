#!/bin/sh
# tests/pam/systemd-order.sh - a service manager's order, as systemd runs
# a unit with User= and PAMName= (src/core/execute.c, exec_child): it
# joins the service's own session keyring first (KeyringMode=private),
# then pam_start, acct_mgmt, setcred(ESTABLISH) and open_session; it forks
# the main process (the user's groups, gid, uid; the PAM environment) and
# keeps a parent that waits for it, then closes the session and deletes
# the credentials. systemd is not PID 1 on the test machines, so
# kw_pamdrive plays it step by step with the module from the build tree:
# the main process must hold its granted secret, in a keyring of its own
# (not the one joined before PAM), and lose it at close.
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

for f in read other ring serial env; do pubfile $f "$U"; done
cat >"$PUB/main.sh" <<MAIN
#!/bin/sh
keyctl print %user:keyward:$S >$PUB/read 2>&1
$KREAD -s $O >$PUB/other 2>&1
keyctl rdescribe @s >$PUB/ring 2>&1
keyctl id @s >>$PUB/ring 2>&1
$KREAD -f $S >$PUB/serial 2>&1
echo "\$KEYWARD_SESSION" >$PUB/env
MAIN
chmod 755 "$PUB/main.sh"

expect_status 0 "joinring, acct, establish, open, main process, close, delete" \
    in_ns "$PAMDRIVE" "$SVC" "$U" joinring acct establish open \
    "exec:$PUB/main.sh" close delete
check "the main process read its secret" [ "$(cat "$PUB/read")" = "sd-value-$$" ]
check "a secret not granted is not there (ENOKEY)" [ "$(cat "$PUB/other")" = ENOKEY ]
joined=$(printf '%s\n' "$out" | sed -n 's/^joined keyring //p')
check "its session keyring is an anonymous one (_ses)" \
    sh -c "head -1 '$PUB/ring' | grep -q ';_ses\$'"
check "... not the one joined before PAM ($joined): pam_keyward's own" \
    sh -c "[ -n '$joined' ] && [ \"\$(tail -1 '$PUB/ring')\" != '$joined' ]"
check "KEYWARD_SESSION reached the main process's environment" \
    sh -c "[ -s '$PUB/env' ] && grep -Eq '^[0-9a-f]{16}\$' '$PUB/env'"
check "after close the key is dead" key_dead "$(cat "$PUB/serial")"
check "the registry is empty" [ "$(sessions)" -eq 0 ]
finish
