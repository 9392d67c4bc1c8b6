#!/bin/sh
# tests/lifecycle/schedule.sh - rotation schedules and generated values:
# keyward list shows a secret overdue, keyward check warns while it is
# overdue by less than its own period and fails past that, a rotation puts
# it right; rotate --generate N stores N random bytes as base64url and
# prints that value (only on stdout, once). Functional waits of a few
# seconds with a 3 s schedule (no timing is asserted); under valgrind,
# where each keyward command takes seconds, a 20 s schedule.
. "$top_srcdir/tests/lib.sh"
need_root
VTOOL="$top_builddir/tests/cmd/vault-tool"
[ -x "$VTOOL" ] || skip "tests/cmd/vault-tool not built"
new_root
CONF=$(find "$KW_ROOT" -name keyward.conf -path '*/keyward/*' | head -n 1)
sed -i 's/^audit *=.*/audit = best-effort/' "$CONF"

state_of() { kw list | awk -v n="$1" '$1 == n { print $8 }'; }
# wait_until T: sleep until the clock reads T (seconds since the epoch)
wait_until() {
	local now
	now=$(date +%s)
	[ "$1" -le "$now" ] || sleep $(($1 - now))
}
P=3
[ -z "${KW_UNDER_VALGRIND:-}" ] || P=20

t0=$(date +%s)
printf 'sched-v1' | kw add sch --rotate-every ${P}s >/dev/null
printf 'calm-v1' | kw add calm --rotate-every 30d >/dev/null
expect_status 0 "check: a fresh schedule is fine" kw check
check "... no warning" contains "$out" "0 warnings"
check "list: state ok" [ "$(state_of sch)" = ok ]

wait_until $((t0 + P + 2))	# overdue by less than its period
check "list: state overdue" [ "$(state_of sch)" = overdue ]
expect_status 0 "check: overdue by less than the period only warns" kw check
check "... with a warning naming the secret" \
    contains "$out" "warning: secret 'sch' is overdue for rotation by"
check "... and its schedule" contains "$out" "(every ${P}s, rotated"
check "... the other secret is not mentioned" eval '! contains "$out" "calm"'

wait_until $((t0 + 2 * P + 2))	# overdue by more than its period
expect_status 1 "check fails when overdue by more than the period" kw check
check "... saying so" \
    contains "$out" "secret 'sch' is overdue for rotation by"
check "... more than its period" contains "$out" "more than its period"
check "... as a problem" contains "$out" "1 problem"

expect_status 0 "rotate the overdue secret" sh -c "printf 'sched-v2' | '$KEYWARD' --root '$KW_ROOT' rotate sch"
expect_status 0 "check is fine again after the rotation" kw check
check "list: state ok again" [ "$(state_of sch)" = ok ]

# rotate --generate N
printf 'gen-v1' | kw add gen >/dev/null
expect_status 0 "rotate --generate 32" kw rotate gen --generate 32
check "stdout is one line of 43 base64url characters (32 bytes)" \
    sh -c 'printf "%s\n" "$1" | grep -Exq "[A-Za-z0-9_-]{43}"' sh "$out"
check "what was done is said on stderr" \
    contains "$err" "rotated gen: version 2 is current"
check "... with the live copies" contains "$err" "live cop"
peek=$("$VTOOL" peek "$CONF" gen)
want="2 43 $(printf '%s' "$out" | sha256sum | cut -d' ' -f1)"
check "the vault holds exactly the printed value as version 2" [ "$peek" = "$want" ]
first=$out
expect_status 0 "rotate --generate 16" kw rotate gen --generate 16
check "a new value of 22 characters, not the previous one" \
    sh -c '[ ${#1} -eq 22 ] && [ "$1" != "$2" ]' sh "$out" "$first"
expect_status 2 "--generate below 16 bytes is a usage error" kw rotate gen --generate 8
expect_status 2 "--generate of a non-number is a usage error" kw rotate gen --generate lots
expect_status 2 "--generate above the kernel's limit is a usage error" \
    kw rotate gen --generate 24574
expect_status 2 "--generate with --from-file is a usage error" \
    kw rotate gen --generate 32 --from-file /etc/hostname
expect_status 2 "--generate is for rotate only" kw add gen2 --generate 32
check "... nothing was added" eval '! kw list | grep -q "^gen2 "'
check "the usage errors left version 3 current" \
    [ "$("$VTOOL" peek "$CONF" gen | cut -d' ' -f1)" = 3 ]
finish
