#!/bin/sh
# tests/pam/failclosed.sh - bad input stops the session with no key
# delivered and a clear syslog line: malformed policy, missing vault,
# corrupt vault (a record failing mid-delivery: all or nothing), unsafe
# files, bad keyward.conf.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/pam/pamlib.sh"

pam_setup
sink_start
U=kwf$$a
add_user "$U" || { notok "useradd $U"; finish; }
SA=fc$$-a
SB=fc$$-b
secret "$SA" "aaaa-$$"
secret "$SB" "bbbb-$$"
SVC=kw-test-$$-fc
pam_service "$SVC"
GOOD="allow user=$U secrets=$SA,$SB ttl=1h"
policy "$GOOD"
open_close() { in_ns $FOREIGN pamtester "$SVC" "$U" open_session close_session; }
nothing_delivered() {
	[ "$(keys_named "$SA")" -eq 0 ] && [ "$(keys_named "$SB")" -eq 0 ] &&
	    [ "$(sessions)" -eq 0 ]
}

expect_status 0 "control: a good setup opens and closes" open_close

# malformed policy
policy "$GOOD" "allow user=$U secrets=$SA ttl=forever"
expect_status 1 "malformed policy: account fails" \
    in_ns $FOREIGN pamtester "$SVC" "$U" acct_mgmt
expect_status 1 "malformed policy: session fails" open_close
check "malformed policy: nothing delivered" nothing_delivered
check "malformed policy: syslog has file:line" logged "policy.conf:2:"
policy "$GOOD"

# unsafe policy file
chmod 664 "$KW_ETC/policy.conf"
expect_status 1 "group-writable policy.conf: session fails" open_close
check "unsafe policy: nothing delivered" nothing_delivered
check "unsafe policy: syslog says why" logged "policy.conf: writable by group or others"
chmod 644 "$KW_ETC/policy.conf"

# bad keyward.conf
echo "bogus = 1" >>"$KW_CONF"
expect_status 1 "unknown keyward.conf setting: session fails" open_close
check "bad keyward.conf: syslog has file:line" logged "keyward.conf:"
check "bad keyward.conf: nothing delivered" nothing_delivered
sed -i '/^bogus/d' "$KW_CONF"

# missing vault
mv "$KW_VAULT" "$KW_VAULT.away"
expect_status 1 "missing vault: session fails" open_close
check "missing vault: nothing delivered" nothing_delivered
check "missing vault: syslog names the vault" logged "$KW_VAULT"
mv "$KW_VAULT.away" "$KW_VAULT"

# unsafe vault (readable by others)
chmod 644 "$KW_VAULT"
expect_status 1 "world-readable vault: session fails" open_close
check "unsafe vault: nothing delivered" nothing_delivered
chmod 600 "$KW_VAULT"

# corrupt vault: the last record (the second secret) fails after the first
# was delivered, so the first must be revoked again
cp -p "$KW_VAULT" "$KW_TMP/vault.good"
size=$(stat -c %s "$KW_VAULT")
last=$(od -An -tu1 -j $((size - 1)) -N1 "$KW_VAULT" | tr -d ' ')
printf "$(printf '\\%03o' $(( (last ^ 1) & 255 )))" |
    dd of="$KW_VAULT" bs=1 seek=$((size - 1)) conv=notrunc 2>/dev/null
expect_status 1 "corrupt vault record: session fails" open_close
check "corrupt vault: no key stays delivered (all or nothing)" nothing_delivered
check "corrupt vault: syslog names the secret" logged "secret '$SB'"
cp -p "$KW_TMP/vault.good" "$KW_VAULT"
expect_status 0 "restored vault: the session opens again" open_close

# keyward.conf broken while a session runs: its close still revokes, with
# the settings the session was opened with, and says keyward.conf is bad
expect_status 1 "keyward.conf broken during the session: the close reports it" \
    in_ns "$PAMDRIVE" "$SVC" "$U" open \
    "sh:$KREAD -f $SA >$KW_TMP/fc-serial; echo 'bogus' >>'$KW_CONF'" close
check "... after the open had delivered" [ -s "$KW_TMP/fc-serial" ]
check "... the close failed as a service error" contains "$err" "close: Error in service module"
check "... syslog names keyward.conf's bad line" logged "keyward.conf:"
check "... and says the session is closed all the same" \
    logged "with the run_dir and audit mode it was opened with"
check "... its keys are revoked and it is unregistered" nothing_delivered
check "... the key is dead" key_dead "$(cat "$KW_TMP/fc-serial")"
sed -i '/^bogus/d' "$KW_CONF"
expect_status 0 "keyward.conf repaired: sessions open again" open_close

check "no secret value in syslog" sh -c "! grep -qE 'aaaa-$$|bbbb-$$' '$SYSLOG'"
finish
