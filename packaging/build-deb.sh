#!/bin/sh
# packaging/build-deb.sh - build keyward's .debs from a clean copy of the
# tree and check them with lintian.
#
# The tree is copied (packaging/copy-tree.sh) to a temporary directory,
# packaging/debian becomes ./debian, and "dpkg-buildpackage -us -uc -b"
# builds there. The .debs, .buildinfo, .changes, the build log and
# lintian's output land in $KW_PKG_OUT (default: build-pkg/ in the tree). Fails on a build failure or on any
# lintian error; prints lintian's tags and their counts.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=${KW_PKG_OUT:-$top/build-pkg}
version=$(dpkg-parsechangelog -l "$top/packaging/debian/changelog" -S Version)

for tool in dpkg-buildpackage dh lintian; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "build-deb: $tool missing (run tests/install-deps.sh)" >&2
		exit 1
	}
done

work=$(mktemp -d "${TMPDIR:-/tmp}/keyward-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
src="$work/keyward-$version"
mkdir -p "$src" "$out"

# no stale packages: a failed build leaves nothing to install
rm -f "$out"/*.deb "$out"/*.changes "$out"/*.buildinfo "$out"/lintian.txt
"$top/packaging/copy-tree.sh" "$src"
rm -rf "$src/debian"
cp -a "$src/packaging/debian" "$src/debian"

echo "build-deb: dpkg-buildpackage -us -uc -b in $src"
log="$out/build-deb.log"
if ! (cd "$src" &&
    DEB_BUILD_OPTIONS="parallel=$(nproc)" dpkg-buildpackage -us -uc -b) \
    >"$log" 2>&1; then
	tail -60 "$log"
	echo "build-deb: dpkg-buildpackage failed (log: $log)" >&2
	exit 1
fi

for f in "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo; do
	if [ -e "$f" ]; then mv "$f" "$out/"; fi
done
echo "build-deb: built in $out:"
(cd "$out" && ls -1 ./*.deb | sed 's|^\./|  |')

changes=$(ls "$out"/keyward_"$version"_*.changes)
lint="$out/lintian.txt"
# lintian exits 1 when it found errors, more when it could not run
lrc=0
lintian --display-info --pedantic "$changes" >"$lint" 2>&1 || lrc=$?
cat "$lint"
errors=$(grep -c '^E: ' "$lint" || true)
warnings=$(grep -c '^W: ' "$lint" || true)
infos=$(grep -c '^I: ' "$lint" || true)
pedantic=$(grep -c '^P: ' "$lint" || true)
echo "lintian: $errors errors, $warnings warnings, $infos info, $pedantic pedantic"
if [ "$lrc" -gt 1 ]; then
	echo "build-deb: lintian failed to run (exit $lrc)" >&2
	exit 1
fi
[ "$errors" -eq 0 ]
