#!/bin/sh
# with-rules.sh CMD [ARGS...] - run CMD with auditd running and keyward's
# kernel audit rules loaded, as they are in production (make bench runs
# every benchmark this way, so floors and results pay the same audit cost).
# Only the rules that were missing are added, and exactly those are deleted
# again afterwards (with the backlog limit). Root only.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/audit/audit-lib.sh"
need_root
need_auditd
load_rules
"$@"
rc=$?
exit $rc
