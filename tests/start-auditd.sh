#!/bin/sh
# tests/start-auditd.sh - make sure a real auditd is running (root). Leaves
# a live auditd alone. The kernel keeps reporting a daemon that died until
# it next fails to send to it, so a registered pid counts only when its
# process exists; otherwise a new auditd is started (it replaces the stale
# registration). The pid of an auditd started here is written to
# /run/keyward-tests/auditd.pid: tests may stop only that one.
set -eu
PIDFILE=/run/keyward-tests/auditd.pid

registered() { auditctl -s 2>/dev/null | sed -n 's/^pid //p'; }

pid=$(registered)
if [ -n "$pid" ] && [ "$pid" -gt 0 ] && kill -0 "$pid" 2>/dev/null; then
	echo "start-auditd: auditd already running (pid $pid)"
	exit 0
fi
[ -n "$pid" ] && [ "$pid" -gt 0 ] &&
	echo "start-auditd: the kernel names auditd pid $pid, which is gone"
mkdir -p /var/log/audit /run/keyward-tests
auditd
i=0
while [ $i -lt 50 ]; do
	new=$(registered)
	if [ -n "$new" ] && [ "$new" -gt 0 ] && [ "$new" != "$pid" ] &&
	    kill -0 "$new" 2>/dev/null; then
		auditctl -e 1 >/dev/null
		echo "$new" >"$PIDFILE"
		echo "start-auditd: auditd started (pid $new)"
		exit 0
	fi
	sleep 0.1
	i=$((i + 1))
done
echo "start-auditd: auditd did not start" >&2
exit 1
