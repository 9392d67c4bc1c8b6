#!/bin/sh
# vault-concurrency.sh - two admins at once: 2 processes x 100 'keyward add'
# running together must leave 200 secrets, each with its own value, and a
# vault that checks clean (the writers' lock serialises read-modify-write).
. "$top_srcdir/tests/lib.sh"
need_root

TOOL="$top_builddir/tests/cmd/vault-tool"
N=100
new_root
CONF=$(find "$KW_ROOT" -name keyward.conf)
VAULT=$(sed -n 's/^vault = //p' "$CONF")

# writer P: add N secrets p<P>-<i> with value v-<P>-<i>; count failures
writer() {
	local i=1 fails=0
	while [ $i -le $N ]; do
		printf 'v-%s-%s' "$1" "$i" |
			"$KEYWARD" --root "$KW_ROOT" add "p$1-$i" >/dev/null ||
			fails=$((fails + 1))
		i=$((i + 1))
	done
	echo "$fails" >"$KW_TMP/fails.$1"
}
writer 1 &
pid1=$!
writer 2 &
pid2=$!
wait $pid1
wait $pid2
check "writer 1: every add succeeded" test "$(cat "$KW_TMP/fails.1")" -eq 0
check "writer 2: every add succeeded" test "$(cat "$KW_TMP/fails.2")" -eq 0
expect_status 0 "list after the race" kw list --json
check "200 secrets in the vault" test "$(printf '%s\n' "$out" | grep -c '"name": "p[12]-')" -eq $((2 * N))
expect_status 0 "check is clean after the race" kw check
check "check verified 200 secrets" contains "$out" "ok (200 secrets verified"
# every value is the one its writer stored (spot check across the range)
bad=0
for i in 1 2 17 50 99 100; do
	for p in 1 2; do
		want=$(printf 'v-%s-%s' $p $i | sha256sum | cut -d' ' -f1)
		got=$("$TOOL" peek "$CONF" "p$p-$i" | cut -d' ' -f3)
		[ "$got" = "$want" ] || bad=$((bad + 1))
	done
done
check "values belong to their secrets" test "$bad" -eq 0
check "no temporary files left" test -z "$(ls "$(dirname "$VAULT")" | grep '\.tmp\.')"

# concurrent rotations of one secret: every one lands, versions count up
printf 'r0' | kw add rot >/dev/null
rot() {
	local i=1
	while [ $i -le 20 ]; do
		printf 'r-%s-%s' "$1" "$i" |
			"$KEYWARD" --root "$KW_ROOT" rotate rot >/dev/null ||
			echo fail >>"$KW_TMP/rotfail"
		i=$((i + 1))
	done
}
rot a &
pa=$!
rot b &
pb=$!
wait $pa
wait $pb
check "every concurrent rotate succeeded" test ! -e "$KW_TMP/rotfail"
check "40 rotations: version 41 is current" sh -c "'$TOOL' peek '$CONF' rot | grep -q '^41 '"
expect_status 0 "check is clean after concurrent rotations" kw check
finish
