#!/bin/sh
# vault-bad-input.sh - a damaged or untrustworthy vault or master key,
# through the CLI as root: flipped bytes, wrong master key, unsafe modes,
# wrong owner, truncation, symbolic links, garbage. Each gives a clear error
# naming the file, contains no part of the secret, and changes nothing.
. "$top_srcdir/tests/lib.sh"
need_root

TOOL="$top_builddir/tests/cmd/vault-tool"
new_root
CONF=$(find "$KW_ROOT" -name keyward.conf)
ETC=$(dirname "$CONF")
MK="$ETC/master.key"
VAULT=$(sed -n 's/^vault = //p' "$CONF")
SECRET="TOPSECRET-9f8e7d6c5b4a39281706"
printf '%s' "$SECRET" | kw add victim >/dev/null || notok "add victim"
printf 'other-value' | kw add zz-other >/dev/null || notok "add zz-other"
cp -p "$VAULT" "$KW_TMP/vault.good"
cp -p "$MK" "$KW_TMP/master.good"

# no_leak DESC TEXT: TEXT holds no 8-byte piece of the secret
no_leak() {
	local i=1 piece
	while [ $i -le $((${#SECRET} - 7)) ]; do
		piece=$(printf '%s' "$SECRET" | cut -c$i-$((i + 7)))
		if contains "$2" "$piece"; then
			notok "$1 (leaks '$piece')"
			return
		fi
		i=$((i + 1))
	done
	ok "$1"
}
# flip OFFSET: invert one byte of the vault in place
flip() {
	local b
	b=$(od -An -tu1 -j "$1" -N1 "$VAULT" | tr -d ' ')
	printf "\\$(printf %o $((b ^ 255)))" |
		dd of="$VAULT" bs=1 seek="$1" conv=notrunc status=none
}
restore() {
	rm -f "$VAULT" "$MK"
	cp -p "$KW_TMP/vault.good" "$VAULT"
	cp -p "$KW_TMP/master.good" "$MK"
}
# refused DESC WHAT-IN-MESSAGE CMD...: exit 1, message, no leak
refused() {
	local d="$1" want="$2"
	shift 2
	expect_status 1 "$d: refused" "$@"
	if contains "$err$out" "$want"; then ok "$d: says '$want'"; else
		notok "$d: says '$want' (got: $err$out)"; fi
	no_leak "$d: no part of the secret in the output" "$err$out"
}
vault_unchanged() {
	check "$1: vault unchanged" cmp -s "$VAULT" "$KW_TMP/vault.good"
}

SIZE=$(stat -c %s "$VAULT")
DATA=$((128 + 64 + 2 * 512))	# header, fence, two entries (vault-format.md)
check "layout as documented" test "$SIZE" -eq $((DATA + ${#SECRET} + 11))

# ---- flipped bytes ----
flip $((DATA + 5))
refused "flipped ciphertext: check" "fails authentication" kw check
refused "flipped ciphertext: get" "fails authentication" "$TOOL" peek "$CONF" victim
check "flipped ciphertext: the other secret still reads" sh -c "'$TOOL' peek '$CONF' zz-other >/dev/null"
refused "flipped ciphertext: rotate refuses to build on it" "fails authentication" sh -c "printf new | '$KEYWARD' --root '$KW_ROOT' rotate zz-other"
restore
flip $((128 + 64 + 100))
refused "flipped index entry: list" "index entry 0" kw list
refused "flipped index entry: check" "fails authentication" kw check
refused "flipped index entry: get" "fails authentication" "$TOOL" peek "$CONF" victim
restore
flip 30
refused "flipped header: list" "$VAULT" kw list
restore
flip 60
refused "flipped key check: list" "wrong master key" kw list
restore
flip 0
refused "bad magic" "not a keyward vault" kw list
restore
check "restored vault checks clean" sh -c "'$KEYWARD' --root '$KW_ROOT' check >/dev/null"

# ---- wrong master key ----
rm -f "$MK"
head -c 32 /dev/urandom >"$MK"
chmod 0400 "$MK"
refused "wrong master key: list" "wrong master key" kw list
check "wrong master key: message names the vault" contains "$err" "$VAULT"
refused "wrong master key: add" "wrong master key" sh -c "printf v | '$KEYWARD' --root '$KW_ROOT' add new-one"
refused "wrong master key: check" "wrong master key" kw check
vault_unchanged "wrong master key"
restore
rm -f "$MK"
head -c 31 /dev/urandom >"$MK"
chmod 0400 "$MK"
refused "short master key" "exactly 32 bytes" kw list
restore

# ---- unsafe permissions and owners ----
for m in 0640 0604 0660 0606 0644; do
	chmod "$m" "$VAULT"
	refused "vault mode $m" "$VAULT" kw list
	check "vault mode $m: says why" contains "$err" "by group or others"
done
restore
for m in 0440 0404 0600 0644; do
	chmod "$m" "$MK"
	if [ "$m" = 0600 ]; then
		expect_status 0 "master key mode 0600 is accepted" kw list
	else
		refused "master key mode $m" "$MK" kw list
	fi
done
restore
chown 65534 "$VAULT"
refused "vault owned by uid 65534" "owned by uid 65534" kw list
refused "vault owned by uid 65534: check" "owned by uid 65534" kw check
restore
chown 65534 "$MK"
refused "master key owned by uid 65534" "owned by uid 65534" kw list
restore
chmod 0777 "$(dirname "$VAULT")"
refused "world-writable vault directory: check" "writable by group or others" kw check
chmod 0700 "$(dirname "$VAULT")"

# ---- truncated, extended, empty, garbage ----
for n in 0 10 127 128 200 $((DATA - 1)) $((DATA + 3)) $((SIZE - 1)); do
	restore
	truncate -s "$n" "$VAULT"
	refused "vault truncated to $n bytes" "truncated" kw list
	refused "vault truncated to $n bytes: add" "truncated" sh -c "printf v | '$KEYWARD' --root '$KW_ROOT' add new-one"
done
restore
printf 'x' >>"$VAULT"
refused "vault with a byte appended" "extended" kw check
restore
head -c 4096 /dev/urandom >"$VAULT"
refused "garbage vault" "not a keyward vault" kw list
restore

# ---- symbolic links ----
mv "$VAULT" "$VAULT.real"
ln -s "$VAULT.real" "$VAULT"
refused "symlinked vault" "symbolic link" kw list
refused "symlinked vault: add" "symbolic link" sh -c "printf v | '$KEYWARD' --root '$KW_ROOT' add new-one"
check "symlinked vault: target unchanged" cmp -s "$VAULT.real" "$KW_TMP/vault.good"
rm -f "$VAULT" "$VAULT.real"
restore
mv "$MK" "$MK.real"
ln -s "$MK.real" "$MK"
refused "symlinked master key" "symbolic link" kw list
refused "symlinked master key: check" "symbolic link" kw check
rm -f "$MK.real"
restore
rm -f "$VAULT"
mkdir "$VAULT"
refused "a directory instead of the vault" "not a regular file" kw list
rmdir "$VAULT"
restore

# ---- a bad keyward.conf is reported with file:line ----
cp -p "$CONF" "$KW_TMP/conf.good"
echo "bogus = 1" >>"$CONF"
line=$(wc -l <"$CONF")
refused "unknown setting in keyward.conf" "$CONF:$line: unknown setting 'bogus'" kw check
cp -p "$KW_TMP/conf.good" "$CONF"
check "everything restored: check is clean" sh -c "'$KEYWARD' --root '$KW_ROOT' check >/dev/null"
check "the secret is intact" test "$("$TOOL" peek "$CONF" victim | cut -d' ' -f3)" = "$(printf '%s' "$SECRET" | sha256sum | cut -d' ' -f1)"
finish
