#!/bin/sh
# replay.sh - run every fuzz corpus through its target with the plain
# replay driver (any compiler, any sanitizer build).
. "$top_srcdir/tests/lib.sh"

for bin in "$top_builddir"/fuzz/replay_*; do
	[ -x "$bin" ] || continue
	t=${bin##*/replay_}
	corpus="$top_srcdir/fuzz/corpus/$t"
	if [ ! -d "$corpus" ]; then
		notok "no corpus for fuzz target $t"
		continue
	fi
	if out=$("$bin" "$corpus" 2>&1); then
		ok "fuzz corpus $t: $out"
	else
		notok "fuzz corpus $t: $out"
	fi
done
[ "$kw_passes" -gt 0 ] || notok "no fuzz replay driver found"
finish
