#!/bin/sh
# vault-cli.sh - the sysadmin's vault commands end to end as root: init
# (and its refusal to overwrite), add, list, list --json, rotate, rollback,
# rm, check; errors and exit codes; --help and --version; values never on
# the command line and never printed.
. "$top_srcdir/tests/lib.sh"
need_root

TOOL="$top_builddir/tests/cmd/vault-tool"
new_root
CONF=$(find "$KW_ROOT" -name keyward.conf)
ETC=$(dirname "$CONF")
VAULT=$(sed -n 's/^vault = //p' "$CONF")
ALL="$KW_TMP/all-output"	# every stdout and stderr, searched for values
: >"$ALL"

# mode_of PATH: octal mode and owner "0600 root"
mode_of() { stat -c '%a %U' "$1"; }
# run WANT DESC CMD...: expect_status, keeping every output in $ALL
run() {
	expect_status "$@"
	printf '%s\n%s\n' "$out" "$err" >>"$ALL"
}
sha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

# ---- init ----
check "keyward.conf found" test -f "$CONF"
check "vault= points into the staging root" contains "$VAULT" "$KW_ROOT/"
check "run_dir= set for the staging root" grep -q "^run_dir = $KW_ROOT/" "$CONF"
check "master.key 0400 root, 32 bytes" test "$(mode_of "$ETC/master.key") $(stat -c %s "$ETC/master.key")" = "400 root 32"
check "audit.key 0400 root, 32 bytes" test "$(mode_of "$ETC/audit.key") $(stat -c %s "$ETC/audit.key")" = "400 root 32"
check "master and audit keys differ" test "$(sha256sum <"$ETC/master.key")" != "$(sha256sum <"$ETC/audit.key")"
check "keyward.conf 0644" test "$(mode_of "$CONF")" = "644 root"
check "policy.conf 0644 says default deny" grep -qi "default deny" "$ETC/policy.conf"
check "policy.d/ 0755 and empty" test "$(mode_of "$ETC/policy.d")" = "755 root" -a -z "$(ls -A "$ETC/policy.d")"
check "config dir 0755" test "$(mode_of "$ETC")" = "755 root"
check "vault dir 0700" test "$(mode_of "$(dirname "$VAULT")")" = "700 root"
check "vault 0600" test "$(mode_of "$VAULT")" = "600 root"
run 0 "keyward.conf loads (check is clean)" kw check
before=$(cat "$ETC/master.key" "$VAULT" "$CONF" | sha256sum)
run 1 "init again is refused" kw init
check "re-init names what exists" contains "$err" "master.key exists"
check "re-init changed nothing" test "$(cat "$ETC/master.key" "$VAULT" "$CONF" | sha256sum)" = "$before"
# a partial install (only the vault missing) is still refused as a whole
mv "$VAULT" "$VAULT.away"
run 1 "init refused when some files exist" kw init
check "no vault was created by the refused init" test ! -e "$VAULT"
mv "$VAULT.away" "$VAULT"

# ---- add ----
V1="sk-live-AAAA1111bbbb2222"
V2="sk-live-CCCC3333dddd4444"
run 0 "add from stdin" sh -c "printf '%s\n' '$V1' | '$KEYWARD' --root '$KW_ROOT' add openai-prod --max-ttl 1h --rotate-every 30d --note 'prod key'"
check "add says version 1" contains "$out" "version 1"
check "stored value is the input minus one newline" test "$($TOOL peek "$CONF" openai-prod)" = "1 ${#V1} $(sha "$V1")"
printf 'line1\nline2\n\n' >"$KW_TMP/value-file"
run 0 "add --from-file" kw add from-file --from-file "$KW_TMP/value-file"
check "--from-file value kept as is (newlines too)" test "$($TOOL peek "$CONF" from-file | cut -d' ' -f2,3)" = "$(wc -c <"$KW_TMP/value-file") $(sha256sum <"$KW_TMP/value-file" | cut -d' ' -f1)"
run 1 "add an existing name" sh -c "printf x | '$KEYWARD' --root '$KW_ROOT' add openai-prod"
check "existing name: clear error" contains "$err" "already exists"
run 1 "add an invalid name" sh -c "printf x | '$KEYWARD' --root '$KW_ROOT' add 'bad/name'"
check "invalid name: clear error" contains "$err" "invalid secret name"
run 1 "add an empty value" sh -c "printf '' | '$KEYWARD' --root '$KW_ROOT' add empty"
check "empty value: clear error" contains "$err" "empty value"
run 1 "add a lone newline (empty after stripping)" sh -c "printf '\n' | '$KEYWARD' --root '$KW_ROOT' add empty"
head -c 32767 /dev/zero | tr '\0' 'k' >"$KW_TMP/max"
head -c 32768 /dev/zero | tr '\0' 'k' >"$KW_TMP/over"
run 0 "add a 32767-byte value" kw add biggest --from-file "$KW_TMP/max"
run 1 "add a 32768-byte value" kw add too-big --from-file "$KW_TMP/over"
check "over-long value: clear error" contains "$err" "32767"
run 1 "add from a missing file" kw add nofile --from-file "$KW_TMP/does-not-exist"
run 2 "add without a name" kw add
run 2 "a value on the command line is refused" kw add extra "$V2"
check "the refused argument is not echoed" test "$(printf '%s' "$err" | grep -c "$V2")" -eq 0
run 2 "unknown option" kw add x --value "$V2"
run 2 "option missing its value" kw add x --note
run 2 "bad duration" kw add x --max-ttl 5x
run 2 "rotate takes no --note" kw rotate openai-prod --note n
check "no add option takes a value" sh -c "! '$KEYWARD' add --help | grep -q -- '--value'"
check "nothing was added by the failures" test "$(kw list | grep -c -E '^(x|extra|empty|too-big|nofile) ')" -eq 0

# ---- list ----
run 0 "list" kw list
check "list shows the secret with version and max ttl" sh -c "printf '%s\n' \"\$0\" | grep -q -E '^openai-prod +1 +- .* 1h +30d +ok +prod key$'" "$out"
check "list shows all four secrets" test "$(printf '%s\n' "$out" | grep -c -E '^(openai-prod|from-file|biggest) ')" -eq 3
run 0 "list --json" kw list --json
check "json: name" contains "$out" '"name": "openai-prod"'
check "json: version, no previous" contains "$out" '"version": 1, "previous_version": null'
check "json: max_ttl and schedule in seconds" contains "$out" '"max_ttl": 3600, "rotate_every": 2592000, "state": "ok"'
check "json: note" contains "$out" '"note": "prod key"'
run 2 "list with a bad argument" kw list --yaml

# ---- rotate, rollback ----
run 0 "rotate from stdin" sh -c "printf '%s' '$V2' | '$KEYWARD' --root '$KW_ROOT' rotate openai-prod"
check "rotate: version 2 current" test "$($TOOL peek "$CONF" openai-prod)" = "2 ${#V2} $(sha "$V2")"
check "rotate: version 1 kept" test "$($TOOL peek "$CONF" openai-prod 1)" = "1 ${#V1} $(sha "$V1")"
check "list shows 2 and previous 1" sh -c "'$KEYWARD' --root '$KW_ROOT' list | grep -q -E '^openai-prod +2 +1 '"
run 1 "rotate a missing secret" sh -c "printf v | '$KEYWARD' --root '$KW_ROOT' rotate nothere"
check "missing secret: clear error" contains "$err" "no secret 'nothere'"
run 1 "rotate with an empty value" sh -c "printf '' | '$KEYWARD' --root '$KW_ROOT' rotate openai-prod"
run 0 "rotate --from-file" kw rotate from-file --from-file "$KW_TMP/max"
run 0 "rollback" kw rollback openai-prod
check "rollback: version 1 current again" test "$($TOOL peek "$CONF" openai-prod)" = "1 ${#V1} $(sha "$V1")"
check "rollback: version 2 kept as previous" sh -c "'$KEYWARD' --root '$KW_ROOT' list | grep -q -E '^openai-prod +1 +2 '"
run 1 "rollback without a previous version" kw rollback biggest
check "no previous: clear error" contains "$err" "no previous version"
run 2 "rollback without a name" kw rollback
run 2 "rollback with two names" kw rollback a b

# ---- rm ----
run 0 "rm" kw rm from-file
check "rm: gone from list" sh -c "! '$KEYWARD' --root '$KW_ROOT' list | grep -q '^from-file '"
run 1 "rm again" kw rm from-file
run 1 "rm an invalid name" kw rm ../x

# ---- check ----
run 0 "check is clean" kw check
check "check summary" contains "$out" "keyward check: ok (2 secrets verified"
run 2 "check with an argument" kw check extra

# ---- help, version, usage, privileges ----
run 0 "--version" "$KEYWARD" --version
check "--version prints the version" contains "$out" "keyward "
run 0 "--help" "$KEYWARD" --help
check "--help lists the vault commands" sh -c "for c in init add rotate rollback rm list check; do printf '%s' \"\$0\" | grep -q \"^  \$c \" || exit 1; done" "$out"
for c in init add rotate rollback rm list check; do
	run 0 "$c --help" kw "$c" --help
	check "$c --help shows its usage" contains "$out" "usage: keyward $c"
done
run 2 "unknown command" kw frobnicate
if id nobody >/dev/null 2>&1; then
	run 1 "list as non-root is refused" setpriv --reuid=nobody --regid=nogroup --clear-groups "$KEYWARD" --root "$KW_ROOT" list
	check "non-root: clear error" contains "$err" "must be run as root"
fi
EMPTY=$(mktemp -d "$KW_TMP/empty.XXXXXX")
run 1 "list without a configuration" "$KEYWARD" --root "$EMPTY" list
check "no configuration: says to run init" contains "$err" "keyward init"

# ---- values never printed ----
for v in "$V1" "$V2" "line1" "kkkkkkkkkkkkkkkk"; do
	check "no output ever contained a value (${v%"${v#????}"}...)" test "$(grep -c -F -- "$v" "$ALL")" -eq 0
done
check "no stale temporary files" test -z "$(ls "$(dirname "$VAULT")" | grep '\.tmp\.')"
finish
