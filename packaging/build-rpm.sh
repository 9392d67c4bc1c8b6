#!/bin/sh
# packaging/build-rpm.sh - build keyward's RPMs from a "make dist" tarball.
#
# The tree is copied (packaging/copy-tree.sh) to a temporary directory,
# bootstrapped (autoreconf), configured, and "make dist" makes the tarball;
# then "rpmbuild -bb --nodeps" builds packaging/rpm/keyward.spec with a
# private _topdir (dependency checks are skipped: the build dependencies
# are Debian packages here). The RPMs and the build log land in
# $KW_PKG_OUT/rpm (default: build-pkg/rpm in the tree).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=${KW_PKG_OUT:-$top/build-pkg}/rpm

for tool in rpmbuild autoreconf make; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "build-rpm: $tool missing (run tests/install-deps.sh)" >&2
		exit 1
	}
done

work=$(mktemp -d "${TMPDIR:-/tmp}/keyward-rpm.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
log="$out/build-rpm.log"
: >"$log"

# run WHAT COMMAND...: run COMMAND with its output in the log; on failure
# show the log's tail and stop.
run() {
	what=$1
	shift
	echo "build-rpm: $what"
	if ! "$@" >>"$log" 2>&1; then
		tail -60 "$log"
		echo "build-rpm: $what failed (log: $log)" >&2
		exit 1
	fi
}

rm -f "$out"/*.rpm
"$top/packaging/copy-tree.sh" "$work/src"
run "autoreconf" sh -c "cd '$work/src' && autoreconf -fi"
mkdir "$work/build"
run "configure" sh -c "cd '$work/build' && ../src/configure"
run "make dist" make -C "$work/build" dist
tarball=$(ls "$work/build"/keyward-*.tar.gz)

topdir="$work/rpmbuild"
mkdir -p "$topdir/SOURCES"
cp "$tarball" "$topdir/SOURCES/"
# Debian's rpm has no find-debuginfo: no debuginfo subpackage here.
run "rpmbuild -bb --nodeps" rpmbuild -bb --nodeps \
    --define "_topdir $topdir" --define 'debug_package %{nil}' \
    "$top/packaging/rpm/keyward.spec"

find "$topdir/RPMS" -name '*.rpm' -exec mv {} "$out/" \;
echo "build-rpm: built in $out:"
for r in "$out"/*.rpm; do
	echo "  $(basename "$r")"
	rpm -qp --qf '[    %{FILEMODES:perms} %{FILECAPS} %{FILENAMES}\n]' \
	    "$r" 2>/dev/null
done
# the command must carry its capability in the package
rpm -qp --qf '[%{FILENAMES} %{FILECAPS}\n]' "$out"/keyward-[0-9]*.rpm \
    2>/dev/null | grep -q '^/usr/bin/keyward cap_audit_write=ep$' || {
	echo "build-rpm: /usr/bin/keyward lacks cap_audit_write=ep" >&2
	exit 1
}
