#!/bin/sh
# tests/lifecycle/revoke.sh - the kill switch: keyward revoke --secret,
# --session, --user and --all revoke exactly the matching live copies of
# real running agents (their reads fail as revoked at once) while the
# others keep reading; each revocation is recorded and leaves the
# registry; a new session gets the secret again. Usage errors.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/pam/pamlib.sh"
. "$top_srcdir/tests/lifecycle/lclib.sh"
export LC_ALL=C

lc_setup
U1=kwlv$$a U2=kwlv$$b U3=kwlv$$c
for u in $U1 $U2 $U3; do
	add_user "$u" || { notok "useradd $u"; finish; }
done
X=lcx$$ Y=lcy$$
secret "$X" "x-value-$$"
secret "$Y" "y-value-$$"
# one secret per session: X on $SVC, Y on a second service
SVC2=kw-test-$$-lc2
pam_service "$SVC2"
policy "allow user=$U1,$U2,$U3 service=$SVC secrets=$X ttl=1h" \
    "allow user=$U1,$U2,$U3 service=$SVC2 secrets=$Y ttl=1h"

# b1 U1/X  b2 U1/Y  b3 U2/X  b4 U2/Y  b5 U3/X
start_agent b1 "$U1" "$X" && start_agent b2 "$U1" "$Y" "$SVC2" &&
    start_agent b3 "$U2" "$X" && start_agent b4 "$U2" "$Y" "$SVC2" &&
    start_agent b5 "$U3" "$X" || { notok "five agents started"; finish; }
ok "five agents started"
for a in b1 b3 b5; do check "$a reads $X" sees $a "x-value-$$"; done
for a in b2 b4; do check "$a reads $Y" sees $a "y-value-$$"; done

# usage
expect_status 2 "revoke with nothing to say what is a usage error" kw revoke
expect_status 2 "--all with another option is a usage error" \
    kw revoke --all --secret "$X"
expect_status 2 "a malformed session id is a usage error" \
    kw revoke --session nothex
expect_status 2 "a bad secret name is a usage error" kw revoke --secret '../x'
expect_status 2 "an extra argument is a usage error" kw revoke --all extra
expect_status 1 "revoke refuses a non-root caller" \
    setpriv --reuid="$U1" --regid="$U1" --clear-groups "$KEYWARD" \
    --root "$KW_ROOT" revoke --all
check "... nothing was revoked by the refused calls" sees b1 "x-value-$$"
expect_status 0 "revoking a secret nobody holds is not an error" \
    kw revoke --secret "nosuch$$"
check "... and says nothing was revoked" contains "$out" "nothing revoked"

# --secret Y: b2, b4
b2_serial=$(serial_of b2)
audit_start
expect_status 0 "revoke --secret $Y" kw revoke --secret "$Y"
check "... 2 keys revoked" contains "$out" "2 keys revoked"
check "... naming b2's session" contains "$out" "session $(sid_of b2) of user $U1"
check "... naming b4's session" contains "$out" "session $(sid_of b4) of user $U2"
check "b2 lost $Y (EKEYREVOKED)" revoked b2
check "b4 lost $Y (EKEYREVOKED)" revoked b4
check "the kernel shows b2's key revoked" key_dead "$b2_serial"
for a in b1 b3 b5; do check "$a keeps reading $X" keeps $a "x-value-$$"; done
n=$(records revoke "$Y")
check "2 keyward-revoke records for $Y (got $n)" [ "$n" -eq 2 ]
expect_status 0 "sessions after revoking $Y" kw sessions
check "no $Y left in the registry" eval '! contains "$out" "$Y"'

# --session of b1
audit_start
expect_status 0 "revoke --session (b1)" kw revoke --session "$(sid_of b1)"
check "... 1 key revoked" contains "$out" "1 key revoked"
check "b1 lost $X" revoked b1
for a in b3 b5; do check "$a keeps reading $X" keeps $a "x-value-$$"; done
n=$(records revoke "$X")
check "1 keyward-revoke record (got $n)" [ "$n" -eq 1 ]

# --user U2
expect_status 0 "revoke --user $U2" kw revoke --user "$U2"
check "... 1 key revoked (b3's; b4's was revoked already)" \
    contains "$out" "1 key revoked"
check "b3 lost $X" revoked b3
check "b5 keeps reading $X" keeps b5 "x-value-$$"

# a revoked secret comes back only through a new session
start_agent b6 "$U1" "$X" || notok "a new agent started"
check "a new session of $U1 reads $X again" sees b6 "x-value-$$"
check "b1 (old session) still cannot" revoked b1

# a registry listing that fails stops the kill switch with an error: it
# never takes a directory it could not read whole for an empty one
need_strace
for cmd in "revoke --all" "sessions"; do
	# shellcheck disable=SC2086 # cmd: a command and its option
	expect_status 1 "$cmd whose registry listing fails (EIO) fails" \
	    traced -f -qq -o /dev/null -e trace=getdents64 \
	    -e inject=getdents64:error=EIO "$KEYWARD" --root "$KW_ROOT" $cmd
	check "... saying why" contains "$err" "listing: Input/output error"
done
check "... b5 keeps reading $X" keeps b5 "x-value-$$"
check "... b6 keeps reading $X" keeps b6 "x-value-$$"

# --all
audit_start
expect_status 0 "revoke --all" kw revoke --all
check "... 2 keys revoked (b5, b6)" contains "$out" "2 keys revoked"
check "b5 lost $X" revoked b5
check "b6 lost $X" revoked b6
n=$(records revoke "$X")
check "2 keyward-revoke records (got $n)" [ "$n" -eq 2 ]
check "no live key of $X in the kernel" [ "$(keys_named "$X")" -eq 0 ]
check "no live key of $Y in the kernel" [ "$(keys_named "$Y")" -eq 0 ]
expect_status 0 "sessions after revoke --all" kw sessions
check "the sessions remain, with no live key" \
    contains "$out" "6 sessions, 0 live keys"
expect_status 0 "revoke --all again: nothing left" kw revoke --all
check "... says nothing was revoked" contains "$out" "nothing revoked"
stop_agents b1 b2 b3 b4 b5 b6
check "the sessions were closed when the agents ended" [ "$(sessions)" -eq 0 ]
finish
