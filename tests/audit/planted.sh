#!/bin/sh
# planted.sh - keyward get, env and libkeyward read only keys keyward
# delivered: a key of the right name planted by a process of the agent's
# own uid, in its user keyring or its session keyring, is never read as a
# secret (a same-uid attacker could otherwise feed an agent a value of its
# choosing).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/audit/audit-lib.sh"
need_root
new_agent planted
name="planted-$$"
fake="fake-value-$$"
# a user keyring outlives its user (the kernel keeps it for the uid, which
# the next useradd reuses): remove the key planted there (before userdel)
at_exit "setpriv --reuid=$AGENT --regid=$AGENT --clear-groups keyctl clear @u"

# as_agent_session CMD: CMD as the agent in a fresh session keyring
as_agent_session() {
	keyctl session - setpriv --reuid="$AGENT" --regid="$AGENT" \
	    --clear-groups sh -c "$1"
}
expect_status 1 "a key planted in the user keyring is not read" \
    as_agent_session "printf '$fake' | keyctl padd user keyward:$name @u >/dev/null && '$KEYWARD' get $name"
check_fails "... and its value is not printed" contains "$out" "$fake"
expect_status 1 "a same-uid key planted in the session keyring is not read" \
    as_agent_session "printf '$fake' | keyctl padd user keyward:$name @s >/dev/null && '$KEYWARD' get $name"
check_fails "... and its value is not printed" contains "$out" "$fake"
expect_status 1 "keyward env refuses it too" \
    as_agent_session "printf '$fake' | keyctl padd user keyward:$name @s >/dev/null && '$KEYWARD' env V=$name -- /bin/true"
expect_status 1 "libkeyward refuses it too" \
    as_agent_session "printf '$fake' | keyctl padd user keyward:$name @s >/dev/null && '$KW_AGENT' $name"
check_fails "... and prints no value" contains "$out" "$fake"
# the same value delivered by root (as pam_keyward does) is read
expect_status 0 "a root-owned delivered key is read" \
    keyctl session - sh -c "id=\$(printf '$fake' | keyctl padd user keyward:$name @s) && keyctl setperm \$id 0x0b250000 && setpriv --reuid='$AGENT' --regid='$AGENT' --clear-groups '$KEYWARD' get $name"
check "... with its value" [ "$out" = "$fake" ]
finish
