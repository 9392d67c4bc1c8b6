#!/bin/sh
# policy-cli.sh - keyward explain and the policy part of keyward check,
# against a staging root, with real users and groups (useradd/groupadd,
# removed at exit): allow, deny, deny wins, default deny, time windows
# (--at), supplementary groups, exe claims from trusted and untrusted
# services, policy.d order, check warnings and errors, unsafe files.
. "$top_srcdir/tests/lib.sh"

need_root
command -v useradd >/dev/null 2>&1 || skip "useradd not installed"
export TZ=UTC

new_root
ETC=$(dirname "$(find "$KW_ROOT" -name keyward.conf)")
POL=$ETC/policy.conf
PD=$ETC/policy.d

# real principals: A is in group G only as a supplementary group
G=kwpg$$
A=kwpa$$
B=kwpb$$
I=kwpi$$
# retry: other tests may hold the passwd lock for a moment
retry() {
	local i
	for i in 1 2 3 4 5 6 7 8 9 10; do
		"$@" && return 0
		sleep 0.3
	done
	return 1
}
# remove a test user; -f when a process of a recycled uid blocks userdel
del_user() {
	getent passwd "$1" >/dev/null || return 0
	retry userdel "$1" 2>/dev/null || retry userdel -f "$1"
}
at_exit "retry groupdel $G"
retry groupadd "$G" || { notok "groupadd $G"; finish; }
for u in "$A" "$B" "$I"; do
	at_exit "del_user $u"
done
retry useradd -M -N -g users -G "$G" -s /usr/sbin/nologin "$A" &&
retry useradd -M -N -g users -s /usr/sbin/nologin "$B" &&
retry useradd -M -N -g users -s /usr/sbin/nologin "$I" ||
	{ notok "useradd"; finish; }
check "test user $A has $G as a supplementary group only" \
	sh -c "[ \"\$(id -gn $A)\" = users ] && id -Gn $A | grep -qw $G"

# secrets
printf 'sk-1' | kw add openai-prod --max-ttl 20m >/dev/null
printf 'hf-1' | kw add hf-token >/dev/null
printf 'hf-2' | kw add hf-read >/dev/null
printf 'pg-1' | kw add pg-ro >/dev/null

# an agent binary for exe rules, and an impostor at another path
cp /bin/true "$KW_TMP/agent"
cp /bin/false "$KW_TMP/impostor"
AGENT=$(realpath "$KW_TMP/agent")
SHA=$(sha256sum "$AGENT" | cut -d' ' -f1)

cat >"$POL" <<EOF
# test policy
allow user=$A service=keyward-agent secrets=openai-prod ttl=1h
allow group=$G service=sshd,keyward-agent \\
      secrets=hf-* ttl=8h time=Mo-Fr/08:00-18:00
allow user=$B exe=$AGENT exe_sha256=$SHA secrets=pg-ro scope=user
deny  user=$I
allow user=$I secrets=openai-prod
EOF
chmod 644 "$POL"

MON9=2024-01-01T09:00	# a Monday
MON17=2024-01-01T17:00
SAT=2024-01-06T10:00

# ---- allow, with the union of grants and the TTL minimum
expect_status 0 "explain: allow for $A (exit 0)" \
	kw explain --user "$A" --at "$MON9"
check "allow: deciding rule is the first matching allow" \
	contains "$out" "decision: allow by $POL:2"
check "allow: both matching rules are listed" \
	sh -c 'contains() { case "$1" in *"$2"*) return 0;; esac; return 1; };
	contains "$1" "matched: $2:2 allow" && contains "$1" "matched: $2:3 allow"' \
	- "$out" "$POL"
check "allow: secret's own max ttl (20m) beats the rule's 1h" \
	contains "$out" "grant: openai-prod ttl=20m scope=session rule=$POL:2"
check "allow: glob hf-* grants hf-read with the rule's 8h" \
	contains "$out" "grant: hf-read ttl=8h scope=session rule=$POL:3"
check "allow: glob hf-* grants hf-token" \
	contains "$out" "grant: hf-token ttl=8h"
check_fails "allow: pg-ro is not granted" contains "$out" "pg-ro"
check "request shows the supplementary group" contains "$out" "$G"

# ---- time windows
expect_status 0 "explain at 17:00 Monday" \
	kw explain --user "$A" --at "$MON17"
check "window end (18:00) caps the ttl at 1h" \
	contains "$out" "grant: hf-token ttl=1h scope=session"
expect_status 0 "explain on Saturday" kw explain --user "$A" --at "$SAT"
check_fails "Saturday: outside Mo-Fr, no hf-* grant" contains "$out" "hf-"
check "Saturday: openai-prod still granted" contains "$out" "grant: openai-prod"
expect_status 0 "explain at 17:59:30" \
	kw explain --user "$A" --at 2024-01-05T17:59:30
check "30 seconds left in the window" contains "$out" "grant: hf-read ttl=30s"

# ---- supplementary group membership decides on sshd
expect_status 0 "sshd: $A allowed through supplementary group $G" \
	kw explain --user "$A" --service sshd --at "$MON9"
check "sshd: decided by the group rule" \
	contains "$out" "decision: allow by $POL:3"
expect_status 1 "sshd: $B (not in $G) denied (exit 1)" \
	kw explain --user "$B" --service sshd --at "$MON9"
check "default deny is named" \
	contains "$out" "decision: deny by default-deny"
check "no rule matched" contains "$out" "matched: none"
expect_status 1 "sshd on Saturday: outside the window, denied" \
	kw explain --user "$A" --service sshd --at "$SAT"

# ---- deny wins
expect_status 1 "deny wins over a later allow (exit 1)" \
	kw explain --user "$I" --at "$MON9"
check "deny: the deny rule decides" contains "$out" "decision: deny by $POL:6"
check "deny: the allow also matched" contains "$out" "matched: $POL:7 allow"
check_fails "deny: no grants printed" contains "$out" "grant:"

# ---- exe claims: only from a trusted launcher
expect_status 0 "exe from the trusted keyward-agent: allowed" \
	kw explain --user "$B" --exe "$KW_TMP/agent" --at "$MON9"
check "exe rule decides" contains "$out" "decision: allow by $POL:5"
check "exe grant has scope user" \
	contains "$out" "grant: pg-ro ttl=1h scope=user rule=$POL:5"
check "exe hash is shown" contains "$out" "sha256=$SHA"
expect_status 1 "exe from an untrusted service: the rule never matches" \
	kw explain --user "$B" --service login --exe "$KW_TMP/agent" \
	--at "$MON9"
check "untrusted: says the claim was ignored" \
	contains "$out" "ignored: service login is not a trusted launcher"
expect_status 1 "another binary (wrong sha256 and path): denied" \
	kw explain --user "$B" --exe "$KW_TMP/impostor" --at "$MON9"
cp /bin/false "$AGENT.new" && mv "$AGENT.new" "$AGENT"
expect_status 1 "same path, changed content (wrong sha256): denied" \
	kw explain --user "$B" --exe "$KW_TMP/agent" --at "$MON9"
expect_status 1 "exe rule without --exe: denied" \
	kw explain --user "$B" --at "$MON9"

# ---- command line errors
expect_status 2 "explain without --user is a usage error" kw explain
expect_status 2 "explain with a stray argument" kw explain --user "$A" x
expect_status 1 "explain --at with a bad time" \
	kw explain --user "$A" --at 2024-02-30T10:00
check "bad --at is explained" contains "$err" "--at: '2024-02-30T10:00': no such time"
expect_status 1 "explain for a user that does not exist" \
	kw explain --user "nosuch$$"
check "unknown user is named" contains "$err" "user 'nosuch$$' does not exist"

# ---- policy.d in lexical order
mkdir -p "$PD"
printf 'allow user=%s secrets=pg-ro ttl=5m\n' "$A" >"$PD/20-b.conf"
printf 'allow user=%s secrets=hf-token ttl=2m\n' "$A" >"$PD/10-a.conf"
printf 'garbage\n' >"$PD/30-c.conf.disabled"
chmod 644 "$PD"/*
expect_status 0 "policy.d rules apply" kw explain --user "$A" --at "$SAT"
check "policy.d: 10-a before 20-b" \
	sh -c 'printf "%s\n" "$1" | grep "^matched:" | tr "\n" " " |
	grep -q "policy.conf:2 allow matched: $2/10-a.conf:1 allow matched: $2/20-b.conf:1 allow"' \
	- "$out" "$PD"
check "policy.d: the smallest ttl of the union wins" \
	contains "$out" "grant: hf-token ttl=2m scope=session rule=$PD/10-a.conf:1"
check "non-.conf files are ignored" contains "$(kw check 2>&1)" "keyward check: ok"

# ---- keyward check: warnings
cat >"$PD/50-lint.conf" <<EOF
allow secrets=*
allow user=nosuch$$,$B secrets=missing-secret
allow user=$A service=sshd exe=$AGENT secrets=pg-ro
allow group=$G secrets=nomatch-*
EOF
chmod 644 "$PD/50-lint.conf"
expect_status 0 "check: warnings alone do not fail" kw check
check "check: an allow without matchers is over-broad" \
	contains "$out" "$PD/50-lint.conf:1: warning: allow rule has no matcher"
check "check: secrets=* is over-broad" \
	contains "$out" "$PD/50-lint.conf:1: warning: secrets=* grants every secret"
check "check: a user that does not exist" \
	contains "$out" "$PD/50-lint.conf:2: warning: user 'nosuch$$' does not exist on this system"
check "check: a granted secret missing from the vault" \
	contains "$out" "$PD/50-lint.conf:2: warning: secret 'missing-secret' is not in the vault"
check "check: an exe rule whose services are not trusted launchers" \
	contains "$out" "$PD/50-lint.conf:3: warning: exe=/exe_sha256= rule can never match: none of its services is a trusted launcher"
check "check: a glob that matches no secret" \
	contains "$out" "$PD/50-lint.conf:4: warning: secrets pattern 'nomatch-*' matches no secret"
check "check: counts the warnings" contains "$out" "6 warnings"
expect_status 1 "explain: an exact secret missing from the vault fails closed" \
	kw explain --user "$B" --at "$MON9"
check "missing secret: named with its rule" \
	contains "$out" "$PD/50-lint.conf:2: granted secret 'missing-secret' is not in the vault"
rm -f "$PD/50-lint.conf"

# ---- errors fail closed, with file:line
printf 'allow user=%s ttl=1h\n' "$A" >"$PD/40-bad.conf"
chmod 644 "$PD/40-bad.conf"
expect_status 1 "check: a syntax error fails" kw check
check "check: the error has file:line" \
	contains "$out" "$PD/40-bad.conf:1: allow rule without secrets="
expect_status 1 "explain: a syntax error fails closed" \
	kw explain --user "$A" --at "$MON9"
check "explain: the error has file:line" \
	contains "$err" "$PD/40-bad.conf:1: allow rule without secrets="
printf 'allow user=%s secrets=pg-ro bogus=1\n' "$A" >"$PD/40-bad.conf"
expect_status 1 "explain: an unknown key fails closed" \
	kw explain --user "$A" --at "$MON9"
check "unknown key named with file:line" \
	contains "$err" "$PD/40-bad.conf:1: unknown key 'bogus'"
rm -f "$PD/40-bad.conf"

chmod 666 "$POL"
expect_status 1 "explain: a world-writable policy.conf fails closed" \
	kw explain --user "$A" --at "$MON9"
check "unsafe file is named" \
	contains "$err" "$POL: writable by group or others"
expect_status 1 "check: a world-writable policy.conf is a problem" kw check
chmod 644 "$POL"
mv "$POL" "$POL.real"
ln -s "$POL.real" "$POL"
expect_status 1 "explain: a symlinked policy.conf fails closed" \
	kw explain --user "$A" --at "$MON9"
check "symlink is named" contains "$err" "is a symbolic link"
rm -f "$POL"
mv "$POL.real" "$POL"
chown nobody "$POL"
expect_status 1 "explain: a policy.conf owned by another user fails closed" \
	kw explain --user "$A" --at "$MON9"
chown root "$POL"
expect_status 0 "explain: back to normal" kw explain --user "$A" --at "$MON9"

finish
