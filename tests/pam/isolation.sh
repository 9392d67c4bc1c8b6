#!/bin/sh
# tests/pam/isolation.sh - the isolation matrix, through keyward run and
# the real kernel keyring: who can read a delivered secret and when.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/pam/pamlib.sh"

pam_setup
sink_start
U=kwi$$a	# the agent
V=kwi$$b	# another user
D=kwi$$d	# denied
W=kwi$$w	# outside its time window
X=kwi$$x	# exe_sha256 rules
for u in $U $V $D $W $X; do
	add_user "$u" || { notok "useradd $u"; finish; }
done
S1=iso$$-granted
S2=iso$$-other
S3=iso$$-short
S4=iso$$-exe
secret "$S1" "granted-$$"
secret "$S2" "other-$$"
secret "$S3" "short-$$"
secret "$S4" "exe-$$"
SVC=kw-test-$$-iso
UNTRUSTED=kw-test-$$-untrusted
set_conf trusted_launchers "$SVC"
pam_service "$SVC"
pam_service "$UNTRUSTED"

# the agent: reads, reports, waits for the test's outside checks, then
# (with a second argument) waits past the short TTL and reads again
cat >"$PUB/agent.sh" <<AGENT
#!/bin/sh
d=$PUB
keyctl print %user:keyward:$S1 >\$d/read 2>&1
$KREAD -s $S2 >\$d/notgranted 2>&1
$KREAD -s $S3 >\$d/short1 2>&1
$KREAD -f $S1 >\$d/serial 2>&1
i=0
while [ ! -e \$d/go ] && [ \$i -lt 200 ]; do sleep 0.1; i=\$((i + 1)); done
if [ "\${1:-}" = ttl ]; then
	sleep 3
	$KREAD -s $S3 >\$d/short2 2>&1
fi
exit 0
AGENT
chmod 755 "$PUB/agent.sh"
for f in read notgranted short1 short2 serial; do pubfile $f "$U"; done
cat >"$PUB/marker.sh" <<'AGENT'
#!/bin/sh
echo ran >"$1"
AGENT
chmod 755 "$PUB/marker.sh"

SHA=$(sha256sum "$PUB/agent.sh" | cut -d' ' -f1)
now_h=$(date +%H | sed "s/^0//")
h1=$(( ($now_h + 2) % 24 ))
h2=$(( ($now_h + 3) % 24 ))
win=$(printf '%02d:00-%02d:00' $h1 $h2)
policy \
    "allow user=$U secrets=$S1 ttl=1h" \
    "allow user=$U secrets=$S3 ttl=2s" \
    "allow user=$V secrets=$S2 ttl=1h" \
    "allow user=$W secrets=$S1 time=$win" \
    "allow user=$X exe=$PUB/agent.sh exe_sha256=$(printf '0%.0s' $(seq 64)) secrets=$S4" \
    "allow user=$X service=$UNTRUSTED exe=$PUB/agent.sh exe_sha256=$SHA secrets=$S4" \
    "allow user=$X service=$SVC exe=$PUB/marker.sh secrets=$S4"

# --- the agent in its session ------------------------------------------
( in_ns_exec "$KEYWARD" --root "$KW_ROOT" run --user "$U" --service "$SVC" \
    -- "$PUB/agent.sh" ttl >"$KW_TMP/run.out" 2>&1 ) &
runpid=$!
wait_file "$PUB/serial"
serial=$(cat "$PUB/serial")
check "the agent reads its granted secret (keyctl print %user:keyward:NAME)" \
    [ "$(cat "$PUB/read")" = "granted-$$" ]
check "the agent cannot find a secret it was not granted" \
    [ "$(cat "$PUB/notgranted")" = ENOKEY ]
check "the agent reads the short-TTL secret at first" \
    [ "$(cat "$PUB/short1")" = OK ]
check "same uid in another session: EACCES" \
    [ "$(setpriv --reuid="$U" --regid="$U" --clear-groups \
    keyctl session - "$KREAD" "$serial" 2>/dev/null | tail -n 1)" = EACCES ]
check "another user: EACCES" \
    [ "$(setpriv --reuid="$V" --regid="$V" --clear-groups \
    keyctl session - "$KREAD" "$serial" 2>/dev/null | tail -n 1)" = EACCES ]
check "root outside the session: EACCES" [ "$("$KREAD" "$serial")" = EACCES ]
check "root sees the delivery in the registry (serial and secret)" \
    sh -c "grep -q ' $serial ' '$KW_RUN'/s.* && grep -q '^key $S1 ' '$KW_RUN'/s.*"
check "the registry holds no secret value" \
    sh -c "! grep -rq 'granted-$$\|short-$$' '$KW_RUN'"
touch "$PUB/go"
wait $runpid
rs=$?
check "keyward run exits 0 with the agent" [ $rs -eq 0 ]
check "after the TTL the agent's read fails with EKEYEXPIRED" \
    [ "$(cat "$PUB/short2")" = EKEYEXPIRED ]
check "after close the key is revoked" key_dead "$serial"
check "after close the registry is empty" [ "$(sessions)" -eq 0 ]

# --- gate refusals: the agent never starts -------------------------------
pubfile m-denied "$D"
pubfile m-window "$W"
pubfile m-exe "$X"
expect_status 1 "a denied user's run fails" \
    in_ns "$KEYWARD" --root "$KW_ROOT" run --user "$D" --service "$SVC" -- \
    "$PUB/marker.sh" "$PUB/m-denied"
check "a denied user's agent never starts" [ ! -s "$PUB/m-denied" ]
check "keyward run says why" contains "$err" "may not run"
expect_status 1 "outside the time window the gate denies" \
    in_ns "$KEYWARD" --root "$KW_ROOT" run --user "$W" --service "$SVC" -- \
    "$PUB/marker.sh" "$PUB/m-window"
check "outside the window the agent never starts" [ ! -s "$PUB/m-window" ]
: >"$PUB/go"
expect_status 1 "a wrong exe_sha256 grants nothing (denied)" \
    in_ns "$KEYWARD" --root "$KW_ROOT" run --user "$X" --service "$SVC" -- \
    "$PUB/agent.sh"
expect_status 1 "exe rules never match from a non-trusted service" \
    in_ns "$KEYWARD" --root "$KW_ROOT" run --user "$X" --service \
    "$UNTRUSTED" -- "$PUB/agent.sh"
check "no $S4 key was ever delivered" [ "$(keys_named "$S4")" -eq 0 ]
expect_status 0 "positive control: a matching exe from the trusted launcher" \
    in_ns "$KEYWARD" --root "$KW_ROOT" run --user "$X" --service "$SVC" -- \
    "$PUB/marker.sh" "$PUB/m-exe"
check "... runs the agent" [ "$(cat "$PUB/m-exe")" = ran ]
# the same claim put into the PAM environment by another application (as
# systemd does with a unit's Environment=) is not believed
expect_status 1 "an exe claim not made by keyward run is not believed" \
    in_ns "$PAMDRIVE" "$SVC" "$X" "env:KEYWARD_EXE=$PUB/marker.sh" acct
check "the gate decisions are in syslog with their rule" \
    logged "user '$D' on service '$SVC': denied by default-deny"
check "no secret value in syslog" \
    sh -c "! grep -qE 'granted-$$|other-$$|short-$$|exe-$$' '$SYSLOG'"
finish
