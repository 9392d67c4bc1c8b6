#!/bin/sh
# with-rules.sh CMD [ARGS...] - run CMD with auditd running and keyward's
# kernel audit rules loaded, as they are in production (make bench runs
# every benchmark this way, so floors and results pay the same audit cost).
# Only the rules that were missing are added, and exactly those are deleted
# again afterwards (with the backlog limit). Root only.
# Afterwards it prints the share of the vCPUs' time the host took for
# itself while CMD ran (steal, from /proc/stat): on a contended host the
# kernel's wake-ups across vCPUs (a record, an audit status reply) wait
# for the host, and timings and ratios swing with it.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/audit/audit-lib.sh"
need_root
need_auditd
load_rules
# cpu_ticks: "steal total" jiffies of all CPUs so far
cpu_ticks() {
	awk '$1 == "cpu" { t = 0; for (i = 2; i <= NF; i++) t += $i;
	    print $9, t; exit }' /proc/stat
}
before=$(cpu_ticks)
"$@"
rc=$?
after=$(cpu_ticks)
echo "$before $after" | awk -v cmd="$(basename "$1")" '{
	steal = $3 - $1; total = $4 - $2
	if (total <= 0)
		exit
	share = 100 * steal / total
	note = share >= 5 ? " (a contended host: timings and ratios swing)" : ""
	printf "bench %s: host steal %.1f%% of vCPU time during the run%s\n",
	    cmd, share, note
}'
exit $rc
