#!/bin/sh
# packaging/copy-tree.sh DEST - copy keyward's source tree into DEST
# without build products: in a git work tree, the tracked and untracked
# files that .gitignore does not ignore (the work in progress included);
# otherwise everything but .git and build*/. Used by build-deb.sh and
# build-rpm.sh so that packages are built from a clean tree.
set -eu
[ $# -eq 1 ] || { echo "usage: copy-tree.sh DEST" >&2; exit 2; }
top=$(cd "$(dirname "$0")/.." && pwd)
dest=$1
mkdir -p "$dest"
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# files deleted from the work tree but still tracked are skipped
	(cd "$top" && git ls-files -z -c -o --exclude-standard |
	    tar --null -T - --ignore-failed-read -cf - 2>/dev/null) |
	    tar -C "$dest" -xf -
else
	tar -C "$top" --exclude=./.git --exclude='./build*' -cf - . |
	    tar -C "$dest" -xf -
fi
