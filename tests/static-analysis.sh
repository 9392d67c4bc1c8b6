#!/bin/sh
# tests/static-analysis.sh [BUILDDIR] - static analysis of every C file:
#   cppcheck with the arguments in .cppcheck, and
#   scan-build --status-bugs over a clean build (clang's analyzer; dead
#   stores are not bugs and are left out), and, when asked with
#   KW_CLANG_TIDY=1, clang-tidy with the checked-in .clang-tidy.
# Exits non-zero on any finding. BUILDDIR (default ./build-scan) is made
# afresh for scan-build.
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
B=${1:-$SRC/build-scan}
DIRS="common config vault policy keyring audit lib cli pam_module fuzz
tests/unit tests/fault tests/bad-input tests/pam tests/audit tests/cmd bench"
INC="-I$SRC/common -I$SRC/config -I$SRC/vault -I$SRC/policy -I$SRC/keyring
-I$SRC/audit -I$SRC/lib -I$SRC/cli"
status=0

echo "== cppcheck"
args=$(grep -v '^#' "$SRC/.cppcheck")
# shellcheck disable=SC2086
(cd "$SRC" && cppcheck $args $INC $DIRS) || status=1

echo "== scan-build"
rm -rf "$B"
mkdir -p "$B"
(cd "$B" && scan-build "$SRC/configure" >/dev/null 2>&1 &&
    scan-build --status-bugs -disable-checker deadcode.DeadStores \
    -o "$B/report" make -j"$(nproc)" >"$B/scan-build.log" 2>&1) || {
	grep -E 'warning: .*\[[a-z]+\.' "$B/scan-build.log" || tail -20 "$B/scan-build.log"
	status=1
}
grep -E 'scan-build: .*(bugs found|No bugs)' "$B/scan-build.log" || true

if [ "${KW_CLANG_TIDY:-0}" = 1 ]; then
	echo "== clang-tidy"
	for f in $(cd "$SRC" && ls common/*.c config/*.c vault/*.c policy/*.c \
	    keyring/*.c audit/*.c lib/*.c cli/*.c pam_module/*.c); do
		# shellcheck disable=SC2086
		clang-tidy -quiet "$SRC/$f" -- -std=gnu11 -DHAVE_CONFIG_H \
		    -I"$B" $INC 2>/dev/null || status=1
	done
fi
[ $status -eq 0 ] && echo "static analysis: clean"
exit $status
