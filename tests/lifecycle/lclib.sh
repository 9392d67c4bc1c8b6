# tests/lifecycle/lclib.sh - helpers for the lifecycle tests (sourced after
# tests/lib.sh and tests/pam/pamlib.sh): real agents started with
# 'keyward run' under a test PAM service, each reading one secret in a
# loop and reporting what it read, its session id and the key's serial.

# lc_setup: a staging root (audit = best-effort), a running auditd, a PAM
# service kw-test-$$-lc for the build tree's module; sets SVC, PUB.
lc_setup() {
	pam_setup
	command -v auditctl >/dev/null && command -v ausearch >/dev/null ||
	    skip "auditctl/ausearch not installed"
	sh "$top_srcdir/tests/start-auditd.sh" >/dev/null ||
	    skip "cannot start auditd"
	SVC=kw-test-$$-lc
	pam_service "$SVC"
	chmod 1777 "$PUB"
	# the agent: TAG SECRET; reads every 0.1 s; TAG.out holds the last
	# read ("ERR <message>" on failure), TAG.sid its session, TAG.serial
	# the key's serial as keyctl finds it. With TAG.hold present it also
	# leaves a worker in the background (pid in TAG.hpid) that holds the
	# session keyring on: the launcher's PDEATHSIG ends only its direct
	# child, so the worker outlives a killed launcher, like a real agent's
	# helper process would
	cat >"$PUB/agent.sh" <<AGENT
#!/bin/sh
echo \$\$ >"$PUB/\$1.apid"
if [ -e "$PUB/\$1.hold" ]; then
	sleep 600 </dev/null >/dev/null 2>&1 &
	echo \$! >"$PUB/\$1.hpid"
fi
echo "\$KEYWARD_SESSION" >"$PUB/\$1.sid.tmp" && mv -f "$PUB/\$1.sid.tmp" "$PUB/\$1.sid"
while :; do
	if v=\$("$KEYWARD" get "\$2" 2>&1); then :; else v="ERR \$v"; fi
	printf '%s\n' "\$v" >"$PUB/\$1.out.tmp" && mv -f "$PUB/\$1.out.tmp" "$PUB/\$1.out"
	s=\$(keyctl search @s user "keyward:\$2" 2>/dev/null) || s=none
	echo "\$s" >"$PUB/\$1.serial.tmp" && mv -f "$PUB/\$1.serial.tmp" "$PUB/\$1.serial"
	sleep 0.1
done
AGENT
	chmod 755 "$PUB/agent.sh"
}

# start_agent TAG USER SECRET [SERVICE]: an agent under keyward run (on
# $SVC by default), in the background; its launcher's pid goes in
# $PUB/TAG.pid. Waits until it has read once.
start_agent() {
	rm -f "$PUB/$1.out" "$PUB/$1.sid" "$PUB/$1.serial"
	"$KEYWARD" --root "$KW_ROOT" run --service "${4:-$SVC}" --user "$2" -- \
	    "$PUB/agent.sh" "$1" "$3" >/dev/null 2>"$KW_TMP/$1.err" &
	echo $! >"$PUB/$1.pid"
	at_exit "kill $! 2>/dev/null"
	# an agent (or its worker) whose launcher was killed lives on: end it
	at_exit "kill \$(cat '$PUB/$1.apid') 2>/dev/null"
	at_exit "kill \$(cat '$PUB/$1.hpid') 2>/dev/null"
	wait_file "$PUB/$1.out" && wait_file "$PUB/$1.serial" &&
	    wait_file "$PUB/$1.sid"
}

# stop_agents TAG...: end the agents (their launchers close the sessions).
stop_agents() {
	local t p
	for t in "$@"; do
		p=$(cat "$PUB/$t.pid" 2>/dev/null) || continue
		kill "$p" 2>/dev/null
	done
	for t in "$@"; do
		p=$(cat "$PUB/$t.pid" 2>/dev/null) || continue
		wait "$p" 2>/dev/null
	done
	return 0
}

# read_of TAG: the agent's last read.
read_of() { cat "$PUB/$1.out" 2>/dev/null; }
sid_of() { cat "$PUB/$1.sid" 2>/dev/null; }
serial_of() { cat "$PUB/$1.serial" 2>/dev/null; }

# sees TAG VALUE: wait up to 5 s (times KW_PATIENCE) for the agent to
# read VALUE.
sees() {
	local i=0
	while [ $i -lt $((50 * KW_PATIENCE)) ]; do
		[ "$(read_of "$1")" = "$2" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	echo "# $1 reads '$(read_of "$1")', not '$2'" >&2
	return 1
}

# revoked TAG: wait up to 5 s (times KW_PATIENCE) for the agent's reads
# to fail as revoked.
revoked() {
	local i=0
	while [ $i -lt $((50 * KW_PATIENCE)) ]; do
		case "$(read_of "$1")" in
		"ERR "*revoked*) return 0;;
		esac
		sleep 0.1
		i=$((i + 1))
	done
	echo "# $1 reads '$(read_of "$1")', not a revoked error" >&2
	return 1
}

# keeps TAG VALUE: the agent still reads VALUE after a fresh read.
keeps() {
	rm -f "$PUB/$1.out"
	wait_file "$PUB/$1.out" && [ "$(read_of "$1")" = "$2" ]
}

# audit_start: a timestamp for ausearch --start (records after now).
audit_start() {
	sleep 1
	AU_START=$(date '+%x %H:%M:%S')
}

# records OP SECRET [VERSION]: count keyward OP records for SECRET (and
# kw_version=VERSION) since audit_start. Waits a little for auditd.
records() {
	local pat="op=keyward-$1 kw_secret=\"$2\"" n
	[ -n "${3:-}" ] && pat="$pat kw_version=$3 "
	sleep 0.5
	n=$(ausearch --start $AU_START -m CRYPTO_KEY_USER --raw 2>/dev/null |
	    grep -F -c -- "$pat")
	echo "${n:-0}"
}

# kernel_serials PREFIX: live root-owned keyward:PREFIX* keys in
# /proc/keys (not revoked, not expired), as decimal serials, sorted.
kernel_serials() {
	awk -v p="keyward:$1" '$6 == 0 && index($9, p) == 1 &&
	    $2 !~ /R/ && $4 != "expd" { print $1 }' /proc/keys |
	    while read -r hex; do printf '%d\n' "0x$hex"; done | sort -n
}

# registry_serials PREFIX: serials 'keyward sessions --json' lists for
# secrets named PREFIX*, unique, sorted.
registry_serials() {
	kw sessions --json 2>/dev/null | python3 -c '
import json, sys
p = sys.argv[1]
d = json.load(sys.stdin)
s = {k["serial"] for x in d["sessions"] for k in x["keys"]
     if k["secret"].startswith(p)}
print("\n".join(str(v) for v in sorted(s)))' "$1"
}
