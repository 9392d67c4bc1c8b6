#!/bin/sh
# tests/pam/su-runuser.sh - pam_keyward under su and runuser, whose PAM
# service names are fixed: a test stack is bind-mounted over /etc/pam.d/su
# and /etc/pam.d/runuser inside a private mount namespace, so the real
# files are never changed.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/pam/pamlib.sh"

pam_setup
command -v su >/dev/null 2>&1 || skip "su not installed"
command -v runuser >/dev/null 2>&1 || skip "runuser not installed"
sink_start
U=kws$$a
D=kws$$d
add_user "$U" || { notok "useradd $U"; finish; }
add_user "$D" || { notok "useradd $D"; finish; }
S1=su$$-key
secret "$S1" "suvalue-$$"
policy "allow user=$U service=su,runuser secrets=$S1 ttl=1h"
M="$MODULE config=$KW_CONF"
cat >"$KW_TMP/stack" <<STACK
auth     sufficient pam_rootok.so
auth     required   pam_deny.so
account  required   $M
session  required   $M
STACK
chmod 644 "$KW_TMP/stack"
cat >"$PUB/agent.sh" <<AGENT
#!/bin/sh
keyctl print %user:keyward:$S1 >$PUB/read 2>&1
$KREAD -f $S1 >$PUB/serial 2>&1
id -un >$PUB/who
AGENT
chmod 755 "$PUB/agent.sh"

# as_service SERVICE CMD...: run CMD with the test stack over /etc/pam.d/SERVICE
as_service() {
	local svc=$1
	shift
	in_ns sh -c 'mount --bind "$1" "/etc/pam.d/$2" && shift 2 && exec "$@"' \
	    sh "$KW_TMP/stack" "$svc" "$@"
}

for f in read serial who; do pubfile $f "$U"; done
expect_status 0 "su: the agent runs" \
    as_service su $FOREIGN su -s /bin/sh -c "$PUB/agent.sh" "$U"
check "su: the agent ran as the user" [ "$(cat "$PUB/who")" = "$U" ]
check "su: the agent read its granted secret" [ "$(cat "$PUB/read")" = "suvalue-$$" ]
check "su: the key is revoked after su returns" key_dead "$(cat "$PUB/serial")"
check "su: registry empty after" [ "$(sessions)" -eq 0 ]
expect_status 1 "su: a denied user does not get a shell" \
    as_service su $FOREIGN su -s /bin/sh -c "echo started" "$D"
check "su: ... and nothing ran" sh -c "! printf '%s' \"\$1\" | grep -q started" sh "$out"

# su run by another user (set-uid root: real uid = the invoker): the
# session keyring still belongs to the agent's user, not the invoker
sed 's/^auth .*pam_rootok.so$/auth     sufficient pam_permit.so/' \
    "$KW_TMP/stack" >"$KW_TMP/stack.permit"
chmod 644 "$KW_TMP/stack.permit"
cat >"$PUB/ring.sh" <<RING
#!/bin/sh
keyctl rdescribe @s >$PUB/ring 2>&1
keyctl print %user:keyward:$S1 >$PUB/read 2>&1
RING
chmod 755 "$PUB/ring.sh"
for f in read ring; do pubfile $f "$U"; done
if [ -n "$ASAN_RT" ]; then
	# a set-uid program run by a non-root user ignores LD_PRELOAD: it
	# cannot load an ASan-instrumented module (the normal build runs it)
	echo "# not in an ASan build: su invoked by another user"
else
expect_status 0 "su invoked by another user: the agent runs" \
    in_ns sh -c 'mount --bind "$1" /etc/pam.d/su && shift && exec "$@"' \
    sh "$KW_TMP/stack.permit" setpriv --reuid="$D" --regid="$D" \
    --clear-groups su -s /bin/sh -c "$PUB/ring.sh" "$U"
check "... the agent read its granted secret" [ "$(cat "$PUB/read")" = "suvalue-$$" ]
check "... its session keyring belongs to the agent, not the invoker ($(cat "$PUB/ring"))" \
    [ "$(cut -d';' -f2 "$PUB/ring")" = "$(id -u "$U")" ]
fi

for f in read serial who; do pubfile $f "$U"; done
expect_status 0 "runuser: the agent runs" \
    as_service runuser $FOREIGN runuser -u "$U" -- "$PUB/agent.sh"
check "runuser: the agent ran as the user" [ "$(cat "$PUB/who")" = "$U" ]
check "runuser: the agent read its granted secret" \
    [ "$(cat "$PUB/read")" = "suvalue-$$" ]
check "runuser: the key is revoked after runuser returns" key_dead "$(cat "$PUB/serial")"
check "the real /etc/pam.d/su was never changed" \
    sh -c "! grep -q pam_keyward /etc/pam.d/su /etc/pam.d/runuser"
finish
