#!/bin/sh
# records.sh - every kind of access this layer can produce leaves a record
# that ausearch finds, and keyward audit names the secret, program and
# user; no test value (raw, base64, hex) reaches the logs, stderr or
# /run/keyward. Real auditd, real kernel rules, a real agent user.

# run in a fresh session keyring, as a PAM session would have
if [ -z "${KW_IN_SESSION:-}" ] && command -v keyctl >/dev/null; then
	KW_IN_SESSION=1 exec keyctl session - /bin/sh "$0" "$@"
fi
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/audit/audit-lib.sh"
need_root
export LC_ALL=C
need_auditd
load_rules
new_agent rec
START=$(date +%s)
TS_START=$(date -d "@$START" '+%x %H:%M:%S')
sleep 1

SECRET="kwrec-$$"
VALUE="sk-rec-$$-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
SERIAL=$(deliver "$SECRET" "$VALUE") || { notok "deliver a key"; finish; }
ok "key keyward:$SECRET delivered in a fresh session keyring ($SERIAL)"
check "keyward-deliver record written (required mode)" \
    "$KW_EMIT" deliver "$SECRET" "$SERIAL" "$AGENT" success 1

# a keyward with cap_audit_write, like the installed one
CAPKW="$KW_TMP/capbin/keyward"
mkdir -p "$KW_TMP/capbin"
chmod 755 "$KW_TMP" "$KW_TMP/capbin"
cp "$KEYWARD" "$CAPKW"
chmod 755 "$CAPKW"
setcap cap_audit_write+ep "$CAPKW" || notok "setcap on a copy of keyward"

# 1. keyward get without the capability
expect_status 0 "agent: keyward get (no capability)" as_agent "$KEYWARD" get "$SECRET"
check "keyward get printed the value, no newline" [ "$out" = "$VALUE" ]
printf '%s' "$err" >>"$KW_TMP/stderr-all"
# 2. keyward get with the capability: adds a keyward-read record
expect_status 0 "agent: keyward get (cap_audit_write)" as_agent "$CAPKW" get -n "$SECRET"
check "keyward get -n printed the value" [ "$out" = "$VALUE" ]
check "no warning from the capable keyward get" [ -z "$err" ]
printf '%s' "$err" >>"$KW_TMP/stderr-all"
# 3. libkeyward
expect_status 0 "agent: libkeyward keyward_get()" as_agent "$KW_AGENT" "$SECRET"
check "libkeyward returned the value" [ "$out" = "$VALUE" ]
printf '%s' "$err" >>"$KW_TMP/stderr-all"
# 4. raw keyctl
expect_status 0 "agent: keyctl print %user:keyward:NAME" as_agent keyctl print "%user:keyward:$SECRET"
check "keyctl printed the value" [ "$out" = "$VALUE" ]
# 5. keyward env and ls
expect_status 0 "agent: keyward env" as_agent "$CAPKW" env "KWV=$SECRET" -- /bin/sh -c 'test "$KWV" = "$1" && echo same' sh "$VALUE"
check "keyward env set the variable" [ "$out" = same ]
printf '%s' "$err" >>"$KW_TMP/stderr-all"
expect_status 0 "agent: keyward ls" as_agent "$KEYWARD" ls
check "keyward ls lists the secret and its serial" contains "$out" "$SECRET"
check "keyward ls shows the serial" contains "$out" "$SERIAL"
check "keyward ls shows no value" eval '! contains "$out" "$VALUE"'
# 6. the same uid outside the session cannot read
expect_status 1 "the agent in another session cannot read" \
    keyctl session - setpriv --reuid="$AGENT" --regid="$AGENT" --clear-groups "$KEYWARD" get "$SECRET"
check "... and says why" contains "$err" "no such secret"
expect_status 1 "a failed get (unknown secret) with the capability" as_agent "$CAPKW" get "nope-$$"
expect_status 1 "a raw keyctl read of the serial from another session is refused" \
    keyctl session - setpriv --reuid="$AGENT" --regid="$AGENT" --clear-groups keyctl print "$SERIAL"

# root-side records of the other ops, emitted directly
check "keyward-update record" "$KW_EMIT" update "$SECRET" "$SERIAL" "$AGENT" success 2
check "keyward-gate record (USER_ACCT)" "$KW_EMIT" gate "$SECRET" 0 "$AGENT" success
check "keyward-deny record (res=failed)" "$KW_EMIT" deny "$SECRET" 0 "$AGENT" failed
check "keyward-vault record" "$KW_EMIT" vault "$SECRET" 0 root success 2
keyctl revoke "$SERIAL"
check "keyward-revoke record" "$KW_EMIT" revoke "$SECRET" "$SERIAL" "$AGENT" success 2
expect_status 1 "a revoked key cannot be read" as_agent "$KEYWARD" get "$SECRET"
check "... and says revoked" contains "$err" "revoked"
sleep 1

# ausearch finds every record
aus() { ausearch --start $TS_START "$@" 2>&1; }
for op in deliver read update revoke deny vault; do
	r=$(aus -m CRYPTO_KEY_USER -i | grep "op=keyward-$op " | grep -c "$SECRET")
	check "ausearch -m CRYPTO_KEY_USER -i finds keyward-$op" [ "$r" -ge 1 ]
done
check "ausearch -m USER_ACCT finds keyward-gate" eval 'aus -m USER_ACCT | grep "op=keyward-gate" | grep -q "$SECRET"'
check "ausearch -ua <agent> finds the agent's keyward-read" eval 'aus -ua "$AGENT" -m CRYPTO_KEY_USER | grep "op=keyward-read" | grep -q "$SECRET"'
check "ausearch -x <exe> finds the capable keyward's records" eval 'aus -x "$CAPKW" -m CRYPTO_KEY_USER | grep -q "op=keyward-read"'
check "ausearch --success no finds the denial" eval 'aus --success no -m CRYPTO_KEY_USER | grep "op=keyward-deny" | grep -q "$SECRET"'
check "ausearch --success no finds the failed read" eval 'aus --success no -m CRYPTO_KEY_USER | grep "op=keyward-read" | grep -q "nope-$$"'
a1=$(printf '%x' "$SERIAL")
check "ausearch -k keyward finds the kernel read of the serial" eval 'aus -k keyward | grep "a0=b " | grep -q "a1=$a1 "'
check "the kernel read by keyctl is there" eval 'aus -k keyward -x /usr/bin/keyctl | grep -q "a1=$a1 "'
for f in "-i" "--format text" "--format csv" "--format raw"; do
	# shellcheck disable=SC2086
	check "ausearch $f handles the records" eval "ausearch --start $TS_START -m CRYPTO_KEY_USER,USER_ACCT $f >/dev/null 2>&1"
done
check "aureport --crypto handles them" eval 'aureport --start $TS_START --crypto -i >/dev/null 2>&1'
check "aureport --crypto lists them" eval 'aureport --start $TS_START --crypto 2>&1 | grep -q .'

# keyward audit joins the kernel reads to the secret
SINCE=$(date -d "@$START" '+%Y-%m-%dT%H:%M:%S')
expect_status 0 "keyward audit --secret" "$KEYWARD" audit --since "$SINCE" --secret "$SECRET"
A="$out"
echo "$A" | sed 's/^/# /'
check "keyward audit: keyctl read by the agent, named" eval 'echo "$A" | grep " read " | grep "exe=/usr/bin/keyctl" | grep -q "uid=$AGENT("'
check "keyward audit: libkeyward read by the agent, named" eval 'echo "$A" | grep " read " | grep "exe=$KW_AGENT" | grep -q "uid=$AGENT("'
check "keyward audit: keyward get read, named" eval 'echo "$A" | grep " read " | grep "exe=$KEYWARD src=kernel " | grep -q "uid=$AGENT("'
check "keyward audit: capable get is one access (kernel+keyward)" eval 'echo "$A" | grep " read " | grep -q "exe=$CAPKW src=kernel+keyward"'
check "keyward audit: the version comes from the delivery" eval 'echo "$A" | grep "exe=/usr/bin/keyctl" | grep -q " v1 "'
n=$(echo "$A" | grep " read " | grep "res=success" | grep -c "exe=/usr/bin/keyctl")
check "keyward audit: keyctl's size probe + read count as one read ($n)" [ "$n" -eq 1 ]
check "keyward audit: the denial is flagged" eval 'echo "$A" | grep " deny " | grep -q "FLAG=refused"'
check "keyward audit: the refused kernel read from another session is flagged" eval 'echo "$A" | grep " read " | grep "exe=/usr/bin/keyctl" | grep "res=failed" | grep -q "FLAG=refused"'
check "keyward audit: update and revoke shown" eval 'echo "$A" | grep -q " update " && echo "$A" | grep -q " revoke "'
expect_status 0 "keyward audit --user --format json" "$KEYWARD" audit --since "$SINCE" --user "$AGENT" --format json
check "json output parses" eval 'printf "%s" "$out" | python3 -c "import json,sys; d=json.load(sys.stdin); assert len(d) >= 4"'
expect_status 0 "keyward audit --format csv" "$KEYWARD" audit --since "$SINCE" --secret "$SECRET" --format csv
check "csv output has a header" eval 'echo "$out" | head -1 | grep -q "^time,op,secret"'
LOGCOPY="$KW_TMP/audit.log"
cat /var/log/audit/audit.log >"$LOGCOPY"
expect_status 0 "keyward audit --input FILE" "$KEYWARD" audit --input "$LOGCOPY" --secret "$SECRET"
check "--input gives the same reads" eval 'echo "$out" | grep -q "exe=/usr/bin/keyctl"'
expect_status 2 "keyward audit --since garbage is a usage error" "$KEYWARD" audit --since 2020-13-45T00:00:00
expect_status 0 "keyward audit --since yesterday --until now" "$KEYWARD" audit --since yesterday --until now --secret "$SECRET"
expect_status 1 "keyward audit is for root" as_agent "$KEYWARD" audit

# the value never reaches the logs, stderr or /run/keyward
B64=$(printf '%s' "$VALUE" | base64 -w0)
HEX=$(printf '%s' "$VALUE" | od -An -tx1 | tr -d ' \n')
HEXU=$(echo "$HEX" | tr a-f A-F)
for v in "$VALUE" "$B64" "$HEX" "$HEXU"; do
	check "value form not in the audit log" eval '! grep -qF -- "$v" /var/log/audit/audit.log'
	check "value form not on stderr" eval '! grep -qF -- "$v" "$KW_TMP/stderr-all"'
	if [ -d /run/keyward ]; then
		check "value form not in /run/keyward" eval '! grep -rqF -- "$v" /run/keyward'
	fi
done
finish
