#!/bin/sh
# tests/fault/eintr.sh - EINTR on every blocking call of a vault write
# (with its audit record) and of a session open, injected with strace at
# each call in turn: keyward retries or fails with a clear error; the
# vault always verifies with the old or the new value; a failed session
# open leaves no key behind.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/pam/pamlib.sh"

need_strace
pam_setup
PAMCASE="$top_builddir/tests/bad-input/kw_pamcase"
# keep the module (and the libraries it pulls in) loaded past pam_end():
# memory those libraries keep for the life of the process is not a leak
export KW_PAMCASE_KEEP="$top_builddir/.libs/pam_keyward.so"
# strace counts the calls of keyward itself, never of a valgrind wrapper
KEYWARD="$top_builddir/keyward"
S=eintr$$-key
secret "$S" "eintr-value-$$"
policy "allow user=root service=kw-eintr-$$ secrets=$S ttl=1h"
pam_confdir "kw-eintr-$$"
MAXK=${KW_EINTR_MAX:-25}	# calls tried per system call

# calls NAME CMD...: how many NAME system calls CMD makes
calls() {
	local sc="$1"
	shift
	traced -f -qq -c -o "$KW_TMP/count" -e trace="$sc" "$@" \
	    >/dev/null 2>&1 </dev/null
	awk -v s="$sc" '$NF == s { print $4 + 0; found = 1 }
	    END { if (!found) print 0 }' "$KW_TMP/count"
}

# inject NAME K CMD...: run CMD with the K-th NAME call failing with EINTR;
# sets rc and err
inject() {
	local sc="$1" k="$2"
	shift 2
	traced -f -qq -o /dev/null -e trace="$sc" \
	    -e inject="$sc":error=EINTR:when="$k" "$@" \
	    >/dev/null 2>"$KW_TMP/err" </dev/null && rc=0 || rc=$?
	err=$(cat "$KW_TMP/err")
}

# excused: the last injection failed the loader's or a sanitizer
# runtime's own read, not keyward's (counted in excused)
excused() {
	case "$err" in
	*"error while loading shared libraries"*|*"cannot read file data"*|\
	*"Sanitizer has encountered a fatal error"*)
		excused=$((excused + 1))
		return 0;;
	esac
	return 1
}

# judge WHAT: the last injection ended in success or a clear error
judge() {
	excused && return 0
	if [ "$rc" -eq 0 ]; then
		retried=$((retried + 1))
	elif [ "$rc" -eq 1 ] && contains "$err" "keyward: "; then
		# e.g. "...: Interrupted system call", or "cannot write output"
		# when the final stdout flush is interrupted after the commit
		refused=$((refused + 1))
	else
		notok "$1: exit $rc, message: $err"
		bad=1
	fi
}

# --- vault write (keyward rotate, audit best-effort record included) -----
for sc in read write pread64 pwrite64 fsync fdatasync flock fcntl openat \
    rename sendto recvfrom poll; do
	n=$(calls "$sc" sh -c 'printf x | "$1" --root "$2" rotate "$3"' sh \
	    "$KEYWARD" "$KW_ROOT" "$S")
	[ "$n" -gt 0 ] || continue
	[ "$n" -gt "$MAXK" ] && n=$MAXK
	retried=0 refused=0 excused=0 bad=0
	k=1
	while [ $k -le "$n" ]; do
		inject "$sc" "$k" sh -c 'printf "%s" "$4" | "$1" --root "$2" \
		    rotate "$3"' sh "$KEYWARD" "$KW_ROOT" "$S" "v-$sc-$k"
		judge "rotate, $sc call $k"
		if ! kw check >/dev/null 2>&1; then
			notok "rotate, $sc call $k: the vault no longer verifies"
			bad=1
		fi
		k=$((k + 1))
	done
	if [ "$excused" -eq "$n" ]; then
		notok "rotate: none of $n $sc calls was keyward's to judge"
		bad=1
	fi
	[ $bad -eq 0 ] && ok "rotate: EINTR at each of $n $sc calls:" \
	    "$retried retried, $refused refused clearly, vault intact" \
	    "($excused in the loader or a sanitizer runtime)"
done

# --- session open through the module ------------------------------------
for sc in read write pread64 flock fcntl getdents64 sendto recvfrom poll \
    keyctl add_key; do
	n=$(calls "$sc" "$PAMCASE" "$PAMD" "kw-eintr-$$" root acct open)
	awk -v d="keyward:$S:" '$9 == d && $2 !~ /R/ { print $1 }' /proc/keys |
	    while read -r h; do keyctl revoke "$((0x$h))" >/dev/null 2>&1; done
	[ "$n" -gt 0 ] || continue
	[ "$n" -gt "$MAXK" ] && n=$MAXK
	retried=0 refused=0 logged=0 libpam=0 excused=0 bad=0
	k=1
	while [ $k -le "$n" ]; do
		inject "$sc" "$k" "$PAMCASE" "$PAMD" "kw-eintr-$$" root acct \
		    open
		live=$(keys_named "$S")
		if excused; then
			:
		elif [ "$rc" -eq 0 ] && [ "$live" -eq 1 ]; then
			retried=$((retried + 1))
		elif [ "$rc" -eq 0 ]; then
			notok "session, $sc call $k: opened with $live keys"
			bad=1
		elif [ "$live" -eq 1 ] && { contains "$err" \
		    "PAM audit_open() failed" || contains "$err" \
		    "PAM audit_log_acct_message() failed"; }; then
			# the one call failed was libpam's, for its own
			# USER_START record after the session modules:
			# the module had opened whole
			libpam=$((libpam + 1))
		elif [ "$live" -ne 0 ]; then
			notok "session, $sc call $k: refused but a key was left: $err"
			bad=1
		else
			# refused, failing closed; libpam itself refuses
			# without a word when its read of the service file
			# is interrupted
			refused=$((refused + 1))
			contains "$err" "syslog: " && logged=$((logged + 1))
		fi
		# end this iteration's session, if any: revoke its key
		awk -v d="keyward:$S:" '$9 == d && $2 !~ /R/ { print $1 }' \
		    /proc/keys | while read -r h; do
			keyctl revoke "$((0x$h))" >/dev/null 2>&1
		done
		k=$((k + 1))
	done
	if [ "$excused" -eq "$n" ]; then
		notok "session open: none of $n $sc calls was keyward's to judge"
		bad=1
	fi
	[ $bad -eq 0 ] && ok "session open: EINTR at each of $n $sc calls:" \
	    "$retried retried or unaffected, $refused refused with no key" \
	    "($logged logged), $libpam opened whole but failed by libpam's" \
	    "own record, $excused in the loader or a sanitizer runtime"
done
finish
