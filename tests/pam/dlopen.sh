#!/bin/sh
# tests/pam/dlopen.sh - the built module loads with RTLD_NOW (no undefined
# symbol) and exports only pam_sm_* entry points.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/pam/pamlib.sh"

command -v nm >/dev/null 2>&1 || skip "nm not installed"
[ -f "$MODULE" ] || { notok "module not built: $MODULE"; finish; }

check "dlopen(RTLD_NOW) and every pam_sm_* resolves" \
    "$top_builddir/tests/pam/kw_dlopen" "$MODULE"
syms=$(nm -D --defined-only "$MODULE" | awk '{ print $3 }')
others=$(printf '%s\n' "$syms" | grep -v '^pam_sm_' | grep -v '^$' || true)
if [ -z "$others" ]; then
	ok "only pam_sm_* symbols are exported"
else
	notok "other exported symbols: $others"
fi
for s in pam_sm_acct_mgmt pam_sm_open_session pam_sm_close_session \
    pam_sm_setcred; do
	check "exports $s" contains "$syms" "$s"
done
finish
