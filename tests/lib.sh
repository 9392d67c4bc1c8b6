# tests/lib.sh - shared helpers for keyward's shell tests (sourced).
#
# Conventions: a test prints "ok - ..." / "not ok - ..." lines, exits 0 when
# all passed, 1 on any failure, 77 to skip. Under CI=true a skip of a root
# or audit test is a failure: CI must prove all of it.

set -u

: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_srcdir:=$top_builddir}"
: "${KEYWARD:=$top_builddir/keyward}"
export top_builddir top_srcdir KEYWARD

# Bounded waits for another process (up to N tenths of a second) are
# stretched this many times under valgrind, where every keyward command
# an agent runs is many times slower.
KW_PATIENCE=1
[ -z "${KW_UNDER_VALGRIND:-}" ] || KW_PATIENCE=6

kw_failures=0
kw_passes=0
kw_cleanups=""

# skip REASON: exit 77, or fail under CI.
skip() {
	if [ "${CI:-}" = true ]; then
		echo "not ok - required under CI=true but would skip: $*"
		exit 1
	fi
	echo "SKIP: $*"
	exit 77
}

# need_root: the test needs uid 0.
need_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
}

# need_strace: the test injects faults with strace.
need_strace() {
	command -v strace >/dev/null 2>&1 || skip "strace not installed"
}

# traced STRACE-ARGS...: strace with STRACE-ARGS. LeakSanitizer cannot run
# under ptrace: in a sanitizer build it would end every traced process
# with a fatal error (exit 1), so the traced process checks no leaks; the
# same commands untraced are checked by the other tests.
traced() {
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" strace "$@"
}

# ok DESCRIPTION / notok DESCRIPTION
ok() { kw_passes=$((kw_passes + 1)); echo "ok - $*"; }
notok() { kw_failures=$((kw_failures + 1)); echo "not ok - $*"; }

# check DESCRIPTION COMMAND...: ok when COMMAND succeeds.
check() {
	local d="$1"; shift
	if "$@"; then ok "$d"; else notok "$d"; fi
}

# check_fails DESCRIPTION COMMAND...: ok when COMMAND fails.
check_fails() {
	local d="$1"; shift
	if "$@"; then notok "$d"; else ok "$d"; fi
}

# expect_status WANT DESCRIPTION COMMAND...: ok when COMMAND exits WANT,
# and not by a sanitizer's own exit (a sanitizer build exits 1 on an
# error it finds, which is also many a refusal's status). Its stdout and
# stderr are kept in $out and $err.
expect_status() {
	local want="$1" d="$2" got
	shift 2
	out=$("$@" 2>"$KW_TMP/.stderr") && got=0 || got=$?
	err=$(cat "$KW_TMP/.stderr")
	if contains "$err" "Sanitizer"; then
		notok "$d (a sanitizer ended it; stderr: $err)"
	elif [ "$got" -eq "$want" ]; then
		ok "$d"
	else
		notok "$d (exit $got, wanted $want; stderr: $err)"
	fi
}

# contains HAYSTACK NEEDLE: literal substring test.
contains() { case "$1" in *"$2"*) return 0;; esac; return 1; }

# at_exit COMMAND: run COMMAND when the test ends (last registered first).
at_exit() { kw_cleanups="$1
$kw_cleanups"; }

kw_run_cleanups() {
	local IFS='
'
	for c in $kw_cleanups; do
		eval "$c" >/dev/null 2>&1 || true
	done
}

# finish: print the summary line and exit with the result.
finish() {
	echo "$kw_passes passed, $kw_failures failed"
	[ "$kw_failures" -eq 0 ]
	exit $?
}

# A private temporary directory for this test, removed at exit.
KW_TMP=$(mktemp -d "${TMPDIR:-/tmp}/kw-test.XXXXXX")
chmod 700 "$KW_TMP"
at_exit "rm -rf '$KW_TMP'"
trap 'kw_run_cleanups' EXIT
trap 'exit 130' INT TERM HUP PIPE

# need_auditd: a live auditd (tests/start-auditd.sh starts one when none
# runs or the kernel's registered one is dead).
need_auditd() {
	command -v auditctl >/dev/null && command -v ausearch >/dev/null ||
	    skip "auditctl/ausearch not installed"
	sh "$top_srcdir/tests/start-auditd.sh" >/dev/null ||
	    skip "cannot start auditd"
}

# new_root: a fresh staging root with 'keyward init' done; sets KW_ROOT
# and defines kw (keyward against that root). A staging root is in
# audit=required mode, so as root an auditd must be running.
new_root() {
	[ "$(id -u)" -ne 0 ] || need_auditd
	KW_ROOT=$(mktemp -d "$KW_TMP/root.XXXXXX")
	chmod 755 "$KW_ROOT"
	"$KEYWARD" --root "$KW_ROOT" init >/dev/null
}
kw() { "$KEYWARD" --root "$KW_ROOT" "$@"; }
