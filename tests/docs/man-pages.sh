#!/bin/sh
# man-pages.sh - every shipped man page renders without a warning
# (groff -ww -z) and names only subcommands that keyward knows.
. "$top_srcdir/tests/lib.sh"

command -v groff >/dev/null 2>&1 || skip "groff is not installed"
n=0
for page in "$top_srcdir"/docs/*.[1-8]; do
	[ -f "$page" ] || continue
	n=$((n + 1))
	warnings=$(groff -ww -z -mdoc "$page" 2>&1)
	if [ -z "$warnings" ]; then
		ok "$(basename "$page") renders cleanly"
	else
		notok "$(basename "$page"): $warnings"
	fi
done
[ "$n" -ge 2 ] && ok "found $n man pages" || notok "found only $n man pages"

# every subcommand listed by keyward --help is documented in keyward(1)
for cmd in $("$KEYWARD" --help | sed -n 's/^  \([a-z-]*\) .*/\1/p'); do
	case "$cmd" in -*) continue;; esac
	if grep -q "^\.It Cm $cmd\( \|$\)" "$top_srcdir/docs/keyward.1"; then
		ok "keyward(1) documents '$cmd'"
	else
		notok "keyward(1) does not document '$cmd'"
	fi
done
finish
