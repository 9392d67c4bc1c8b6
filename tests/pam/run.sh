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

# the agent starts detached: a session of its own, no controlling
# terminal (no TIOCSTI into the invoker's shell), and none of the
# launcher's descriptors
expect_status 0 "the agent leads a session of its own" \
    run --user "$U" -- /bin/sh -c 'ps -o sid= -p $$ | tr -d " "; echo $$'
check "... its session id is its pid" \
    [ "$(echo "$out" | sed -n 1p)" = "$(echo "$out" | sed -n 2p)" ]
# under a terminal (script(1) gives the launcher a controlling pty)
tty_of_agent() {
	script -qec "'$KEYWARD' --root '$KW_ROOT' run --service '$SVC' --user '$U' -- /bin/sh -c 'cut -d\" \" -f7 /proc/self/stat; cut -d\" \" -f7 /proc/\$PPID/stat'" /dev/null | tr -d '\r'
}
expect_status 0 "started from a terminal, the agent runs" tty_of_agent
check "... the launcher has the terminal ($(echo "$out" | sed -n 2p)), the agent has none" \
    [ "$(echo "$out" | sed -n 1p)" = 0 ] && [ "$(echo "$out" | sed -n 2p)" != 0 ]
run_fd9() { ( exec 9</etc/hostname; run "$@" ); }
expect_status 0 "a descriptor of the invoker does not reach the agent" \
    run_fd9 --user "$U" -- /bin/sh -c 'test ! -e /proc/self/fd/9 && echo closed'
check "... fd 9 is closed in the agent" [ "$out" = closed ]

# the agent dies with its launcher: no orphan keeps holding secrets
pubfile orphan "$U"
( run --user "$U" -- /bin/sh -c "echo \$\$ \$PPID >$PUB/orphan; exec sleep 30" \
    >/dev/null 2>&1 ) &
orphan_run=$!
wait_file "$PUB/orphan"
read -r apid lpid <"$PUB/orphan"
kill -KILL "$lpid"
i=0
while kill -0 "$apid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 "$apid" 2>/dev/null; then
	notok "the agent outlived its killed launcher"
	kill -KILL "$apid" 2>/dev/null
else
	ok "the agent died with its killed launcher"
fi
wait "$orphan_run" 2>/dev/null

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

# a signal that comes while PAM works is held: the launcher is not killed
# half-way through a delivery, the agent is not started, the session is
# closed (a session module sends it, after pam_keyward has delivered)
SVCK=kw-test-$$-runk
SVCD=kw-test-$$-rund
SVCE=kw-test-$$-rune
set_conf trusted_launchers "$SVC, $SVCK, $SVCD, $SVCE"
policy "allow user=$U service=$SVC,$SVCK,$SVCD,$SVCE secrets=$S1 ttl=1h"
printf '#!/bin/sh\nkill -TERM $PPID\n' >"$PUB/killer.sh"
chmod 755 "$PUB/killer.sh"
PAM_EXTRA="session required pam_exec.so quiet $PUB/killer.sh" pam_service "$SVCK"
pubfile started "$U"
expect_status 143 "SIGTERM during the session open: 128+15, agent not started" \
    in_ns "$KEYWARD" --root "$KW_ROOT" run --service "$SVCK" --user "$U" \
    -- /bin/sh -c "echo started >$PUB/started"
check "... saying so" contains "$err" "signal 15 came before"
check "... the agent never ran" [ ! -s "$PUB/started" ]
check "... the session was closed" [ "$(sessions)" -eq 0 ]
check "... no live key remains" [ "$(keys_named "$S1")" -eq 0 ]

# an open that fails after pam_keyward delivered is closed too
PAM_EXTRA="session required pam_deny.so" pam_service "$SVCD"
expect_status 1 "a session module after pam_keyward fails: no agent" \
    run --service "$SVCD" --user "$U" -- /bin/sh -c "echo started >$PUB/started"
check "... the agent never ran" [ ! -s "$PUB/started" ]
check "... the delivered session was closed" [ "$(sessions)" -eq 0 ]
check "... no live key remains" [ "$(keys_named "$S1")" -eq 0 ]

# a variable PAM sets wins over the launcher's own, once in the list
: >"$PUB/pam_env.conf"
echo "PATH=/opt/kw$$/bin:/usr/bin:/bin" >"$PUB/environment"
PAM_EXTRA="session required pam_env.so conffile=$PUB/pam_env.conf envfile=$PUB/environment user_readenv=0" \
    pam_service "$SVCE"
expect_status 0 "an agent under a service whose pam_env sets PATH runs" \
    run --service "$SVCE" --user "$U" -- /usr/bin/env
check "... PATH is PAM's, and there is one" \
    [ "$(printf '%s\n' "$out" | grep -c '^PATH=')" -eq 1 ] && \
    [ "$(printf '%s\n' "$out" | grep '^PATH=')" = "PATH=/opt/kw$$/bin:/usr/bin:/bin" ]

# not root: refused
expect_status 1 "keyward run refuses a non-root caller" \
    setpriv --reuid="$U" --regid="$U" --clear-groups "$KEYWARD" run --user "$U" -- /bin/true
finish
