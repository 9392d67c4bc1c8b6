#!/bin/bash
# tests/packaging/deb-roundtrip.sh - install the .debs that
# packaging/build-deb.sh built on this machine, check that every documented
# file is in place and works, run keyward from the installed files, purge,
# and check that nothing of the packages is left but what is documented
# (/etc/keyward and /var/lib/keyward, made by "keyward init", are kept).
#
# Root. The .debs are taken from $KW_PKG_OUT (default build-pkg/ in the
# tree). Hook for the end-to-end story: if demo/story.sh exists it runs
# against the installed files with KW_INSTALLED=1, KEYWARD=/usr/bin/keyward,
# KW_PAM_MODULE=<installed pam_keyward.so>,
# KW_PAM_SERVICE=/etc/pam.d/keyward-agent and KW_AUDIT_RULES (and
# KW_RULES_FILE)=/etc/audit/rules.d/keyward.rules; its exit status is a
# check of this test, and "demo/story.sh --clean" runs at exit.
top_builddir=$(cd "$(dirname "$0")/../.." && pwd)
top_srcdir=$top_builddir
. "$top_srcdir/tests/lib.sh"
need_root

pkgdir=${KW_PKG_OUT:-$top_srcdir/build-pkg}
pkgs="keyward libpam-keyward libkeyward1 libkeyward-dev"
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
secdir=/usr/lib/$ma/security
debs=""
for p in $pkgs; do
	f=$(ls "$pkgdir/${p}_"*.deb 2>/dev/null | head -1)
	[ -n "$f" ] || skip "no ${p}_*.deb in $pkgdir (run packaging/build-deb.sh)"
	debs="$debs $f"
done
version=$(dpkg-deb -f "$pkgdir"/keyward_*.deb Version)
echo "# packages $version from $pkgdir, multiarch $ma"

# installed PKG: the package is installed (status "install ok installed").
installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'
}
# is_conffile PKG PATH: PATH is one of PKG's conffiles.
is_conffile() {
	dpkg-query -W -f='${Conffiles}\n' "$1" | awk '{print $1}' |
	    grep -qx "$2"
}
# mode PATH: octal permission bits.
mode() { stat -c %a "$1"; }
# purge_all: purge every keyward package (no error if none is installed).
purge_all() {
	DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq $pkgs \
	    >"$KW_TMP/purge.log" 2>&1
}
# install_all: install the built .debs (and their dependencies) with apt.
install_all() {
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends $debs >"$KW_TMP/install.log" 2>&1
}

# A keyward package left from an earlier run is ours: start clean.
for p in $pkgs; do
	if dpkg-query -W "$p" >/dev/null 2>&1; then
		purge_all
		break
	fi
done

# What exists before installation: the packages' paths that already
# exist (shared directories) must survive, the others must go at purge.
pre_etc_keyward=no; [ -e /etc/keyward ] && pre_etc_keyward=yes
pre_var_keyward=no; [ -e /var/lib/keyward ] && pre_var_keyward=yes
pre_run_keyward=no; [ -e /run/keyward ] && pre_run_keyward=yes
: >"$KW_TMP/paths"
for d in $debs; do
	dpkg-deb --fsys-tarfile "$d" | tar -tf - | sed 's|^\./|/|; s|/$||' |
	    grep -v '^\.\?$' >>"$KW_TMP/paths"
done
sort -u -o "$KW_TMP/paths" "$KW_TMP/paths"
: >"$KW_TMP/preexisting"
while IFS= read -r p; do
	if [ -e "$p" ] || [ -L "$p" ]; then echo "$p" >>"$KW_TMP/preexisting"; fi
done <"$KW_TMP/paths"
pre_rulesd_mode=$(mode /etc/audit/rules.d 2>/dev/null || echo none)

at_exit "purge_all"

# ---- install ----------------------------------------------------------------
if install_all; then
	ok "apt-get install of $pkgs"
else
	notok "apt-get install: $(tail -5 "$KW_TMP/install.log")"
	finish
fi
for p in $pkgs; do
	check "$p is installed" installed "$p"
done

# ---- the command ------------------------------------------------------------
check "/usr/bin/keyward is owned by package keyward" \
    sh -c 'dpkg -S /usr/bin/keyward | grep -q "^keyward:"'
caps=$(getcap /usr/bin/keyward 2>&1)
check "/usr/bin/keyward has cap_audit_write=ep ($caps)" \
    contains "$caps" "cap_audit_write=ep"
expect_status 0 "keyward --version runs" /usr/bin/keyward --version
check "keyward --version says ${version%%-*} ($out)" \
    contains "$out" "keyward ${version%%-*}"
admin=/usr/libexec/keyward/keyward-admin
check "$admin (the admin commands) is installed, executable" test -x "$admin"
check "$admin has no file capability" test -z "$(getcap "$admin" 2>&1)"

# ---- the PAM module, service, audit rules, tmpfiles ---------------------------
check "pam_keyward.so in $secdir" test -f "$secdir/pam_keyward.so"
check "pam_keyward.so exports pam_sm_acct_mgmt and pam_sm_open_session" \
    sh -c "nm -D --defined-only '$secdir/pam_keyward.so' |
	grep -q ' pam_sm_acct_mgmt\$' &&
	nm -D --defined-only '$secdir/pam_keyward.so' |
	grep -q ' pam_sm_open_session\$'"
check "no pam_keyward.so outside the multiarch PAM dir" \
    sh -c "! dpkg -L libpam-keyward | grep 'pam_keyward.so' | grep -v '^$secdir/'"
check "/etc/pam.d/keyward-agent installed" test -f /etc/pam.d/keyward-agent
check "/etc/pam.d/keyward-agent is a conffile" \
    is_conffile libpam-keyward /etc/pam.d/keyward-agent
check "/etc/pam.d/keyward-agent is the shipped file" \
    cmp -s /etc/pam.d/keyward-agent "$top_srcdir/packaging/pam.d/keyward-agent"
check "/etc/audit/rules.d/keyward.rules is the shipped file" \
    cmp -s /etc/audit/rules.d/keyward.rules \
    "$top_srcdir/packaging/audit/keyward.rules"
check "/etc/audit/rules.d/keyward.rules is a conffile" \
    is_conffile libpam-keyward /etc/audit/rules.d/keyward.rules
check "/etc/audit/rules.d/keyward.rules is mode 640" \
    test "$(mode /etc/audit/rules.d/keyward.rules)" = 640
if [ "$pre_rulesd_mode" != none ]; then
	check "/etc/audit/rules.d keeps its mode $pre_rulesd_mode" \
	    test "$(mode /etc/audit/rules.d)" = "$pre_rulesd_mode"
fi
check "tmpfiles.d entry d /run/keyward 0700 root root" \
    grep -qx 'd /run/keyward 0700 root root -' /usr/lib/tmpfiles.d/keyward.conf
check "/run/keyward made at install, 700 root:root" \
    test "$(stat -c '%a %U:%G %F' /run/keyward 2>/dev/null)" = \
    "700 root:root directory"

# ---- the library ---------------------------------------------------------------
check "libkeyward.so.N in /usr/lib/$ma" \
    sh -c "ls /usr/lib/$ma/libkeyward.so.[0-9]* >/dev/null"
check "ldconfig knows libkeyward" sh -c 'ldconfig -p | grep -q libkeyward.so'
check "/usr/include/keyward.h" test -f /usr/include/keyward.h
check "libkeyward.so link (dev)" test -L "/usr/lib/$ma/libkeyward.so"
check "pkg-config finds keyward $version" \
    test "$(pkg-config --modversion keyward 2>/dev/null)" = "${version%%-*}"
cat >"$KW_TMP/agent.c" <<'EOF'
#include <keyward.h>
#include <stdio.h>
int main(void)
{
	struct keyward_value *v = (struct keyward_value *)1;
	int r = keyward_get("pkgtest-absent", &v);
	printf("%d %s %s\n", r, v == NULL ? "null" : "set",
	    keyward_strerror(r));
	return r == KEYWARD_ENOTFOUND && v == NULL ? 0 : 1;
}
EOF
# shellcheck disable=SC2046
if cc -o "$KW_TMP/agent" "$KW_TMP/agent.c" $(pkg-config --cflags --libs keyward) \
    2>"$KW_TMP/cc.err"; then
	ok "an agent compiles and links against the installed libkeyward"
	expect_status 0 "installed libkeyward: absent secret is KEYWARD_ENOTFOUND" \
	    "$KW_TMP/agent"
	# /lib is /usr/lib on a merged-/usr system
	check "the agent loads the packaged libkeyward.so.N" \
	    sh -c "ldd '$KW_TMP/agent' |
		grep -Eq 'libkeyward\.so\.[0-9]+ => (/usr)?/lib/$ma/libkeyward\.so'"
else
	notok "compile against libkeyward-dev: $(cat "$KW_TMP/cc.err")"
fi

# ---- docs --------------------------------------------------------------------------
for page in keyward.1 keyward.conf.5 keyward-policy.5 keyward-audit.7 \
    pam_keyward.8; do
	sec=${page##*.}
	name=${page%.*}
	f=/usr/share/man/man$sec/$page.gz
	check "man page $f installed" test -f "$f"
	check "man page $page is not empty" \
	    sh -c "[ \$(zcat '$f' | wc -c) -gt 0 ]"
	w=$(man -w "$sec" "$name" 2>/dev/null)
	check "man -w $sec $name finds $f ($w)" test "$w" = "$f"
done
check "man -w keyward" sh -c 'man -w keyward >/dev/null'
ex=/usr/share/doc/keyward/examples/keyward-agent-example.service
check "example unit $ex" test -f "$ex"
check "example unit runs /usr/bin/keyward" grep -q '^ExecStart=/usr/bin/keyward ' "$ex"
if command -v systemd-analyze >/dev/null 2>&1; then
	# systemd is not PID 1 here: verify the unit offline
	cp "$ex" "$KW_TMP/kw-example.service"
	expect_status 0 "systemd-analyze verify accepts the example unit" \
	    systemd-analyze verify "$KW_TMP/kw-example.service"
fi
check "README.Debian says how to remove the vault" \
    sh -c 'zcat -f /usr/share/doc/keyward/README.Debian* |
	grep -q "rm -r /etc/keyward /var/lib/keyward"'

# ---- installing made no secrets ------------------------------------------------
check "no /etc/keyward/master.key after install" test ! -e /etc/keyward/master.key
if [ "$pre_etc_keyward" = no ]; then
	check "install made no /etc/keyward" test ! -e /etc/keyward
fi
if [ "$pre_var_keyward" = no ]; then
	check "install made no /var/lib/keyward" test ! -e /var/lib/keyward
fi
check "no package ships a key or a vault" \
    sh -c "! grep -E '/etc/keyward|/var/lib/keyward|master\\.key' '$KW_TMP/paths'"

# ---- the installed binary against a staging root --------------------------------
KEYWARD=/usr/bin/keyward
new_root
check "installed keyward init: master key 0400 under the Debian sysconfdir" \
    test "$(stat -c %a "$KW_ROOT/etc/keyward/master.key" 2>/dev/null)" = 400
check "installed keyward init: vault under /var/lib/keyward" \
    test -f "$KW_ROOT/var/lib/keyward/vault"
secret="pkg-value-$$-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s' "$secret" >"$KW_TMP/value"
expect_status 0 "installed keyward add (value from stdin)" \
    sh -c "'$KEYWARD' --root '$KW_ROOT' add pkgtest-$$ <'$KW_TMP/value'"
expect_status 0 "installed keyward list" kw list
check "list names the secret" contains "$out" "pkgtest-$$"
check_fails "list does not show the value" contains "$out$err" "$secret"
check_fails "the vault file does not hold the value in clear" \
    grep -qF "$secret" "$KW_ROOT/var/lib/keyward/vault"

# ---- hook: the end-to-end story against the installed files ----------------------
if [ -x "$top_srcdir/demo/story.sh" ]; then
	echo "# demo/story.sh against the installed files"
	at_exit "sh '$top_srcdir/demo/story.sh' --clean"
	if KW_INSTALLED=1 KEYWARD=/usr/bin/keyward \
	    KW_PAM_MODULE="$secdir/pam_keyward.so" \
	    KW_PAM_SERVICE=/etc/pam.d/keyward-agent \
	    KW_AUDIT_RULES=/etc/audit/rules.d/keyward.rules \
	    KW_RULES_FILE=/etc/audit/rules.d/keyward.rules \
	    "$top_srcdir/demo/story.sh"; then
		ok "demo/story.sh against the installed packages"
	else
		notok "demo/story.sh against the installed packages"
	fi
else
	echo "# no demo/story.sh: end-to-end hook not run"
fi

# ---- a real keyward init survives purge and reinstall ----------------------------
# Only when this machine has no keyward state of its own: the test then
# made /etc/keyward and /var/lib/keyward and removes them at the end.
real_state=no
if [ "$pre_etc_keyward" = no ] && [ "$pre_var_keyward" = no ]; then
	real_state=yes
	at_exit "rm -rf /etc/keyward /var/lib/keyward"
	expect_status 0 "keyward init on the real paths" /usr/bin/keyward init
	expect_status 0 "keyward add on the real paths" \
	    sh -c "/usr/bin/keyward add pkgkeep-$$ <'$KW_TMP/value'"
	sha_vault=$(sha256sum /var/lib/keyward/vault | cut -d' ' -f1)
	sha_key=$(sha256sum /etc/keyward/master.key | cut -d' ' -f1)
else
	echo "# /etc/keyward or /var/lib/keyward exist: keep-on-purge part not run"
fi

# ---- purge -------------------------------------------------------------------------
if purge_all; then
	ok "apt-get purge of $pkgs"
else
	notok "apt-get purge: $(tail -5 "$KW_TMP/purge.log")"
fi
for p in $pkgs; do
	check_fails "$p is gone from dpkg's database" \
	    sh -c "dpkg-query -W -f='\${Status}' $p 2>/dev/null | grep -q ."
done
left=""
while IFS= read -r p; do
	grep -qxF "$p" "$KW_TMP/preexisting" && continue
	if [ -e "$p" ] || [ -L "$p" ]; then left="$left $p"; fi
done <"$KW_TMP/paths"
check "purge left none of the packages' files or directories${left:+ (left:$left)}" \
    test -z "$left"
check "no /etc/pam.d/keyward-agent after purge" test ! -e /etc/pam.d/keyward-agent
check "no /etc/audit/rules.d/keyward.rules after purge" \
    test ! -e /etc/audit/rules.d/keyward.rules
check "no /usr/bin/keyward after purge" test ! -e /usr/bin/keyward
check "no pam_keyward.so after purge" test ! -e "$secdir/pam_keyward.so"
if [ "$pre_run_keyward" = no ]; then
	check "purge removed /run/keyward" test ! -e /run/keyward
fi
if [ "$pre_rulesd_mode" != none ]; then
	check "/etc/audit/rules.d still there with mode $pre_rulesd_mode" \
	    test "$(mode /etc/audit/rules.d)" = "$pre_rulesd_mode"
fi
if [ "$real_state" = yes ]; then
	check "purge kept /etc/keyward/master.key unchanged" \
	    test "$(sha256sum /etc/keyward/master.key 2>/dev/null | cut -d' ' -f1)" = "$sha_key"
	check "purge kept /var/lib/keyward/vault unchanged" \
	    test "$(sha256sum /var/lib/keyward/vault 2>/dev/null | cut -d' ' -f1)" = "$sha_vault"
	if install_all; then
		ok "reinstall after purge"
		expect_status 0 "reinstalled keyward lists the kept vault" \
		    /usr/bin/keyward list
		check "the kept secret is still there" contains "$out" "pkgkeep-$$"
	else
		notok "reinstall: $(tail -5 "$KW_TMP/install.log")"
	fi
	check "second purge" purge_all
	rm -rf /etc/keyward /var/lib/keyward
else
	if [ "$pre_etc_keyward" = no ]; then
		check "no /etc/keyward after purge" test ! -e /etc/keyward
	fi
	if [ "$pre_var_keyward" = no ]; then
		check "no /var/lib/keyward after purge" test ! -e /var/lib/keyward
	fi
fi

finish
