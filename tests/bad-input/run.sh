#!/bin/sh
# tests/bad-input/run.sh - the catalogue of bad input (tests/bad-input/README).
# Every case directory under cases/ gets a fresh staging root holding one
# secret, its input files, an optional setup script, then its command; the
# case passes when the exit status and every expected message line match
# exactly and keyward failed closed: the vault, the master key and the
# registry unchanged, no live key of the secret in any keyring (as root
# sees /proc/keys), and the secret's value nowhere in the output.
. "$top_srcdir/tests/lib.sh"

need_root
command -v keyctl >/dev/null 2>&1 || skip "keyctl not installed"
CASES="$top_srcdir/tests/bad-input/cases"
MODULE="$top_builddir/.libs/pam_keyward.so"
PAMCASE="$top_builddir/tests/bad-input/kw_pamcase"
# keep the module (and the libraries it pulls in) loaded past pam_end():
# memory those libraries keep for the life of the process is not a leak
export KW_PAMCASE_KEEP="$top_builddir/.libs/pam_keyward.so"
[ -f "$MODULE" ] || skip "module not built: $MODULE"
S="bi$$-key"
# the record is the end of the vault: its last byte is what the corrupt
# cases flip, whatever the length of the pid in the value
VALUE="bad-input-value-$$"
SVC="kw-bad-$$"

# live_keys: live (not revoked or expired) keyward:$S keys in /proc/keys
live_keys() {
	awk -v d="keyward:$S:" '$9 == d && $2 !~ /R/ && $4 != "expd" { n++ }
	    END { print n + 0 }' /proc/keys
}
# revoke_live: revoke every live keyward:$S key (cleanup of the control)
revoke_live() {
	awk -v d="keyward:$S:" '$9 == d && $2 !~ /R/ { print $1 }' /proc/keys |
	while read -r hex; do keyctl revoke "$((0x$hex))" >/dev/null 2>&1; done
}
at_exit revoke_live
# subst: replace the placeholders on stdin
subst() {
	sed -e "s|@ROOT@|$KW_ROOT|g" -e "s|@ETC@|$ETC|g" -e "s|@VAULT@|$VAULT|g" \
	    -e "s|@RUN@|$RUN|g" -e "s|@CONF@|$CONF|g" -e "s|@S@|$S|g" \
	    -e "s|@SVC@|$SVC|g" -e "s|@MODULE@|$MODULE|g" \
	    -e "s|@CASE@|$CASEDIR|g" -e "s|@TMP@|$CASETMP|g"
}
# install_input NAME: the case's NAME (raw) or NAME.in (with the
# placeholders replaced) on stdout; false when the case has neither
install_input() {
	if [ -f "$CASEDIR/$1" ]; then
		cat "$CASEDIR/$1"
	elif [ -f "$CASEDIR/$1.in" ]; then
		subst <"$CASEDIR/$1.in"
	else
		return 1
	fi
}
kw() { "$KEYWARD" --root "$KW_ROOT" "$@"; }
pamcase() { ${KW_WRAP:-} "$PAMCASE" "$PAMD" "$SVC" root "$@"; }
sums() {
	cat "$VAULT" "$ETC/master.key" 2>/dev/null | sha256sum
	ls "$RUN" 2>/dev/null | grep '^s\.' || true
}

# prepare CASEDIR: a staging root with the secret and the case's inputs
prepare() {
	CASEDIR=$1
	new_root
	CONF=$(find "$KW_ROOT" -name keyward.conf -path '*/keyward/*' | head -n 1)
	ETC=$(dirname "$CONF")
	VAULT=$(sed -n 's/^vault *= *//p' "$CONF")
	RUN=$(sed -n 's/^run_dir *= *//p' "$CONF")
	CASETMP=$(mktemp -d "$KW_TMP/case.XXXXXX")
	printf '%s' "$VALUE" | kw add "$S" >/dev/null || return 1
	{
		# the staging paths first (a case that sets one replaces it)
		install_input keyward.conf | grep -q '^vault' ||
		    printf 'vault = %s\n' "$VAULT"
		install_input keyward.conf | grep -q '^run_dir' ||
		    printf 'run_dir = %s\n' "$RUN"
		install_input keyward.conf ||
		    printf 'audit = best-effort\n'
	} >"$CASETMP/conf" && cat "$CASETMP/conf" >"$CONF" || return 1
	install_input policy.conf >"$ETC/policy.conf" ||
	    echo "allow user=root service=$SVC secrets=$S ttl=1h" \
	    >"$ETC/policy.conf"
	chmod 644 "$ETC/policy.conf"
	if [ -d "$CASEDIR/policy.d" ]; then
		cp "$CASEDIR"/policy.d/* "$ETC/policy.d/"
		chmod 644 "$ETC"/policy.d/*
	fi
	PAMD="$CASETMP/pam.d"
	mkdir "$PAMD"
	printf 'auth required pam_deny.so\naccount required pam_deny.so\nsession required pam_deny.so\n' >"$PAMD/other"
	install_input pam >"$PAMD/$SVC" || {
		echo "account required $MODULE config=$CONF"
		echo "session required $MODULE config=$CONF"
	} >"$PAMD/$SVC"
	if [ -f "$CASEDIR/setup" ]; then
		( export KW_ROOT ETC VAULT RUN CONF S SVC CASEDIR CASETMP KEYWARD
		  sh -e "$CASEDIR/setup" ) || return 1
	fi
	return 0
}

# the control: with good input the same setup delivers, so a case that
# delivers nothing proves the refusal and not a broken harness
if prepare "$CASES/../control" 2>"$KW_TMP/prep.err"; then
	pamcase acct open >"$KW_TMP/ctl.out" 2>&1
	check "control: good input opens a session" [ $? -eq 0 ]
	check "control: ... and delivers the secret" [ "$(live_keys)" -eq 1 ]
	revoke_live
else
	notok "control: setup failed: $(cat "$KW_TMP/prep.err")"
fi

n=0
for dir in "$CASES"/*/; do
	dir=${dir%/}
	name=${dir##*/}
	n=$((n + 1))
	if ! prepare "$dir" >"$KW_TMP/prep.err" 2>&1; then
		notok "$name: setup failed: $(cat "$KW_TMP/prep.err")"
		continue
	fi
	want=1
	[ -f "$dir/status" ] && want=$(cat "$dir/status")
	before=$(sums)
	cmd=$(subst <"$dir/cmd")
	out=$( (eval "$cmd") 2>&1 </dev/null) && got=0 || got=$?
	problems=""
	[ "$got" -eq "$want" ] || problems="$problems exit $got (wanted $want);"
	while IFS= read -r line; do
		printf '%s\n' "$out" | grep -qFx -- "$line" ||
		    problems="$problems missing line '$line';"
	done <<EXPECT
$(subst <"$dir/expect")
EXPECT
	if [ ! -f "$dir/changes-vault" ] && [ "$(sums)" != "$before" ]; then
		problems="$problems vault, master key or registry changed;"
	fi
	[ "$(live_keys)" -eq 0 ] || {
		problems="$problems a key was delivered;"
		revoke_live
	}
	case "$out" in *"$VALUE"*) problems="$problems the value was printed;";;
	esac
	if [ -z "$problems" ]; then
		ok "$name"
	else
		notok "$name:$problems output: $out"
	fi
done
check "the catalogue holds at least 60 cases ($n)" [ "$n" -ge 60 ]
finish
