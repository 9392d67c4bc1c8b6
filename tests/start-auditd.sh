#!/bin/sh
# tests/start-auditd.sh - make sure a real auditd is running (root). Leaves
# an auditd that was already running alone.
set -eu
if auditctl -s 2>/dev/null | grep -q '^pid [1-9]'; then
	echo "start-auditd: auditd already running"
	exit 0
fi
mkdir -p /var/log/audit
auditd
i=0
while [ $i -lt 50 ]; do
	if auditctl -s 2>/dev/null | grep -q '^pid [1-9]'; then
		auditctl -e 1 >/dev/null
		echo "start-auditd: auditd started"
		exit 0
	fi
	sleep 0.1
	i=$((i + 1))
done
echo "start-auditd: auditd did not start" >&2
exit 1
