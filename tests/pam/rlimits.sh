#!/bin/sh
# tests/pam/rlimits.sh - resource limits set by the caller of a PAM
# application (su is setuid: a user lowers them before running it) must
# not turn a deny into an allow. glibc's NSS hides some failures: with
# /etc/group unreadable for want of a descriptor or of memory, "files"
# gives up, the next source answers "not found", and the lookup succeeds
# with fewer groups, so a "deny group=" rule would not see the group. The
# module lifts the descriptor and memory limits for its work (as sudo
# does) and puts them back. Swept here: RLIMIT_NOFILE and RLIMIT_AS over
# a range of values; the gate must never say yes to the denied user (no
# value did on this machine before the module lifted limits either: the
# sweeps guard the property, the last checks the mechanism).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/pam/pamlib.sh"
command -v prlimit >/dev/null 2>&1 || skip "prlimit not installed"

pam_setup
U=kwr$$a
G=kwrg$$
add_user "$U" || { notok "useradd $U"; finish; }
groupadd "$G" && at_exit "groupdel '$G'" || { notok "groupadd $G"; finish; }
usermod -aG "$G" "$U" || { notok "usermod -aG $G $U"; finish; }
S=rl$$-key
secret "$S" "rl-value-$$"
SVC=kw-test-$$-rl
pam_service "$SVC"
policy "allow user=$U secrets=$S ttl=1h" "deny group=$G"

expect_status 1 "control: the deny rule refuses $U (a member of $G)" \
    $FOREIGN pamtester "$SVC" "$U" acct_mgmt

# descriptors: from too few to run at all up to plenty
allowed=""
n=3
while [ $n -le 64 ]; do
	if prlimit --nofile=$n:$n $FOREIGN pamtester "$SVC" "$U" acct_mgmt \
	    >/dev/null 2>&1; then
		allowed="$allowed $n"
	fi
	n=$((n + 1))
done
check "RLIMIT_NOFILE 3..64: never allowed (allowed at:${allowed:- none})" \
    [ -z "$allowed" ]

# address space: from too little to start up to plenty, in 256 KiB steps
# (not with an ASan build: its shadow memory needs terabytes of it)
if [ -z "$ASAN_RT" ]; then
	allowed=""
	base=$(( 8 * 1024 * 1024 ))
	k=0
	while [ $k -lt 160 ]; do
		as=$((base + k * 262144))
		if prlimit --as=$as:$as pamtester "$SVC" "$U" acct_mgmt \
		    >/dev/null 2>&1; then
			allowed="$allowed $as"
		fi
		k=$((k + 1))
	done
	check "RLIMIT_AS 8..48 MiB: never allowed (allowed at:${allowed:- none})" \
	    [ -z "$allowed" ]
	AS_LOW="--as=209715200:unlimited" AS_WANT=204800
else
	AS_LOW="" AS_WANT=unlimited
fi

# the mechanism: the module says (debug) that it lifted the caller's
# limits, and a module after it sees them put back
sink_start
SVC2=kw-test-$$-rl2
pubfile limits root
cat >"$PUB/limits.sh" <<HOOK
#!/bin/sh
echo "\$(ulimit -n) \$(ulimit -v)" >$PUB/limits
HOOK
chmod 755 "$PUB/limits.sh"
at_exit "rm -f /etc/pam.d/$SVC2"
{
	echo "account required $MODULE config=$KW_CONF debug"
	echo "account required pam_exec.so quiet $PUB/limits.sh"
} >/etc/pam.d/$SVC2
policy "allow user=$U secrets=$S ttl=1h"
# low soft limits under high hard ones: lifted even without
# CAP_SYS_RESOURCE (which root lacks on some machines, this VM included;
# with it the hard limits are lifted too)
expect_status 0 "with low soft limits (nofile 40 ${AS_LOW:+, as 200 MiB}) the gate allows $U" \
    in_ns prlimit --nofile=40:4096 $AS_LOW $FOREIGN \
    pamtester "$SVC2" "$U" acct_mgmt
check "the module lifted the caller's limits (debug line)" \
    logged "resource limit(s) of the caller lifted while the module works"
check "the next module saw them put back: $(cat "$PUB/limits")" \
    [ "$(cat "$PUB/limits")" = "40 $AS_WANT" ]
finish
