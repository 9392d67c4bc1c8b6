#!/bin/sh
# tests/hostile/run-exe-swap.sh - keyward run executes the very file it
# hashed. A pam_exec session module (run between the hash and the exec,
# as an attacker racing the launcher would) renames another file over the
# agent's path. The launcher must still run the original (it execs the
# descriptor it hashed), and the policy's exe_sha256 grant must not reach
# the substitute. With a hash-by-path, exec-by-path launcher the
# substitute runs with the secret: this test fails there. And a file that
# someone other than root may write can be rewritten in place, under the
# same descriptor: its hash is not claimed, so exe_sha256 grants nothing.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/pam/pamlib.sh"

pam_setup
U=kwx$$a
add_user "$U" || { notok "useradd $U"; finish; }
S=swap$$-key
secret "$S" "swapvalue-$$"
SVC=kw-test-$$-swap
set_conf trusted_launchers "$SVC"

for kind in script elf; do
	pubfile "out-$kind" "$U"
	if [ "$kind" = script ]; then
		printf '#!/bin/sh\necho original >%s\n' "$PUB/out-$kind" \
		    >"$PUB/agent-$kind"
		printf '#!/bin/sh\necho substitute >%s\n' "$PUB/out-$kind" \
		    >"$PUB/evil-$kind"
	else
		# two different ELF programs: the original writes its name
		cp /bin/true "$PUB/agent-$kind"
		cp /bin/false "$PUB/evil-$kind"
	fi
	chmod 755 "$PUB/agent-$kind" "$PUB/evil-$kind"
	SHA=$(sha256sum "$PUB/agent-$kind" | cut -d' ' -f1)
	policy "allow user=$U service=$SVC exe=$PUB/agent-$kind exe_sha256=$SHA secrets=$S ttl=1h"
	cat >"$PUB/swap-$kind.sh" <<SWAP
#!/bin/sh
[ "\$PAM_TYPE" = open_session ] || exit 0
mv -f "$PUB/evil-$kind" "$PUB/agent-$kind"
SWAP
	chmod 755 "$PUB/swap-$kind.sh"
	PAM_EXTRA="session required pam_exec.so $PUB/swap-$kind.sh" \
	    pam_service "$SVC"
	expect_status 0 "$kind: keyward run succeeds" \
	    "$KEYWARD" --root "$KW_ROOT" run --service "$SVC" --user "$U" \
	    -- "$PUB/agent-$kind"
	check "$kind: the swap happened during the session" \
	    [ ! -e "$PUB/evil-$kind" ]
	check "$kind: the path now holds a different file" \
	    [ "$(sha256sum "$PUB/agent-$kind" | cut -d' ' -f1)" != "$SHA" ]
	if [ "$kind" = script ]; then
		check "$kind: the hashed original ran, not the substitute" \
		    [ "$(cat "$PUB/out-$kind")" = original ]
	fi
done
# the ELF case: /bin/false would have made the exit status 1

pam_service "$SVC"
pubfile out-owned "$U"
printf '#!/bin/sh\necho ran >%s\n' "$PUB/out-owned" >"$PUB/agent-owned"
chmod 755 "$PUB/agent-owned"
SHA=$(sha256sum "$PUB/agent-owned" | cut -d' ' -f1)
policy "allow user=$U service=$SVC exe=$PUB/agent-owned exe_sha256=$SHA secrets=$S ttl=1h"
for how in "owned by the user" "group-writable" "writable by all"; do
	case $how in
	"owned by the user") chown "$U" "$PUB/agent-owned" ;;
	group-writable) chown root "$PUB/agent-owned"; chmod 775 "$PUB/agent-owned" ;;
	*) chmod 757 "$PUB/agent-owned" ;;
	esac
	expect_status 1 "an agent $how: its hash is not claimed, so denied" \
	    "$KEYWARD" --root "$KW_ROOT" run --service "$SVC" --user "$U" \
	    -- "$PUB/agent-owned"
	check "... saying why" contains "$err" "its SHA-256 is not claimed"
	check "... it never ran" [ ! -s "$PUB/out-owned" ]
done
chmod 755 "$PUB/agent-owned"
expect_status 0 "control: root-owned and written by root only, it matches" \
    "$KEYWARD" --root "$KW_ROOT" run --service "$SVC" --user "$U" \
    -- "$PUB/agent-owned"
check "... and ran" [ "$(cat "$PUB/out-owned")" = ran ]
check "no live key remains" [ "$(keys_named "$S")" -eq 0 ]
finish
