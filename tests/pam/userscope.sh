#!/bin/sh
# tests/pam/userscope.sh - scope=user: one key shared by every keyward
# session of the user (same serial), removed when the last one closes; the
# count survives unbalanced closes and crashed launchers.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/pam/pamlib.sh"

pam_setup
sink_start
U=kwu$$a
add_user "$U" || { notok "useradd $U"; finish; }
S1=us$$-shared
secret "$S1" "shared-$$"
SVC=kw-test-$$-us
pam_service "$SVC"
policy "allow user=$U secrets=$S1 ttl=1h scope=user"
uid=$(id -u "$U")
cat >"$PUB/agent.sh" <<AGENT
#!/bin/sh
n=\$1
echo \$\$ >$PUB/pid\$n
$KREAD -s $S1 >$PUB/read\$n 2>&1
$KREAD -f $S1 >$PUB/serial\$n 2>&1
i=0
while [ ! -e $PUB/go\$n ] && [ \$i -lt 300 ]; do sleep 0.1; i=\$((i + 1)); done
AGENT
chmod 755 "$PUB/agent.sh"
for n in 1 2 3; do for f in pid read serial; do pubfile $f$n "$U"; done; done
start() {
	( in_ns_exec "$KEYWARD" --root "$KW_ROOT" run --service "$SVC" \
	    --user "$U" -- "$PUB/agent.sh" "$1" >/dev/null 2>&1 ) &
}
holders() {
	grep -c '^holder ' "$KW_RUN/u.$uid.$S1" 2>/dev/null || echo 0
}

start 1; r1=$!
wait_file "$PUB/serial1"
start 2; r2=$!
wait_file "$PUB/serial2"
s1=$(cat "$PUB/serial1")
check "both sessions read the shared key" \
    [ "$(cat "$PUB/read1")" = OK ] && [ "$(cat "$PUB/read2")" = OK ]
check "the two sessions hold the same serial" [ "$s1" = "$(cat "$PUB/serial2")" ]
check "the registry counts two holders" [ "$(holders)" -eq 2 ]
expect_status 0 "an unbalanced open/close/close sequence succeeds" \
    in_ns "$PAMDRIVE" "$SVC" "$U" open close close
check "... and leaves the count at two" [ "$(holders)" -eq 2 ]
# least privilege: a session under a shorter grant shortens the shared key
expiry() { grep "^$(printf '%08x' "$1") " /proc/keys | awk '{print $4}'; }
policy "allow user=$U secrets=$S1 ttl=30s scope=user"
expect_status 0 "a session under a 30s grant opens and closes" \
    in_ns "$PAMDRIVE" "$SVC" "$U" open close
left=$(expiry "$s1")
check "the shared key no longer outlives the 30s grant (expires in $left)" \
    eval 'case "$left" in [0-9]s|[12][0-9]s|30s) true;; *) false;; esac'
policy "allow user=$U secrets=$S1 ttl=1h scope=user"
touch "$PUB/go1"; wait $r1
check_fails "after the first closes the shared key lives on" key_dead "$s1"
check "the registry counts one holder" [ "$(holders)" -eq 1 ]
touch "$PUB/go2"; wait $r2
check "after the last closes the key is revoked" key_dead "$s1"
check "the user key file is gone" [ ! -e "$KW_RUN/u.$uid.$S1" ]

# a crashed launcher: its hold is dropped by the next open's sweep
start 3; r3=$!
wait_file "$PUB/serial3"
s3=$(cat "$PUB/serial3")
kill -KILL $r3; wait $r3 2>/dev/null
check "the crashed session's hold is still counted" [ "$(holders)" -eq 1 ]
expect_status 0 "the next session opens and closes" \
    in_ns "$PAMDRIVE" "$SVC" "$U" open close
check "the sweep revoked the key only the crashed session held" key_dead "$s3"
check "no holder is left" [ ! -e "$KW_RUN/u.$uid.$S1" ]
check "no session is left" [ "$(sessions)" -eq 0 ]
# the orphaned agent of the crashed launcher is ours to end
apid=$(cat "$PUB/pid3")
[ -n "$apid" ] && kill "$apid" 2>/dev/null
finish
