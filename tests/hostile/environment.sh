#!/bin/sh
# tests/hostile/environment.sh - keyward (the front and keyward-admin) in a
# hostile environment: closed standard descriptors, IFS/PATH/TMPDIR games,
# LD_PRELOAD and LD_LIBRARY_PATH against the setcap front, huge argv.
# Clear errors, no crash, nothing written anywhere unexpected.
. "$top_srcdir/tests/lib.sh"
# messages of refusals here can be huge if a check fails: keep them short
notok() { kw_failures=$((kw_failures + 1)); echo "not ok - $(printf '%s' "$*" | cut -c1-400)"; }

need_root
new_root
CONF=$(find "$KW_ROOT" -name keyward.conf -path '*/keyward/*' | head -n 1)
VAULT=$(sed -n 's/^vault *= *//p' "$CONF")
S=host$$-key
printf 'hostile-value-%s' $$ | kw add "$S" >/dev/null

# --- closed stdin/stdout/stderr -----------------------------------------
# With fd 1 closed, the vault's lock or temporary file would be opened as
# fd 1 and "added ..." written into the new vault; keyward opens /dev/null
# on closed standard descriptors first.
printf 'v1' | kw add "closed1-$$" >&-
check "add with stdout closed succeeds" [ $? -eq 0 ]
printf 'v2' | kw rotate "closed1-$$" >&- 2>&-
check "rotate with stdout and stderr closed succeeds" [ $? -eq 0 ]
expect_status 0 "the vault verifies after writes with closed descriptors" \
    kw check
check "... and holds no message text" sh -c "! grep -aq 'version' '$VAULT'"
kw rm "no-such-$$" 2>&-
check "an error with stderr closed fails cleanly (exit 1)" [ $? -eq 1 ]
kw list <&- >&- 2>&-
check "list with all three closed exits 0" [ $? -eq 0 ]
expect_status 0 "the vault still verifies" kw check
"$KEYWARD" --version <&- >&- 2>&-
check "the front with all three closed exits 0" [ $? -eq 0 ]

# --- environment variables ----------------------------------------------
IFS=/ expect_status 0 "IFS=/ does not change how keyward runs" kw list
check "... it lists the secret" contains "$out" "$S"
mkdir "$KW_TMP/evilbin"
for t in keyward-admin sh cat ls; do
	printf '#!/bin/sh\necho evil >%s/evil-ran\n' "$KW_TMP" \
	    >"$KW_TMP/evilbin/$t"
	chmod 755 "$KW_TMP/evilbin/$t"
done
expect_status 0 \
    "PATH of impostors: the front still runs the real keyward-admin" \
    env PATH="$KW_TMP/evilbin" "$KEYWARD" --root "$KW_ROOT" list
check "... no impostor ran" [ ! -e "$KW_TMP/evil-ran" ]
TMPDIR=/nonexistent/dir expect_status 0 "TMPDIR pointing nowhere: add works" \
    sh -c 'printf v3 | "$KEYWARD" --root "$1" add "tmpdir-$2"' sh "$KW_ROOT" $$
TMPDIR="$KW_TMP/evilbin" expect_status 0 "TMPDIR elsewhere: nothing is put there" \
    sh -c 'printf v4 | "$KEYWARD" --root "$1" rotate "tmpdir-$2"' sh "$KW_ROOT" $$
check "... only the impostors are in that TMPDIR" \
    [ "$(ls "$KW_TMP/evilbin" | wc -l)" -eq 4 ]
KEYWARD_CONFIG=/etc/shadow HOME=/nonexistent LANG=xx_XX.bogus \
    LC_ALL=C.UTF-8 expect_status 0 "unrelated variables are ignored" kw list

# LD_PRELOAD / LD_LIBRARY_PATH against a copy of the front with the file
# capability the packages give it (glibc's secure mode must ignore them)
if command -v setcap >/dev/null 2>&1 && command -v cc >/dev/null 2>&1; then
	mkdir "$KW_TMP/cap"
	cp "$top_builddir/keyward" "$KW_TMP/cap/keyward"
	setcap cap_audit_write+ep "$KW_TMP/cap/keyward"
	chmod 755 "$KW_TMP" "$KW_TMP/cap"
	cat >"$KW_TMP/evil.c" <<EVIL
#include <fcntl.h>
#include <unistd.h>
__attribute__((constructor)) static void evil(void)
{
	int fd = open("$KW_TMP/preload-ran", O_WRONLY | O_CREAT, 0666);
	if (fd >= 0)
		close(fd);
}
EVIL
	cc -shared -fPIC -o "$KW_TMP/evil.so" "$KW_TMP/evil.c"
	mkdir "$KW_TMP/evillib"
	cp "$KW_TMP/evil.so" "$KW_TMP/evillib/libkeyutils.so.1"
	LD_PRELOAD="$KW_TMP/evil.so" /bin/true
	check "the probe library works on an ordinary program" \
	    [ -e "$KW_TMP/preload-ran" ]
	rm -f "$KW_TMP/preload-ran"
	U=kwh$$u
	useradd -M -d /nonexistent -s /bin/sh "$U" && at_exit "userdel -f '$U'"
	setpriv --reuid="$U" --regid="$U" --clear-groups env \
	    LD_PRELOAD="$KW_TMP/evil.so" LD_LIBRARY_PATH="$KW_TMP/evillib" \
	    "$KW_TMP/cap/keyward" ls >/dev/null 2>&1
	check "LD_PRELOAD and LD_LIBRARY_PATH are ignored by the setcap front" \
	    [ ! -e "$KW_TMP/preload-ran" ]
else
	skip "setcap or cc missing"
fi

# --- huge argv ------------------------------------------------------------
expect_status 2 "100000 arguments to get: a usage error" \
    sh -c '"$KEYWARD" get $(seq 1 100000)'
check "... one short message" [ "$(printf '%s' "$err" | wc -c)" -lt 1000 ]
# one argument may be at most 128 KiB - 1 (the kernel's MAX_ARG_STRLEN:
# a 1 MB single argument cannot reach any program); 1 MB goes as 8 of them
BIG=$(head -c 131071 /dev/zero | tr '\0' a)
expect_status 1 "a 128 KiB secret name to add is refused" \
    sh -c 'printf v | "$KEYWARD" --root "$1" add "$2"' sh "$KW_ROOT" "$BIG"
check "... with a short message" [ "$(printf '%s' "$err" | wc -c)" -lt 1000 ]
expect_status 2 "a 128 KiB name to get is a usage error" "$KEYWARD" get "$BIG"
check "... with a short message" [ "$(printf '%s' "$err" | wc -c)" -lt 1000 ]
expect_status 2 "a 128 KiB relative --root is refused" "$KEYWARD" --root "$BIG" list
check "... with a short message" [ "$(printf '%s' "$err" | wc -c)" -lt 1000 ]
expect_status 1 "a 128 KiB absolute --root is refused" "$KEYWARD" --root "/${BIG%?}" list
check "... with a short message" [ "$(printf '%s' "$err" | wc -c)" -lt 1000 ]
expect_status 1 "a 128 KiB --config is refused" "$KEYWARD" --config "/${BIG%?}" list
check "... with a short message" [ "$(printf '%s' "$err" | wc -c)" -lt 1000 ]
expect_status 2 "1 MB of arguments to add is a usage error" \
    sh -c 'printf v | "$KEYWARD" --root "$1" add x "$2" "$2" "$2" "$2" "$2" \
    "$2" "$2" "$2"' sh "$KW_ROOT" "$BIG"
check "... with a short message" [ "$(printf '%s' "$err" | wc -c)" -lt 1000 ]
expect_status 2 "1 MB of arguments to explain is a usage error" \
    "$KEYWARD" --root "$KW_ROOT" explain --user root "$BIG" "$BIG" "$BIG" \
    "$BIG" "$BIG" "$BIG" "$BIG" "$BIG"
expect_status 0 "the vault verifies after all of it" kw check
check "the value was printed nowhere" sh -c "! grep -rqa 'hostile-value-$$' '$KW_TMP' --exclude-dir=root.*"
finish
