# tests/pam/pamlib.sh - helpers for the PAM-layer tests (sourced after
# tests/lib.sh): a staging root, PAM service files that load the build
# tree's module, test users, and a syslog sink seen through /dev/log in a
# private mount namespace (this VM has no syslog daemon).

MODULE="$top_builddir/.libs/pam_keyward.so"
KREAD="$top_builddir/tests/pam/kw_keyread"
SINK="$top_builddir/tests/pam/kw_syslog_sink"
PAMDRIVE="$top_builddir/tests/pam/kw_pamdrive"

# An ASan build of the module can be loaded by a program that is not
# linked with the ASan runtime (pamtester, su, runuser) only with the
# runtime preloaded; that program's own leaks are not ours to report (the
# module's are, through kw_pamdrive and keyward run). FOREIGN prefixes
# such programs; it is empty in a normal build.
ASAN_RT=$(ldd "$MODULE" 2>/dev/null |
    sed -n 's/^[[:space:]]*libasan[^ ]* => \([^ ]*\) .*/\1/p')
FOREIGN=""
[ -n "$ASAN_RT" ] &&
    FOREIGN="env LD_PRELOAD=$ASAN_RT ASAN_OPTIONS=detect_leaks=0:halt_on_error=1"

# pubfile NAME USER: an empty file in $PUB the user may write.
pubfile() {
	: >"$PUB/$1"
	chown "$2" "$PUB/$1"
	chmod 644 "$PUB/$1"
}

# pam_setup: root, tools, a staging root with audit = best-effort.
# Sets KW_CONF, KW_ETC, KW_RUN, KW_VAULT, PUB (a world-readable scratch
# dir for agent scripts and their output).
pam_setup() {
	need_root
	for t in pamtester keyctl unshare setpriv; do
		command -v "$t" >/dev/null 2>&1 || skip "$t not installed"
	done
	[ -f "$MODULE" ] || skip "module not built: $MODULE"
	new_root
	KW_CONF=$(find "$KW_ROOT" -name keyward.conf -path '*/keyward/*' | head -n 1)
	KW_ETC=$(dirname "$KW_CONF")
	KW_RUN=$(sed -n 's/^run_dir *= *//p' "$KW_CONF")
	KW_VAULT=$(sed -n 's/^vault *= *//p' "$KW_CONF")
	set_conf audit best-effort
	PUB=$(mktemp -d /tmp/kw-pub.XXXXXX)
	chmod 755 "$PUB"
	at_exit "rm -rf '$PUB'"
}

# set_conf KEY VALUE: set a keyward.conf setting in the staging root.
set_conf() {
	sed -i "/^$1 *=/d" "$KW_CONF"
	echo "$1 = $2" >>"$KW_CONF"
}

# policy LINE...: replace policy.conf with these lines.
policy() {
	: >"$KW_ETC/policy.conf"
	for l in "$@"; do
		echo "$l" >>"$KW_ETC/policy.conf"
	done
	chmod 644 "$KW_ETC/policy.conf"
}

# secret NAME VALUE: add a secret to the staging vault.
secret() {
	printf '%s' "$2" | kw add "$1" >/dev/null
}

# add_user NAME: a throw-away user, removed at exit.
add_user() {
	useradd -M -d /nonexistent -s /bin/sh "$1" || return 1
	at_exit "userdel -f '$1'"
}

# pam_service NAME [TYPE...]: /etc/pam.d/NAME with account and session
# lines for the module from the build tree, plus any extra lines in
# $PAM_EXTRA. Removed at exit.
pam_service() {
	local f="/etc/pam.d/$1" m="$MODULE config=$KW_CONF"
	at_exit "rm -f '$f'"
	{
		echo "auth requisite pam_rootok.so"
		echo "account requisite $m"
		echo "session requisite $m"
		[ -n "${PAM_EXTRA:-}" ] && printf '%s\n' "$PAM_EXTRA"
	} >"$f"
}

# pam_confdir NAME: a private PAM configuration directory for
# pam_start_confdir() (kw_pamcase), nothing in /etc/pam.d: service NAME
# with account and session lines for the module from the build tree, and
# an "other" that denies. Sets PAMD.
pam_confdir() {
	PAMD="$KW_TMP/pam.d"
	mkdir -p "$PAMD"
	printf 'account required %s config=%s
session required %s config=%s
' \
	    "$MODULE" "$KW_CONF" "$MODULE" "$KW_CONF" >"$PAMD/$1"
	printf 'auth required pam_deny.so\naccount required pam_deny.so\nsession required pam_deny.so\n' \
	    >"$PAMD/other"
}

# sink_start: run the syslog sink; messages land in $SYSLOG.
sink_start() {
	SYSLOG="$KW_TMP/syslog"
	LOGSOCK="$KW_TMP/log.sock"
	: >"$SYSLOG"
	"$SINK" "$LOGSOCK" "$SYSLOG" &
	sink_pid=$!
	at_exit "kill $sink_pid"
	local i=0
	while [ ! -S "$LOGSOCK" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -S "$LOGSOCK" ] || { notok "syslog sink did not start"; finish; }
}

# in_ns CMD...: run CMD in a private mount namespace where /dev is a
# small tmpfs holding the usual nodes and /dev/log is the sink's socket.
# in_ns_exec replaces the calling (sub)shell: use it as
# "( in_ns_exec CMD... ) &" so that $! is CMD's pid.
in_ns() {
	( in_ns_exec "$@" )
}
in_ns_exec() {
	exec unshare -m --propagation private sh -c '
		set -e
		sock=$1; shift
		real=$(mktemp -d /tmp/kw-realdev.XXXXXX)
		mount --bind /dev "$real"
		mount -t tmpfs -o mode=755,size=64k kwdev /dev
		for n in null zero full random urandom tty; do
			[ -e "$real/$n" ] || continue
			: >"/dev/$n"
			mount --bind "$real/$n" "/dev/$n"
		done
		mkdir /dev/pts /dev/shm
		mount --bind "$real/pts" /dev/pts 2>/dev/null || true
		ln -s /proc/self/fd /dev/fd
		: >/dev/log
		mount --bind "$sock" /dev/log
		umount -l "$real"
		rmdir "$real"
		set +e
		exec "$@"' sh "$LOGSOCK" "$@"
}

# logged TEXT: true when the sink got a line containing TEXT (waits a bit:
# datagrams are delivered asynchronously to the sink's process).
logged() {
	local i=0
	while [ $i -lt 20 ]; do
		grep -qF -- "$1" "$SYSLOG" && return 0
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

# keys_named NAME: count live (not revoked, not expired) keyward:NAME keys
# in /proc/keys (root sees them all: it owns them).
keys_named() {
	awk -v d="keyward:$1:" '$9 == d && $2 !~ /R/ && $4 != "expd" { n++ }
	    END { print n + 0 }' /proc/keys
}

# key_dead SERIAL: true when the key is revoked, expired or gone (as
# /proc/keys shows it to root, who owns every keyward key).
key_dead() {
	local hex
	[ -n "$1" ] || return 1
	hex=$(printf '%08x' "$1" 2>/dev/null) || return 1
	awk -v s="$hex" '$1 == s && $2 !~ /R/ && $4 != "expd" { live = 1 }
	    END { exit live ? 1 : 0 }' /proc/keys
}

# wait_file PATH: wait up to 10 s (times KW_PATIENCE) for PATH to be
# non-empty.
wait_file() {
	local i=0
	while [ ! -s "$1" ] && [ $i -lt $((100 * KW_PATIENCE)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -s "$1" ]
}

# sessions: count registry session files.
sessions() {
	ls "$KW_RUN" 2>/dev/null | grep -c '^s\.' || true
}
