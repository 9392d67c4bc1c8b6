#!/bin/sh
# tests/lifecycle/rotate.sh - keyward rotate reaches running agents: five
# real agents in five sessions of three users (one scope=user key) read the
# new value on their next read, same serial, timeout not extended; exactly
# five keyward-update records; rollback restores the previous value
# everywhere; a session whose process is gone is cleaned, not updated.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/pam/pamlib.sh"
. "$top_srcdir/tests/lifecycle/lclib.sh"
export LC_ALL=C

lc_setup
U1=kwlr$$a U2=kwlr$$b U3=kwlr$$c U4=kwlr$$d
for u in $U1 $U2 $U3 $U4; do
	add_user "$u" || { notok "useradd $u"; finish; }
done
R=lcrot$$ O=lcoth$$
secret "$R" "rot-v1-$$"
secret "$O" "oth-v1-$$"
policy "allow user=$U1,$U2 service=$SVC secrets=$R ttl=1h" \
    "allow user=$U3 service=$SVC secrets=$R scope=user ttl=50s" \
    "allow user=$U4 service=$SVC secrets=$O ttl=1h"

# a1 leaves a worker holding its session keyring when its launcher is
# killed below (lclib.sh): its copy stays live until keyward cleans it
touch "$PUB/a1.hold"
start_agent a1 "$U1" "$R" && start_agent a2 "$U1" "$R" &&
    start_agent a3 "$U2" "$R" && start_agent a4 "$U2" "$R" &&
    start_agent a5 "$U3" "$R" && start_agent o1 "$U4" "$O" ||
    { notok "six agents started"; finish; }
ok "five agents of $R and one of $O started"
for a in a1 a2 a3 a4 a5; do
	check "$a reads version 1" sees $a "rot-v1-$$"
done
for a in a1 a2 a3 a4 a5; do
	eval "serial_$a=\$(serial_of $a)"
done
sids=$(for a in a1 a2 a3 a4 a5; do sid_of $a; done | sort -u | wc -l)
check "five distinct sessions" [ "$sids" -eq 5 ]
# the scope=user key's remaining timeout, in seconds
ttl_of() {
	awk -v s="$(printf '%08x' "$1")" '$1 == s { sub(/s$/, "", $4); print $4 }' /proc/keys
}
t_before=$(ttl_of "$serial_a5")

audit_start
expect_status 0 "keyward rotate $R (value from stdin)" \
    sh -c "printf 'rot-v2-$$' | '$KEYWARD' --root '$KW_ROOT' rotate '$R'"
check "rotate says it updated 5 live copies" \
    contains "$out" "5 live copies of $R updated in place to version 2"
for a in a1 a2 a3 a4 a5; do
	check "$a reads version 2 without a restart" sees $a "rot-v2-$$"
	eval "s=\$serial_$a"
	check "$a: same key serial ($s)" [ "$(serial_of $a)" = "$s" ]
done
check "the agent of the other secret still reads its value" \
    keeps o1 "oth-v1-$$"
t_after=$(ttl_of "$serial_a5")
check "the timeout was kept, not extended ($t_before s -> $t_after s)" \
    test -n "$t_after" -a "${t_after:-0}" -le "${t_before:-0}" -a "${t_after:-0}" -gt 0
n=$(records update "$R" 2)
check "exactly 5 keyward-update records for version 2 (got $n)" [ "$n" -eq 5 ]
au=$(ausearch --start $AU_START -m CRYPTO_KEY_USER --raw 2>/dev/null |
    grep -F "op=keyward-update kw_secret=\"$R\"")
check "update records carry fp=, kw_serial=, kw_session=, acct=" \
    sh -c 'printf "%s\n" "$1" | grep -q " fp=[0-9a-f]\{16\} kw_serial=$2 kw_scope=session kw_session=\"[0-9a-f]\{16\}\" acct=\"$3\""' \
    sh "$au" "$serial_a1" "$U1"
check "the scope=user copy is recorded once, as user scope" \
    sh -c 'printf "%s\n" "$1" | grep -c "kw_serial=$2 kw_scope=user" | grep -qx 1' \
    sh "$au" "$serial_a5"
check "no value in the records" eval '! contains "$au" "rot-v"'
expect_status 0 "keyward sessions after the rotation" kw sessions
check "sessions shows version 2 for the rotated copies" \
    [ "$(printf '%s\n' "$out" | grep -c " $R  *2 ")" -eq 5 ]

# rollback: version 1 everywhere again
audit_start
expect_status 0 "keyward rollback $R" kw rollback "$R"
check "rollback says it updated 5 live copies" \
    contains "$out" "5 live copies of $R updated in place to version 1"
for a in a1 a2 a3 a4 a5; do
	check "$a reads version 1 again" sees $a "rot-v1-$$"
done
n=$(records update "$R" 1)
check "exactly 5 keyward-update records for the rollback (got $n)" [ "$n" -eq 5 ]

# a session whose process is gone is cleaned, not updated
kill -KILL "$(cat "$PUB/a1.pid")"
wait "$(cat "$PUB/a1.pid")" 2>/dev/null
check "a1's copy is still live after its launcher died (its worker holds it)" \
    eval '! key_dead "$serial_a1"'
audit_start
expect_status 0 "rotate with a dead session" \
    sh -c "printf 'rot-v3-$$' | '$KEYWARD' --root '$KW_ROOT' rotate '$R'"
check "... 4 live copies updated" \
    contains "$out" "4 live copies of $R updated in place to version 3"
check "... the dead session's copy cleaned" \
    contains "$out" "cleaned $R (version 1, serial $serial_a1): session $(sid_of a1)"
check "the dead session's key is revoked" key_dead "$serial_a1"
for a in a2 a3 a4 a5; do
	check "$a reads version 3" sees $a "rot-v3-$$"
done
n=$(records update "$R" 3)
check "exactly 4 keyward-update records for version 3 (got $n)" [ "$n" -eq 4 ]
n=$(records revoke "$R")
check "one keyward-revoke record for the cleaned copy (got $n)" [ "$n" -eq 1 ]
expect_status 0 "sessions" kw sessions
check "the dead session is gone from sessions" \
    eval '! contains "$out" "$(sid_of a1)"'

# two rotations in a row: the agent ends on the last one
expect_status 0 "rotate $O twice in a row" \
    sh -c "printf 'oth-v2-$$' | '$KEYWARD' --root '$KW_ROOT' rotate '$O' && printf x | '$KEYWARD' --root '$KW_ROOT' rotate '$O'"
check "... the agent of it got the update" sees o1 "x"
stop_agents a2 a3 a4 a5 o1
check "no live key of $R is left after the agents ended" \
    [ "$(keys_named "$R")" -eq 0 ]
finish
