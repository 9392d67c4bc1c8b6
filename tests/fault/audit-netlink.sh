#!/bin/sh
# tests/fault/audit-netlink.sh - every call a session open makes on the
# audit netlink socket (sendto of records and status requests, the reads
# of refusals and answers, the waits) fails in turn, injected with strace,
# with audit = required and = best-effort (each open asking for its status,
# and sharing a fresh stamp's: keyward-audit(7)). The open is all or nothing: it
# succeeds with the key delivered and its session in the registry, or it
# is refused with a syslog line, no live key and no session file left.
# This covers the answers taken late: the status after the deliver
# records is read only after the registry is written, so a failure there
# must undo the registry too.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/pam/pamlib.sh"
. "$top_srcdir/tests/audit/audit-lib.sh"

need_strace
pam_setup
need_auditd
load_rules
PAMCASE="$top_builddir/tests/bad-input/kw_pamcase"
export KW_PAMCASE_KEEP="$top_builddir/.libs/pam_keyward.so"
S=nlf$$-key
secret "$S" "netlink-value-$$"
SVC=kw-nlf-$$
policy "allow user=root service=$SVC secrets=$S ttl=1h"
pam_confdir "$SVC"
MAXK=${KW_NLF_MAX:-30}	# calls tried per system call
# KW_NLF_VERBOSE=1: print the message of each refusal

# clean: end what the last run left (its process is gone, so the sweep of
# 'keyward sessions' revokes its keys and removes its session), then
# make sure nothing is left.
clean() {
	kw sessions >/dev/null 2>&1
	awk -v d="keyward:$S:" '$9 == d && $2 !~ /R/ { print $1 }' /proc/keys |
	    while read -r h; do keyctl revoke "$((0x$h))" >/dev/null 2>&1; done
	[ "$(sessions)" -eq 0 ] && [ "$(keys_named "$S")" -eq 0 ]
}

# stamp: before each open, the best-effort status stamp as the pass wants
# it: none (the open asks the kernel) or fresh (the open asks nothing)
stamp() {
	case "$pass" in
	*+stamp) : >"$KW_RUN/audit-ok"; chmod 600 "$KW_RUN/audit-ok" ;;
	*) rm -f "$KW_RUN/audit-ok" ;;
	esac
}

# netlink calls of an open: those on the audit socket, fd 3 or above
# (strace -c cannot tell sockets apart: count with a full trace)
calls() {
	stamp
	traced -f -qq -o "$KW_TMP/trace" -e trace="$1" "$PAMCASE" "$PAMD" \
	    "$SVC" root acct open >/dev/null 2>&1 </dev/null
	grep -c "$1(" "$KW_TMP/trace" || true
}

for pass in required best-effort best-effort+stamp; do
	mode=${pass%+stamp}
	set_conf audit "$mode"
	clean || { notok "$pass: a key or session was left before the test"; continue; }
	for spec in sendto:ENOBUFS recvfrom:ENOBUFS recvmmsg:ENOBUFS \
	    poll:ENOMEM; do
		sc=${spec%%:*}
		errno=${spec#*:}
		n=$(calls "$sc")
		clean || notok "$pass: the counting run left a key or session"
		[ "$n" -gt 0 ] || continue
		[ "$n" -gt "$MAXK" ] && n=$MAXK
		opened=0 refused=0 libpam=0 bad=0
		k=1
		while [ "$k" -le "$n" ]; do
			stamp
			traced -f -qq -o /dev/null -e trace="$sc" \
			    -e inject="$sc":error="$errno":when="$k" \
			    "$PAMCASE" "$PAMD" "$SVC" root acct open \
			    >/dev/null 2>"$KW_TMP/err" </dev/null &&
			    rc=0 || rc=$?
			err=$(cat "$KW_TMP/err")
			live=$(keys_named "$S")
			files=$(sessions)
			if [ "$rc" -eq 0 ] && [ "$live" -eq 1 ] &&
			    [ "$files" -eq 1 ]; then
				opened=$((opened + 1))
			elif [ "$rc" -ne 0 ] && [ "$live" -eq 0 ] &&
			    [ "$files" -eq 0 ] && contains "$err" "syslog: "; then
				refused=$((refused + 1))
				[ -n "${KW_NLF_VERBOSE:-}" ] && echo "# $sc $k: $err"
			elif [ "$rc" -ne 0 ] && [ "$live" -eq 1 ] &&
			    [ "$files" -eq 1 ] &&
			    contains "$err" "PAM audit_log_acct_message() failed"
			then
				# libpam's own USER_START record, written after
				# the module's open succeeded, failed
				libpam=$((libpam + 1))
			else
				notok "$pass, $sc call $k failing ($errno):" \
				    "exit $rc, $live live keys, $files session" \
				    "files: $err"
				bad=1
			fi
			clean || { notok "$pass, $sc call $k: not cleaned"; bad=1; }
			k=$((k + 1))
		done
		[ $bad -eq 0 ] && ok "audit = $pass: $errno at each of $n $sc" \
		    "calls of an open: $opened opened whole, $refused refused" \
		    "with nothing left, $libpam opened whole but failed by" \
		    "libpam's own record"
	done
done
finish
