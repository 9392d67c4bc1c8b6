#!/bin/sh
# tests/pam/run.sh - keyward run as a launcher: usage, PATH resolution,
# clean environment, privilege drop, exit status, signal forwarding, and
# the session closed (keys revoked) however the agent ends.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/pam/pamlib.sh"

pam_setup
sink_start
U=kwr$$a
add_user "$U" || { notok "useradd $U"; finish; }
S1=run$$-key
secret "$S1" "runvalue-$$"
SVC=kw-test-$$-run
set_conf trusted_launchers "$SVC"
pam_service "$SVC"
policy "allow user=$U service=$SVC secrets=$S1 ttl=1h"
run() { in_ns "$KEYWARD" --root "$KW_ROOT" run --service "$SVC" "$@"; }

expect_status 2 "no --user is a usage error" run -- /bin/true
expect_status 2 "no command is a usage error" run --user "$U"
expect_status 1 "an unknown user fails" run --user "nosuch$$" -- /bin/true
expect_status 1 "a missing command fails" run --user "$U" -- "nosuchcmd$$"
check "... naming it" contains "$err" "nosuchcmd$$"

expect_status 0 "a bare name is found in PATH and runs as the user" \
    run --user "$U" -- id -u
check "... with the user's uid" [ "$out" = "$(id -u "$U")" ]
expect_status 0 "groups are the user's" run --user "$U" -- id -G
check "... only the user's groups" [ "$out" = "$(id -G "$U")" ]

FOO=leak$$ expect_status 0 "the environment is built afresh" \
    run --user "$U" -- /usr/bin/env
check "HOME, USER, LOGNAME, SHELL set" sh -c "printf '%s\n' \"\$1\" |
    grep -qx 'USER=$U' && printf '%s\n' \"\$1\" | grep -qx 'LOGNAME=$U' &&
    printf '%s\n' \"\$1\" | grep -q '^HOME=' &&
    printf '%s\n' \"\$1\" | grep -q '^SHELL='" sh "$out"
check "PATH is /usr/local/bin:/usr/bin:/bin" \
    contains "$out" "PATH=/usr/local/bin:/usr/bin:/bin"
check "the caller's environment does not leak" sh -c "! printf '%s' \"\$1\" | grep -q leak$$" sh "$out"
check "KEYWARD_SESSION is passed from the PAM environment" \
    contains "$out" "KEYWARD_SESSION="
check "the launcher's exe claims are not in the agent's environment" \
    sh -c "! printf '%s' \"\$1\" | grep -q KEYWARD_EXE" sh "$out"
check "no secret value in the environment" sh -c "! printf '%s' \"\$1\" | grep -q runvalue" sh "$out"
expect_status 0 "the working directory is HOME or /" run --user "$U" -- /bin/pwd
check "... / for a user without a home" [ "$out" = / ]

expect_status 7 "the agent's exit status is returned" \
    run --user "$U" -- /bin/sh -c 'exit 7'
expect_status 137 "killed by a signal: 128+signal" \
    run --user "$U" -- /bin/sh -c 'kill -KILL $$'
check "the session was closed after the kill" [ "$(sessions)" -eq 0 ]
check "no live key remains" [ "$(keys_named "$S1")" -eq 0 ]

# SIGTERM to the launcher reaches the agent; the session is closed after
pubfile term "$U"
cat >"$PUB/trap.sh" <<AGENT
#!/bin/sh
trap 'echo got-term >$PUB/term; exit 42' TERM
echo ready >$PUB/term
while :; do sleep 0.1; done
AGENT
chmod 755 "$PUB/trap.sh"
( in_ns_exec "$KEYWARD" --root "$KW_ROOT" run --service "$SVC" --user "$U" \
    -- "$PUB/trap.sh" >/dev/null 2>&1 ) &
rpid=$!
wait_file "$PUB/term"
check "the agent's session is registered while it runs" [ "$(sessions)" -eq 1 ]
kill -TERM $rpid
wait $rpid
rs=$?
check "SIGTERM was forwarded to the agent" [ "$(cat "$PUB/term")" = got-term ]
check "keyward run exits with the agent's status after the signal" [ $rs -eq 42 ]
check "the session was closed after the signal" [ "$(sessions)" -eq 0 ]
check "no live key remains after the signal" [ "$(keys_named "$S1")" -eq 0 ]

# not root: refused
expect_status 1 "keyward run refuses a non-root caller" \
    setpriv --reuid="$U" --regid="$U" --clear-groups "$KEYWARD" run --user "$U" -- /bin/true
finish
