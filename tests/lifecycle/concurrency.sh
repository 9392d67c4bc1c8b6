#!/bin/sh
# tests/lifecycle/concurrency.sh - session opens and closes (keyward run),
# rotations, revocations, listings and crashed launchers all at once from
# several processes: every command succeeds, the registry stays readable,
# and afterwards the registry and the kernel agree exactly on the live
# keyward keys (every live root-owned keyward:* key of this test is in the
# registry and vice versa); the running agents read the last rotation.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/pam/pamlib.sh"
. "$top_srcdir/tests/lifecycle/lclib.sh"
export LC_ALL=C

command -v python3 >/dev/null || skip "python3 (JSON checks) not installed"
lc_setup
U1=kwlc$$a U2=kwlc$$b
for u in $U1 $U2; do
	add_user "$u" || { notok "useradd $u"; finish; }
done
K=lccK$$ UK=lccU$$
secret "$K" "k-0"
secret "$UK" "u-0"
policy "allow user=$U1 service=$SVC secrets=$K ttl=1h" \
    "allow user=$U2 service=$SVC secrets=$K,$UK scope=user ttl=1h"

start_agent d1 "$U1" "$K" && start_agent d2 "$U1" "$K" &&
    start_agent d3 "$U2" "$K" || { notok "three long agents"; finish; }
ok "three long-running agents started"
FAILS="$KW_TMP/fails"
: >"$FAILS"
# must CMD...: run CMD, note a failure in $FAILS
must() {
	"$@" >/dev/null 2>"$KW_TMP/must.$$.err" ||
	    echo "failed ($?): $* : $(cat "$KW_TMP/must.$$.err")" >>"$FAILS"
}

# short sessions: open, read, close
opener() {
	local i=0
	while [ $i -lt 20 ]; do
		must "$KEYWARD" --root "$KW_ROOT" run --service "$SVC" \
		    --user "$1" -- /bin/sh -c "'$KEYWARD' get $K >/dev/null; sleep 0.05"
		i=$((i + 1))
	done
}
# rotations of K: k-1 .. k-10
rotator() {
	local i=1
	while [ $i -le 10 ]; do
		printf 'k-%s' $i | must "$KEYWARD" --root "$KW_ROOT" rotate "$K"
		i=$((i + 1))
		sleep 0.05
	done
}
# revocations of the shared user key, listings
revoker() {
	local i=0
	while [ $i -lt 10 ]; do
		must "$KEYWARD" --root "$KW_ROOT" revoke --secret "$UK"
		must "$KEYWARD" --root "$KW_ROOT" sessions --json
		i=$((i + 1))
	done
}
# launchers killed while their agents run: crashed sessions
crasher() {
	local i=0 p
	while [ $i -lt 4 ]; do
		rm -f "$PUB/crash.pid"
		"$KEYWARD" --root "$KW_ROOT" run --service "$SVC" --user "$U1" \
		    -- /bin/sh -c "echo \$\$ >$PUB/crash.pid; exec sleep 30" \
		    >/dev/null 2>&1 &
		p=$!
		wait_file "$PUB/crash.pid"
		kill -KILL $p 2>/dev/null
		wait $p 2>/dev/null
		# the agent outlives its launcher: end it by its pid
		kill -KILL "$(cat "$PUB/crash.pid")" 2>/dev/null
		i=$((i + 1))
	done
}

opener "$U1" & w1=$!
opener "$U2" & w2=$!
opener "$U1" & w3=$!
rotator & w4=$!
revoker & w5=$!
crasher & w6=$!
wait $w1 $w2 $w3 $w4 $w5 $w6
check "every concurrent command succeeded" [ ! -s "$FAILS" ]
[ -s "$FAILS" ] && sed 's/^/# /' "$FAILS" | head -20

expect_status 0 "keyward sessions reads the registry afterwards" kw sessions --json
check "its JSON parses" sh -c 'printf "%s" "$1" | python3 -c "import json,sys; json.load(sys.stdin)"' sh "$out"
check "no temporary file is left in the registry" \
    eval '! ls -a "$KW_RUN" | grep -q "\.tmp\."'
reg=$(registry_serials lcc)
ker=$(kernel_serials lcc)
check "registry and kernel agree on the live keys ($(echo $reg | wc -w) keys)" \
    [ "$reg" = "$ker" ]
[ "$reg" = "$ker" ] || { echo "# registry: $reg"; echo "# kernel: $ker"; }
check "3 sessions remain (the long agents')" \
    [ "$(kw sessions --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["sessions"]))')" -eq 3 ]
for a in d1 d2 d3; do
	check "$a reads the last rotation (k-10)" sees $a "k-10"
done
stop_agents d1 d2 d3
check "no live key of this test is left in the kernel" \
    [ -z "$(kernel_serials lcc)" ]
check "the registry is empty" [ "$(sessions)" -eq 0 ]
finish
