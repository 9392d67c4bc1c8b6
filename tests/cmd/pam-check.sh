#!/bin/sh
# pam-check.sh - the PAM part of keyward check, against pam.d files in a
# staging root's etc/pam.d: a pam_keyward session line before a
# 'pam_keyinit.so force' line (in one file, through @include, through
# 'session include' and substack, with -session, [...] controls and
# continued lines), keyinit without force, pam_keyward in session but not
# in account (and the "other" fallback), include cycles and nesting
# depth, missing includes, a [...] control
# followed by 'substack', editor leftovers, unreadable files and links out
# of /etc. All of these are warnings: keyward check still exits 0.
. "$top_srcdir/tests/lib.sh"

need_root
command -v timeout >/dev/null 2>&1 || skip "timeout not installed"
need_strace

new_root
PAMD=$KW_ROOT/etc/pam.d

# reset: an empty pam.d
reset() {
	rm -rf "$PAMD"
	mkdir -p "$PAMD"
	chmod 755 "$KW_ROOT/etc" "$PAMD"
}
# pamfile NAME: write pam.d/NAME (root:root 0644) from stdin
pamfile() {
	cat >"$PAMD/$1"
	chmod 644 "$PAMD/$1"
}
# run WHAT [CMD...]: keyward check (run by CMD, e.g. under strace) must
# exit 0 (only warnings) and not hang; the output is in $out, the number
# of warnings in $nwarn
run() {
	local what="$1"
	shift
	expect_status 0 "$what: keyward check exits 0" \
		"$@" timeout 30 "$KEYWARD" --root "$KW_ROOT" check
	nwarn=$(printf '%s\n' "$out" | grep -c ': warning: ')
}
# warns N WHAT: exactly N warnings, said in the summary line too
warns() {
	local s=s
	[ "$1" -eq 1 ] && s=
	if [ "$nwarn" -eq "$1" ] &&
	    contains "$out" "keyward check: ok (0 secrets verified, $1 warning$s)"
	then
		ok "$2: $1 warning$s"
	else
		notok "$2: wanted $1 warning$s, got $nwarn: $out"
	fi
}
KI="pam_keyward's session line comes before pam_keyinit.so force"
KI_TAIL="the keys it delivers will not reach the session; move it after"
ACCT="pam_keyward.so has a session line but no account line"

# ---- no pam.d at all, then an empty one: nothing to say
run "no pam.d"
warns 0 "no pam.d"
reset
run "empty pam.d"
warns 0 "empty pam.d"

# ---- the right order (Debian's sshd with keyward in common-session)
reset
pamfile sshd <<'EOF'
# PAM configuration for the Secure Shell service
@include common-auth
account    required     pam_nologin.so
@include common-account
session [success=ok ignore=ignore module_unknown=ignore default=bad]        pam_selinux.so close
session    required     pam_loginuid.so
session    optional     pam_keyinit.so force revoke
@include common-session
session    required     pam_limits.so
EOF
pamfile common-auth <<'EOF'
auth	required	pam_unix.so
EOF
pamfile common-account <<'EOF'
account	required	pam_unix.so
account	required	pam_keyward.so
EOF
pamfile common-session <<'EOF'
session	required	pam_unix.so
session	required	pam_keyward.so
EOF
pamfile common-password <<'EOF'
password	required	pam_unix.so
EOF
# common-session is a service too, as any file: its account stack is
# other's (libpam's fallback), as on Debian
pamfile other <<'EOF'
@include common-auth
@include common-account
@include common-password
@include common-session
EOF
run "right order"
warns 0 "keyinit force before keyward, gate in account"

# ---- the wrong order in one file
reset
pamfile sshd <<'EOF'
auth     required  pam_unix.so
account  required  pam_unix.so
account  required  pam_keyward.so
session  required  pam_keyward.so
session  optional  pam_keyinit.so force revoke
EOF
run "wrong order, one file"
warns 1 "wrong order, one file"
check "wrong order, one file: the exact warning" \
	contains "$out" "$PAMD/sshd:4: warning: $KI ($PAMD/sshd:5) in service 'sshd': $KI_TAIL"

# ---- the wrong order through @include
reset
pamfile common-kw <<'EOF'
# keyward for every service that includes this
account  required  pam_keyward.so
session  required  pam_keyward.so
EOF
pamfile login <<'EOF'
auth     required  pam_unix.so
@include common-kw
session  optional  pam_keyinit.so force revoke
EOF
run "@include"
warns 1 "wrong order through @include"
check "@include: names the included line, the service's line and the service" \
	contains "$out" "$PAMD/common-kw:3: warning: $KI ($PAMD/login:3) in service 'login': $KI_TAIL"

# ---- the wrong order through 'session include' (Debian's su-l)
reset
pamfile su <<'EOF'
auth     sufficient pam_rootok.so
account  required   pam_keyward.so
session  required   pam_unix.so
session  required   pam_keyward.so
EOF
pamfile su-l <<'EOF'
#%PAM-1.0
auth		include		su
account		include		su
session		include		su
session		optional	pam_keyinit.so force revoke
EOF
run "session include"
warns 1 "wrong order through session include"
check "session include: su:4 before su-l:5, for service su-l" \
	contains "$out" "$PAMD/su:4: warning: $KI ($PAMD/su-l:5) in service 'su-l': $KI_TAIL"
check_fails "session include: su alone is fine" \
	contains "$out" "service 'su'"

# ---- -session, [...] controls, case, absolute module paths, substack
reset
pamfile runuser-l <<'EOF'
account   required  pam_keyward.so
-session  [success=ok new_authtok_reqd=ok ignore=ignore default=bad]   /usr/lib/x86_64-linux-gnu/security/pam_keyward.so debug
SESSION   [default=ignore]  /lib/security/pam_keyinit.so revoke force
EOF
pamfile kwsub <<'EOF'
session  required  pam_keyward.so
EOF
pamfile runuser <<'EOF'
account  required  pam_keyward.so
Session  Substack  kwsub
session  optional  pam_keyinit.so force
EOF
run "-session, [...], substack"
warns 3 "-session, [...], substack"
check "-session with a [...] control is a keyward line" \
	contains "$out" "$PAMD/runuser-l:2: warning: $KI ($PAMD/runuser-l:3) in service 'runuser-l'"
check "substack: the substack's line comes first" \
	contains "$out" "$PAMD/kwsub:1: warning: $KI ($PAMD/runuser:3) in service 'runuser'"
check "kwsub alone has no account line" \
	contains "$out" "$PAMD/kwsub:1: warning: $ACCT in service 'kwsub'"

# ---- a [...] control then 'substack': libpam loads a module 'substack'
reset
pamfile agent <<'EOF'
account  required  pam_keyward.so
session  [success=1 default=ignore]  substack kwsub
session  optional  pam_keyinit.so force
session  required  pam_keyward.so
EOF
pamfile kwsub <<'EOF'
account  required  pam_keyward.so
session  required  pam_keyward.so
EOF
run "[...] substack"
warns 1 "[...] control followed by substack"
check "[...] substack: a module named substack, nothing included" \
	contains "$out" "$PAMD/agent:2: warning: the control field is followed by 'substack', which libpam loads as a module in service 'agent'; nothing is included: write 'session substack FILE' (a [...] control cannot include)"

# ---- continued lines
reset
pamfile cont1 <<'EOF'
account  required  pam_keyward.so
session  required \
         pam_keyward.so \
         debug
session  optional  pam_keyinit.so \
         force revoke
EOF
pamfile cont2 <<'EOF'
account  required  pam_keyward.so
# a comment ends a line, even one that ends in a backslash \
session  required  pam_keyward.so
session  optional  pam_keyinit.so revoke # force \
force
EOF
run "continued lines"
warns 1 "continued lines"
check "a continued line is named by its first line" \
	contains "$out" "$PAMD/cont1:2: warning: $KI ($PAMD/cont1:5) in service 'cont1'"
check_fails "a 'force' in a comment is no force" \
	contains "$out" "cont2"

# ---- keyinit without force after keyward: no new keyring, no warning
reset
pamfile noforce <<'EOF'
account  required  pam_keyward.so
session  required  pam_keyward.so
session  optional  pam_keyinit.so revoke
session  optional  pam_keyinit.so forced
EOF
run "keyinit without force"
warns 0 "keyinit without force"

# ---- pam_keyward only in session; the "other" fallback
reset
pamfile onlysession <<'EOF'
auth     required  pam_unix.so
account  required  pam_unix.so
session  required  pam_keyward.so
EOF
pamfile noaccount <<'EOF'
session  required  pam_keyward.so
EOF
pamfile other <<'EOF'
account  required  pam_keyward.so
EOF
run "keyward only in session"
warns 1 "keyward only in session"
check "session without account: the exact warning" \
	contains "$out" "$PAMD/onlysession:3: warning: $ACCT in service 'onlysession': its policy gate never runs and no keyward-gate decision is recorded; add 'account required pam_keyward.so'"
check_fails "no account line at all: libpam uses other's, which has the gate" \
	contains "$out" "noaccount"

# ---- an include cycle: found, no hang
reset
pamfile loop-a <<'EOF'
session  include  loop-b
EOF
pamfile loop-b <<'EOF'
session  optional  pam_env.so
@include loop-a
EOF
run "include cycle"
warns 2 "include cycle, seen from each of its services"
check "include cycle from loop-a" \
	contains "$out" "$PAMD/loop-b:2: warning: includes 'loop-a', which is already being read (an include cycle) in service 'loop-a'; libpam fails this stack at its nesting limit"
check "include cycle from loop-b" \
	contains "$out" "$PAMD/loop-a:1: warning: includes 'loop-b', which is already being read (an include cycle) in service 'loop-b'"

# ---- a missing include, a self-include
reset
pamfile missing <<'EOF'
session  include  no-such-file
session  include  missing
EOF
run "missing and self include"
warns 2 "missing and self include"
check "missing include" \
	contains "$out" "$PAMD/missing:1: warning: cannot read the included file ($PAMD/no-such-file: No such file or directory) in service 'missing'; libpam fails this stack"
check "self include" \
	contains "$out" "$PAMD/missing:2: warning: includes 'missing', which is already being read"

# ---- includes nested deeper than libpam allows (16 levels)
reset
i=0
while [ "$i" -lt 17 ]; do
	echo "session include deep$((i + 1))" | pamfile "deep$i"
	i=$((i + 1))
done
echo "session required pam_env.so" | pamfile deep17
run "deep includes"
warns 2 "deep includes: from deep0 and deep1"
check "deep includes: where libpam stops" \
	contains "$out" "$PAMD/deep15:1: warning: 'deep16' is included more than 15 levels deep in service 'deep0'; libpam fails this stack"

# ---- editor and package leftovers are not services; directories skipped
reset
for f in sshd~ sshd.dpkg-old sshd.dpkg-dist .sshd.swp sshd.ucf-old \
    sshd.rpmnew '#sshd#'; do
	printf 'session required pam_keyward.so\nsession optional pam_keyinit.so force\n' |
		pamfile "$f"
done
mkdir "$PAMD/subdir"
run "leftovers"
warns 0 "editor and package leftovers, directories"

# ---- files that cannot be read are warnings, not failures
reset
pamfile writable <<'EOF'
session  required  pam_keyward.so
session  optional  pam_keyinit.so force
EOF
chmod 666 "$PAMD/writable"
pamfile good <<'EOF'
account  required  pam_keyward.so
session  optional  pam_keyinit.so force
session  required  pam_keyward.so
EOF
echo "session required pam_keyward.so" >"$KW_ROOT/outside"
chmod 644 "$KW_ROOT/outside"
ln -s ../../outside "$PAMD/escape"
ln -s good "$PAMD/alias"
ln -s dangling-target "$PAMD/dangling"
mkfifo "$PAMD/fifo"
run "unreadable files"
warns 4 "unreadable files"
check "a group/other writable file is not read" \
	contains "$out" "$PAMD/writable: warning: cannot read it ("
check "a link out of /etc is not followed" \
	contains "$out" "$PAMD/escape: warning: cannot read it (a symbolic link to '../../outside', out of $KW_ROOT/etc/; not followed)"
check "a dangling link" \
	contains "$out" "$PAMD/dangling: warning: cannot read it ("
check "a fifo is not read (and nothing hangs)" \
	contains "$out" "$PAMD/fifo: warning: cannot read it ("
check_fails "a link within /etc is followed" contains "$out" "alias"

# ---- a link loop
reset
ln -s loop2 "$PAMD/loop1"
ln -s loop1 "$PAMD/loop2"
run "link loop"
warns 2 "link loop"
check "a link loop stops" \
	contains "$out" "$PAMD/loop1: warning: cannot read it (more than 8 symbolic links; not followed)"

# ---- a pam.d listing that fails part way is no pam.d checked, not a
# smaller one: its second read fails (EIO) after the first returned its
# names, keyinit-order's among them (check's 4th getdents64: policy.d is
# read first, in two; a change of order shows as other warnings)
reset
pamfile keyinit-order <<'EOF'
session  required  pam_keyward.so
session  optional  pam_keyinit.so force
EOF
run "a failing pam.d listing" traced -f -qq -o /dev/null \
    -e trace=getdents64 -e inject=getdents64:error=EIO:when=4
warns 1 "a failing pam.d listing"
check "... says the directory could not be read" \
    contains "$out" "$PAMD: warning: cannot read the directory (Input/output error); no service checked"

# ---- the warnings add to the others and never fail check
reset
pamfile sshd <<'EOF'
session  required  pam_keyward.so
session  optional  pam_keyinit.so force
EOF
run "together"
warns 2 "keyinit order and account warnings together"
check "still ok with only warnings" contains "$out" "keyward check: ok"

finish
