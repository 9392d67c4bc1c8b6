#!/bin/sh
# tests/fault/enospc.sh - a vault write on a full file system: a small
# tmpfs in a private mount namespace holds the staging root and is filled;
# rotate fails with a clear "No space left on device", the old vault
# survives byte for byte and verifies, no temporary file is left, and the
# same rotate works once there is room again.
if [ -z "${KW_ENOSPC_NS:-}" ]; then
	[ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null 2>&1 &&
	    exec env KW_ENOSPC_NS=1 unshare -m --propagation private sh "$0"
fi
. "$top_srcdir/tests/lib.sh"

need_root
[ -n "${KW_ENOSPC_NS:-}" ] || skip "unshare not available"
FS="$KW_TMP/fs"
mkdir "$FS"
mount -t tmpfs -o size=512k,mode=755 kwfull "$FS" ||
    { notok "mount a tmpfs"; finish; }
at_exit "umount -l '$FS'"
KW_ROOT="$FS/root"
mkdir -m 755 "$KW_ROOT"
"$KEYWARD" --root "$KW_ROOT" init >/dev/null || { notok "init"; finish; }
CONF=$(find "$KW_ROOT" -name keyward.conf -path '*/keyward/*' | head -n 1)
VAULT=$(sed -n 's/^vault *= *//p' "$CONF")
sed -i 's/^audit *=.*/audit = best-effort/' "$CONF"
S=full$$-key
head -c 20000 /dev/urandom | base64 -w0 | head -c 20000 >"$KW_TMP/old"
head -c 20000 /dev/urandom | base64 -w0 | head -c 20000 >"$KW_TMP/new"
expect_status 0 "add a 20000-byte secret" kw add "$S" --from-file "$KW_TMP/old"
before=$(sha256sum <"$VAULT")
fp_before=$(kw audit-hash --secret "$S")
entries=$(ls -a "$(dirname "$VAULT")" | wc -l)
# fill the file system
dd if=/dev/zero of="$FS/fill" bs=4096 >/dev/null 2>&1
check "the file system is full" [ "$(df --output=avail "$FS" | tail -n 1)" -eq 0 ]

expect_status 1 "rotate on a full file system fails" \
    kw rotate "$S" --from-file "$KW_TMP/new"
check "... saying so clearly" contains "$err" "No space left on device"
check "... naming the vault" contains "$err" "$VAULT"
check "the old vault is unchanged, byte for byte" \
    [ "$(sha256sum <"$VAULT")" = "$before" ]
check "no temporary file is left beside it" \
    [ "$(ls -a "$(dirname "$VAULT")" | wc -l)" -eq "$entries" ]
expect_status 0 "the old vault verifies" kw check
check "the secret still has its old value" \
    [ "$(kw audit-hash --secret "$S")" = "$fp_before" ]
expect_status 1 "add on a full file system fails too" \
    kw add "other-$$" --from-file "$KW_TMP/new"
check "... clearly" contains "$err" "No space left on device"
check "... leaving the vault unchanged" [ "$(sha256sum <"$VAULT")" = "$before" ]

rm -f "$FS/fill"
expect_status 0 "with room again the same rotate works" \
    kw rotate "$S" --from-file "$KW_TMP/new"
expect_status 0 "and the vault verifies" kw check
finish
