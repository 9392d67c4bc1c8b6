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
finish
