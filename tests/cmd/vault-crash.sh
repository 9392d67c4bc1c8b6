#!/bin/sh
# vault-crash.sh - kill -9 a vault writer at many points. A 'keyward rotate'
# on a vault of 300 secrets is killed after a sweep of delays so that kills
# land before its write, during the temporary file's write and fsync, after
# the rename, and after it finished. After every kill 'keyward list' and
# 'keyward check' succeed and the vault holds exactly the old contents
# (byte for byte) or exactly the new ones; stale temporary files are gone
# after the next writer.
. "$top_srcdir/tests/lib.sh"
need_root

TOOL="$top_builddir/tests/cmd/vault-tool"
HELPER="$top_builddir/tests/cmd/vault-crash-helper"
STEPS=${KW_CRASH_STEPS:-120}
new_root
CONF=$(find "$KW_ROOT" -name keyward.conf)
VAULT=$(sed -n 's/^vault = //p' "$CONF")
VDIR=$(dirname "$VAULT")
"$TOOL" fill "$CONF" s 300 || notok "fill the vault"
printf 'crash-value-0' | kw add crash-target >/dev/null || notok "add target"
printf 'crash-new-value' >"$KW_TMP/new"
NEWSHA=$(sha256sum <"$KW_TMP/new" | cut -d' ' -f1)

# others: the list without the target's row (must never change)
others() { "$KEYWARD" --root "$KW_ROOT" list | grep -v '^crash-target '; }
version() { "$TOOL" peek "$CONF" crash-target | cut -d' ' -f1; }

# how long an undisturbed rotate takes (best of 3), in microseconds
D=0
for i in 1 2 3; do
	t=$("$HELPER" -1 "$VAULT" "$KW_TMP/new" "$KEYWARD" --root "$KW_ROOT" \
		rotate crash-target | sed -n 's/.* us=//p')
	if [ "$D" -eq 0 ] || [ "$t" -lt "$D" ]; then D=$t; fi
done
echo "# an undisturbed rotate takes ${D}us; $STEPS kills from 0 to $((D * 13 / 10))us"

before_write=0 during_write=0 after_rename=0 completed=0 bad=0
last_before=0 first_after=$((D * 13 / 10))
# one_kill DELAY: run a rotate, kill it after DELAY us, check the vault
one_kill() {
	delay=$1
	old=$(version)
	cp -p "$VAULT" "$KW_TMP/vault.before"
	others >"$KW_TMP/others.before"
	res=$("$HELPER" "$delay" "$VAULT" "$KW_TMP/new" "$KEYWARD" \
		--root "$KW_ROOT" rotate crash-target)
	if ! "$KEYWARD" --root "$KW_ROOT" list >/dev/null 2>"$KW_TMP/err"; then
		notok "kill at ${delay}us ($res): list fails: $(cat "$KW_TMP/err")"
		bad=$((bad + 1))
	fi
	if ! "$KEYWARD" --root "$KW_ROOT" check >"$KW_TMP/err" 2>&1; then
		notok "kill at ${delay}us ($res): check fails: $(cat "$KW_TMP/err")"
		bad=$((bad + 1))
	fi
	new=$(version)
	if [ "$new" = "$old" ]; then
		# the old vault, byte for byte
		if ! cmp -s "$VAULT" "$KW_TMP/vault.before"; then
			notok "kill at ${delay}us ($res): old version but other bytes"
			bad=$((bad + 1))
		fi
		case $res in
		"killed tmp=0") before_write=$((before_write + 1))
		    [ "$delay" -gt "$last_before" ] && last_before=$delay ;;
		killed*) during_write=$((during_write + 1)) ;;
		*) notok "at ${delay}us ($res): finished but nothing changed"
		   bad=$((bad + 1)) ;;
		esac
	elif [ "$new" = $((old + 1)) ]; then
		# exactly the new contents: the new value, the rest unchanged
		sha=$("$TOOL" peek "$CONF" crash-target | cut -d' ' -f3)
		prev=$("$TOOL" peek "$CONF" crash-target "$old" | cut -d' ' -f1)
		if [ "$sha" != "$NEWSHA" ] || [ "$prev" != "$old" ] ||
		    ! others | cmp -s - "$KW_TMP/others.before"; then
			notok "kill at ${delay}us ($res): new version, wrong contents"
			bad=$((bad + 1))
		fi
		case $res in
		killed*) after_rename=$((after_rename + 1))
		    [ "$delay" -lt "$first_after" ] && first_after=$delay ;;
		*) completed=$((completed + 1))
		    [ "$delay" -lt "$first_after" ] && first_after=$delay ;;
		esac
	else
		notok "kill at ${delay}us ($res): version $old became '$new'"
		bad=$((bad + 1))
	fi
}
k=0
while [ $k -lt $STEPS ]; do
	one_kill $((k * D * 13 / 10 / STEPS))
	k=$((k + 1))
done
# The write itself is a short window (shorter still relative to start-up
# jitter under a sanitizer): when the sweep missed it, kill again at 100
# spread points of the span between the last kill that landed before the
# write and the first that landed after the rename (widened by a tenth on
# each side, fixed once), until one lands in it.
lo=$last_before hi=$first_after
if [ "$hi" -le "$lo" ]; then t=$lo; lo=$hi; hi=$t; fi
span=$((hi - lo + D / 50))
lo=$((lo - span / 10)); [ "$lo" -lt 0 ] && lo=0
span=$((span + span / 5))
extra=0
while [ "$during_write" -eq 0 ] && [ $extra -lt 300 ]; do
	one_kill $((lo + (extra * 37 % 100) * span / 100))
	extra=$((extra + 1))
done
[ $extra -gt 0 ] && echo "# $extra more kills from ${lo}us to $((lo + span))us"
echo "# kill points: $before_write before the write (no temp file)," \
	"$during_write during the temp write (temp left, old vault)," \
	"$after_rename after the rename (new vault), $completed runs finished"
check "every kill left exactly the old or the new vault ($STEPS runs)" test "$bad" -eq 0
check "kills landed before the write" test "$before_write" -gt 0
check "kills landed during the temporary file's write" test "$during_write" -gt 0
check "kills landed or runs ended after the rename" test $((after_rename + completed)) -gt 0
# the next writer removes what killed writers left
printf 'final' | kw rotate crash-target >/dev/null
check "no stale temporary file after the next writer" test -z "$(ls "$VDIR" | grep '\.tmp\.')"
expect_status 0 "check is clean at the end" kw check
check "all 301 secrets there" contains "$out" "ok (301 secrets verified"
finish
