#!/bin/sh
# libkeyward.sh - the shared library exports exactly the public API, with
# versioned KEYWARD_1.0 symbols and nothing of the core; keyward.pc and
# keyward.h are usable; errors come back as codes with text.
. "$top_srcdir/tests/lib.sh"
LIB="$top_builddir/.libs/libkeyward.so"
[ -f "$LIB" ] || { notok "libkeyward.so was not built"; finish; }
command -v nm >/dev/null || skip "nm not installed"

SYMS=$(nm -D --defined-only "$LIB" | awk '$2 ~ /^[TDBRVW]$/ { print $3 }' | sort)
echo "$SYMS" | sed 's/^/# /'
check "exports keyward_get@@KEYWARD_1.0" contains "$SYMS" "keyward_get@@KEYWARD_1.0"
check "exports keyward_free@@KEYWARD_1.0" contains "$SYMS" "keyward_free@@KEYWARD_1.0"
check "exports keyward_strerror@@KEYWARD_1.0" contains "$SYMS" "keyward_strerror@@KEYWARD_1.0"
n=$(echo "$SYMS" | grep -vc '^keyward_\(get\|free\|strerror\)@@KEYWARD_1.0$')
check "exports nothing else ($n other symbols)" [ "$n" -eq 0 ]
check "no core kw_* or kwr_* symbol leaks" eval '! nm -D --defined-only "$LIB" | grep -q " kwr\?_"'
check "SONAME is libkeyward.so.1" eval 'objdump -p "$LIB" | grep -q "SONAME *libkeyward.so.1"'

PC="$top_builddir/lib/keyward.pc"
check "keyward.pc is generated" [ -f "$PC" ]
if command -v pkg-config >/dev/null; then
	check "pkg-config --libs keyward gives -lkeyward" eval 'PKG_CONFIG_PATH="$top_builddir/lib" pkg-config --libs keyward | grep -q -- -lkeyward'
fi

# a C program built against the header and library, run outside any
# keyward session: clean errors, never a crash
cat >"$KW_TMP/t.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <keyward.h>
int main(void) {
	struct keyward_value *v = (void *)1;
	int r1 = keyward_get("no-such-secret-xyz", &v);
	int bad = v != NULL;
	int r2 = keyward_get("../etc", &v);
	int r3 = keyward_get("ok", NULL);
	keyward_free(NULL);
	printf("%d %d %d %d %s|%s\n", r1, r2, r3, bad,
	    keyward_strerror(r1), keyward_strerror(12345));
	return 0;
}
C
# a sanitizer build of the library needs a program built the same way
san=""
ldd "$top_builddir/.libs/libkeyward.so" | grep -q libasan &&
    san="-fsanitize=address,undefined"
if ${CC:-cc} $san -I"$top_srcdir/lib" -o "$KW_TMP/t" "$KW_TMP/t.c" -L"$top_builddir/.libs" -lkeyward -Wl,-rpath,"$top_builddir/.libs"; then
	ok "a program compiles and links against <keyward.h> and -lkeyward"
	out=$(keyctl session - "$KW_TMP/t" 2>/dev/null | tail -1)
	check "not found, invalid name, NULL out: codes and text ($out)" \
	    [ "$out" = "-1 -5 -5 0 no such secret in this session|unknown error" ]
else
	notok "a program compiles and links against <keyward.h> and -lkeyward"
fi

# keyward_get remembers the serial it found (no search on the next call):
# whatever happens to the key, the next call must say so. As root, in a
# private session keyring, with root-owned keys as keyward delivers them.
if [ "$(id -u)" -eq 0 ]; then
	cat >"$KW_TMP/c.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <keyutils.h>
#include <keyward.h>
static key_serial_t put(const char *v) {
	key_serial_t k = add_key("user", "keyward:cached", v, strlen(v),
	    KEY_SPEC_SESSION_KEYRING);
	keyctl_setperm(k, 0x0b250000);	/* as pam_keyward sets it */
	return k;
}
static void get(const char *what) {
	struct keyward_value *v = NULL;
	int r = keyward_get("cached", &v);
	if (r == KEYWARD_OK)
		printf("%s=%.*s\n", what, (int)v->len, (const char *)v->data);
	else
		printf("%s=%s\n", what, keyward_strerror(r));
	keyward_free(v);
}
int main(void) {
	key_serial_t k = put("v1");
	get("first");
	get("again");
	keyctl_update(k, "v2", 2);
	get("updated");
	keyctl_revoke(k);
	get("revoked");
	k = put("v3");
	get("replaced");
	keyctl_unlink(k, KEY_SPEC_SESSION_KEYRING);
	get("unlinked");
	k = put("v4");
	get("back");
	return 0;
}
C
	if ${CC:-cc} $san -I"$top_srcdir/lib" -o "$KW_TMP/c" "$KW_TMP/c.c" \
	    -L"$top_builddir/.libs" -lkeyward -lkeyutils \
	    -Wl,-rpath,"$top_builddir/.libs"; then
		out=$(keyctl session - "$KW_TMP/c" 2>/dev/null | grep '=' |
		    tr '\n' ' ')
		check "a remembered key: read, updated in place, revoked, replaced, unlinked, back ($out)" \
		    [ "$out" = "first=v1 again=v1 updated=v2 revoked=secret revoked replaced=v3 unlinked=no such secret in this session back=v4 " ]
	else
		notok "the cache test program compiles"
	fi
fi
finish
