#!/bin/sh
# tests/lifecycle/sessions.sh - keyward sessions (text and --json) lists
# exactly the live deliveries of real running agents: session id, user,
# pid, service, secret, version, serial, scope, expiry; expired keys
# disappear; a session whose process is gone is cleaned (its key revoked
# and recorded); registry and kernel agree; no value is printed.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/pam/pamlib.sh"
. "$top_srcdir/tests/lifecycle/lclib.sh"
export LC_ALL=C

command -v python3 >/dev/null || skip "python3 (JSON checks) not installed"
lc_setup
U1=kwls$$a U2=kwls$$b
for u in $U1 $U2; do
	add_user "$u" || { notok "useradd $u"; finish; }
done
X=lcsx$$ S=lcss$$
secret "$X" "sx-value-$$"
secret "$S" "ss-value-$$"
SVC2=kw-test-$$-lc2
pam_service "$SVC2"
# c3's short TTL must outlast the listing checks below: under valgrind
# every keyward command takes seconds
T=6
[ -z "${KW_UNDER_VALGRIND:-}" ] || T=40
policy "allow user=$U1,$U2 service=$SVC secrets=$X ttl=1h" \
    "allow user=$U1 service=$SVC2 secrets=$S ttl=${T}s"

expect_status 0 "sessions with no session" kw sessions
check "... says so" [ "$out" = "no live sessions" ]
expect_status 0 "sessions --json with no session" kw sessions --json
check "... an empty list" sh -c 'printf "%s" "$1" | python3 -c "import json,sys; assert json.load(sys.stdin) == {\"sessions\": []}"' sh "$out"

# c2 leaves a worker that holds its session keyring after its launcher is
# killed below: its key stays live until keyward revokes it (without a
# holder the kernel destroys the key with the keyring, a race with the
# cleaning this test checks)
touch "$PUB/c2.hold"
start_agent c1 "$U1" "$X" && start_agent c2 "$U2" "$X" &&
    start_agent c3 "$U1" "$S" "$SVC2" || { notok "three agents"; finish; }
ok "three agents started"
check "c3 reads the short-lived secret" sees c3 "ss-value-$$"

expect_status 0 "keyward sessions" kw sessions
check "3 sessions, 3 live keys" contains "$out" "3 sessions, 3 live keys"
for a in c1 c2 c3; do
	check "$a: its session and serial are listed" \
	    sh -c 'printf "%s\n" "$1" | grep "^$2 " | grep -q " $3 "' sh \
	    "$out" "$(sid_of $a)" "$(serial_of $a)"
done
check "c1's row: user, pid, service, secret, version, scope" \
    sh -c 'printf "%s\n" "$1" | grep -Eq "^$2 +$3 +$4 +$5 +$6 +1 +[0-9]+ session +20[0-9-]+T"' \
    sh "$out" "$(sid_of c1)" "$U1" "$(cat "$PUB/c1.pid")" "$SVC" "$X"
check "no value is printed" eval '! contains "$out" "value-$$"'

expect_status 0 "keyward sessions --json" kw sessions --json
printf '%s' "$out" >"$KW_TMP/s.json"
want=$(for a in c1 c2 c3; do
	case $a in c3) sec=$S;; *) sec=$X;; esac
	echo "$(sid_of $a) $sec $(serial_of $a) $(cat "$PUB/$a.pid")"
done | sort)
got=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
for s in d["sessions"]:
    for k in s["keys"]:
        print(s["id"], k["secret"], k["serial"], s["pid"])' "$KW_TMP/s.json" | sort)
check "the JSON lists exactly the 3 deliveries (session, secret, serial, pid)" \
    [ "$got" = "$want" ]
check "each JSON session has user, uid, service, exe, opened, keyring" \
    python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
for s in d["sessions"]:
    for f in ("user", "uid", "service", "tty", "exe", "opened", "keyring"):
        assert f in s, f
    for k in s["keys"]:
        for f in ("version", "scope", "expires", "until"):
            assert f in k, f
        assert k["scope"] == "session" and k["version"] == 1
' "$KW_TMP/s.json"
check "the registry and the kernel agree on the keys" \
    [ "$(registry_serials lcs)" = "$(kernel_serials lcs)" ]

# the short-lived key expires: it disappears
c3_serial=$(serial_of c3)
# past the key's expiry, counted from its delivery (c3's .sid is written
# after it; whole seconds, so 2 s more)
left=$(( $(stat -c %Y "$PUB/c3.sid") + T + 2 - $(date +%s) ))
[ "$left" -le 0 ] || sleep "$left"
# (the agent's next read may take a while under valgrind)
check "c3 can no longer read (expired)" sh -c 'i=0
	while [ $i -lt 100 ]; do
		case "$(cat "$1")" in "ERR "*) exit 0;; esac
		sleep 0.1; i=$((i + 1))
	done; exit 1' sh "$PUB/c3.out"
expect_status 0 "sessions after the expiry" kw sessions
check "3 sessions, 2 live keys" contains "$out" "3 sessions, 2 live keys"
check "the expired key is not listed" eval '! contains "$out" " $c3_serial "'
check "c3's session is listed without keys" \
    sh -c 'printf "%s\n" "$1" | grep "^$2 " | grep -q " - "' sh "$out" "$(sid_of c3)"

# a session whose process is gone is cleaned
c2_serial=$(serial_of c2)
kill -KILL "$(cat "$PUB/c2.pid")"
wait "$(cat "$PUB/c2.pid")" 2>/dev/null
check "c2's key is still live after its launcher died (the worker holds it)" \
    eval '! key_dead "$c2_serial"'
audit_start
expect_status 0 "sessions after c2's launcher was killed" kw sessions
check "the dead session is not listed" eval '! contains "$out" "$(sid_of c2)"'
check "2 sessions, 1 live key" contains "$out" "2 sessions, 1 live key"
check "stderr says it was cleaned" \
    contains "$err" "cleaned $X (version 1, serial $c2_serial): session $(sid_of c2) of user $U2"
check "its key is revoked in the kernel" key_dead "$c2_serial"
check "... while c2's worker still holds the session keyring" \
    kill -0 "$(cat "$PUB/c2.hpid")"
n=$(records revoke "$X")
check "one keyward-revoke record for it (got $n)" [ "$n" -eq 1 ]
check "the registry and the kernel still agree" \
    [ "$(registry_serials lcs)" = "$(kernel_serials lcs)" ]
check "the dead session's file is gone from the registry" \
    eval '! ls "$KW_RUN" | grep -q "$(sid_of c2)"'

expect_status 2 "an unknown option is a usage error" kw sessions --bogus
expect_status 1 "sessions refuses a non-root caller" \
    setpriv --reuid="$U1" --regid="$U1" --clear-groups "$KEYWARD" \
    --root "$KW_ROOT" sessions
stop_agents c1 c3
expect_status 0 "sessions after the agents ended" kw sessions
check "... none left" [ "$out" = "no live sessions" ]
finish
