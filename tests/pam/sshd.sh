#!/bin/sh
# tests/pam/sshd.sh - pam_keyward under a real OpenSSH sshd on 127.0.0.1:
# a public-key login is gated by policy in the account phase, the granted
# secret (and only it) is in a session keyring that the user's remote
# command possesses, with or without a pty, each connection has its own
# keyring, and the keys are revoked when the connection ends.
#
# OpenSSH 9.2 (Debian 12) names its PAM service after the name it was run
# by (auth-pam.h: SSHD_PAM_SERVICE is __progname, the basename of argv[0]):
# the test runs sshd through a symlink kw-sshd-PID, so its stack is
# /etc/pam.d/kw-sshd-PID; the system's /etc/pam.d/sshd is never read or
# changed. Later releases take the name from sshd_config's PAMServiceName
# (default "sshd"): it is set too when this sshd knows it. The stack is
# Debian's sshd stack (pam_keyinit force revoke included) with the build
# tree's module added.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/pam/pamlib.sh"

pam_setup
SSHD_BIN=/usr/sbin/sshd
[ -x "$SSHD_BIN" ] || skip "sshd not installed (openssh-server)"
for t in ssh ssh-keygen timeout python3; do
	command -v "$t" >/dev/null 2>&1 || skip "$t not installed"
done
id sshd >/dev/null 2>&1 || skip "no sshd privilege separation user"
for f in common-account common-session; do
	[ -f "/etc/pam.d/$f" ] || skip "/etc/pam.d/$f missing"
done
# sshd refuses to start without its privilege separation directory
# (made by ssh.service, which a fresh install may not have started)
if [ ! -d /run/sshd ]; then
	mkdir -m 755 /run/sshd || skip "cannot make /run/sshd"
	at_exit "rmdir /run/sshd"
fi
TS_START=$(LC_ALL=C date '+%x %T')
sink_start

U=kwh$$a
D=kwh$$d
SVC=kw-sshd-$$
S1=ssh$$-key
S2=ssh$$-other
for u in "$U" "$D"; do
	useradd -m -s /bin/sh "$u" || { notok "useradd $u"; finish; }
	at_exit "userdel -f -r '$u'"
done
secret "$S1" "sshvalue-$$"
secret "$S2" "othervalue-$$"
policy "allow user=$U service=$SVC secrets=$S1 ttl=1h"

# the client key, authorized for both users (sshd's StrictModes checks
# the ownership and modes of ~/.ssh and authorized_keys)
ssh-keygen -q -t ed25519 -N '' -C kw-test -f "$KW_TMP/id" ||
    { notok "ssh-keygen (client)"; finish; }
ssh-keygen -q -t ed25519 -N '' -C kw-test -f "$KW_TMP/hostkey" ||
    { notok "ssh-keygen (host)"; finish; }
for u in "$U" "$D"; do
	h=$(getent passwd "$u" | cut -d: -f6)
	install -d -m 700 -o "$u" -g "$u" "$h/.ssh"
	install -m 600 -o "$u" -g "$u" "$KW_TMP/id.pub" "$h/.ssh/authorized_keys"
done

# the PAM stack: Debian's /etc/pam.d/sshd with keyward's two lines (auth
# is never run for a public-key login). The session line comes after
# pam_keyinit, which gives the connection a new session keyring of its own.
M="$MODULE config=$KW_CONF"
at_exit "rm -f '/etc/pam.d/$SVC'"
cat >"/etc/pam.d/$SVC" <<STACK
auth     required   pam_deny.so
account  required   pam_nologin.so
@include common-account
account  required   $M
session  optional   pam_loginuid.so
session  optional   pam_keyinit.so force revoke
@include common-session
session  required   $M
STACK
chmod 644 "/etc/pam.d/$SVC"

# sshd as kw-sshd-PID (an absolute path: sshd re-executes itself)
ln -s "$SSHD_BIN" "$KW_TMP/$SVC"
SSHD_LOG="$KW_TMP/sshd.log"
# sshd_config PORT: write the configuration for that port
sshd_config() {
	cat >"$KW_TMP/sshd_config" <<CONF
ListenAddress 127.0.0.1
Port $1
HostKey $KW_TMP/hostkey
PidFile $KW_TMP/sshd.pid
UsePAM yes
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
HostbasedAuthentication no
PermitRootLogin no
AllowUsers $U $D
StrictModes yes
UseDNS no
PrintMotd no
PrintLastLog no
X11Forwarding no
AllowTcpForwarding no
AllowAgentForwarding no
PermitTunnel no
LogLevel VERBOSE
$pam_name_line
CONF
}
# free_port: a port the kernel picked as free a moment ago
free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}
# sshd_start: start sshd on a free port (a few tries: the port may be
# taken between the probe and sshd's bind); sets PORT and sshd_pid
sshd_start() {
	local try=0 i
	while [ $try -lt 5 ]; do
		try=$((try + 1))
		PORT=$(free_port) || return 1
		sshd_config "$PORT"
		"$KW_TMP/$SVC" -t -f "$KW_TMP/sshd_config" || return 1
		: >"$SSHD_LOG"
		# in the sink's mount namespace (keyward's syslog lines land in
		# $SYSLOG), with a devpts of its own for pty sessions; $FOREIGN
		# (ASan build) is inherited by sshd's re-executions, not by the
		# user's commands, whose environment sshd builds afresh
		( in_ns_exec sh -c 'mount -t devpts -o newinstance,ptmxmode=0666 \
			kwpts /dev/pts && ln -sf pts/ptmx /dev/ptmx && exec "$@"' \
			sh $FOREIGN "$KW_TMP/$SVC" -D -f "$KW_TMP/sshd_config" \
			-E "$SSHD_LOG" ) &
		sshd_pid=$!
		i=0
		while [ $i -lt 100 ]; do
			grep -q "Server listening on 127.0.0.1 port $PORT" \
			    "$SSHD_LOG" && break
			kill -0 "$sshd_pid" 2>/dev/null || break
			sleep 0.1
			i=$((i + 1))
		done
		if grep -q "Server listening on 127.0.0.1 port $PORT" "$SSHD_LOG"
		then
			at_exit "kill $sshd_pid; wait $sshd_pid"
			return 0
		fi
		kill "$sshd_pid" 2>/dev/null
		wait "$sshd_pid" 2>/dev/null
	done
	return 1
}
# PAMServiceName where this sshd has it (not in 9.2: argv[0] names it)
pam_name_line="PAMServiceName $SVC"
sshd_config 22
"$KW_TMP/$SVC" -t -f "$KW_TMP/sshd_config" >/dev/null 2>&1 || pam_name_line=""
sshd_start || { cat "$SSHD_LOG"; notok "sshd did not start"; finish; }
ok "sshd runs as $SVC on 127.0.0.1 port $PORT"

# kssh [-tt] USER CMD: run CMD over ssh as USER (no configuration of
# root's own, no known_hosts, no agent)
kssh() {
	local tt=""
	[ "$1" = -tt ] && { tt=-tt; shift; }
	timeout 60 ssh -F /dev/null $tt -i "$KW_TMP/id" -p "$PORT" \
	    -o BatchMode=yes -o IdentitiesOnly=yes -o IdentityAgent=none \
	    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
	    -o LogLevel=ERROR -o ConnectTimeout=20 "$1@127.0.0.1" "$2"
}
# wait_sessions N: wait up to 10 s for N sessions in the registry (sshd
# closes the PAM session after the client has seen the channel close)
wait_sessions() {
	local i=0
	while [ "$(sessions)" -ne "$1" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ "$(sessions)" -eq "$1" ]
}
wait_closed() { wait_sessions 0; }

cp "$KREAD" "$PUB/kw_keyread"
chmod 755 "$PUB/kw_keyread"
cat >"$PUB/agent.sh" <<AGENT
#!/bin/sh
echo "who=\$(id -un)"
echo "ring=\$(keyctl rdescribe @s)"
echo "ringid=\$(keyctl id @s)"
echo "usering=\$(keyctl rdescribe @us 2>&1)"
echo "serial=\$($PUB/kw_keyread -f $S1)"
echo "other=\$($PUB/kw_keyread -s $S2)"
echo "session=\${KEYWARD_SESSION:-}"
AGENT
chmod 755 "$PUB/agent.sh"
key_live() { ! key_dead "$1"; }
field() { printf '%s\n' "$out" | sed -n "s/^$1=//p" | tr -d '\r'; }

# --- the granted secret, read by the user's remote command
expect_status 0 "ssh: the remote command reads its granted secret" \
    kssh "$U" "keyctl print %user:keyward:$S1"
check "... the exact value" [ "$out" = "sshvalue-$$" ]
wait_closed
expect_status 0 "ssh: the remote command runs" kssh "$U" "$PUB/agent.sh"
check "... as the user" [ "$(field who)" = "$U" ]
ring=$(field ring)
check "... in a session keyring of the user's own ($ring)" \
    [ "$(echo "$ring" | cut -d';' -f2)" = "$(id -u "$U")" ]
check "... not the user's default session keyring ($(field usering))" \
    [ "$(echo "$ring" | cut -d';' -f5)" = _ses ]
serial=$(field serial)
check "... holding keyward:$S1 (serial $serial)" \
    sh -c 'test "$1" -gt 0' sh "$serial"
check "... and not the ungranted $S2 ($(field other))" [ "$(field other)" = ENOKEY ]
check "no key for the ungranted secret exists at all" [ "$(keys_named "$S2")" -eq 0 ]
check "KEYWARD_SESSION reaches the remote environment" [ -n "$(field session)" ]
check "the key is revoked after the connection ends" \
    eval 'wait_closed && key_dead "$serial"'
check "the registry is empty after" [ "$(sessions)" -eq 0 ]
expect_status 0 "ssh: the ungranted secret cannot be read" \
    kssh "$U" "keyctl print %user:keyward:$S2 >/dev/null 2>&1; echo \$?"
check "... keyctl fails" [ "$out" != 0 ]
wait_closed

# --- a pty session (ssh -tt: sshd's do_exec_pty path)
expect_status 0 "ssh -tt: the shell on a pty reads its granted secret" \
    kssh -tt "$U" "keyctl print %user:keyward:$S1"
check "... the exact value" [ "$(printf '%s' "$out" | tr -d '\r')" = "sshvalue-$$" ]
wait_closed

# --- two concurrent connections: two keyrings, closed independently.
# sshd opens the PAM session in its privileged monitor (root, one per
# connection), then forks the user's unprivileged process, which forks
# the command: the keyring reaches the command by inheritance.
for f in a.out go; do pubfile $f "$U"; done
rm -f "$PUB/go"
cat >"$PUB/hold.sh" <<HOLD
#!/bin/sh
p=\$\$
while [ "\$p" -gt 1 ] &&
    [ "\$(awk '/^Uid:/ { print \$2 }' /proc/\$p/status)" != 0 ]; do
	p=\$(awk '/^PPid:/ { print \$2 }' /proc/\$p/status)
done
echo "\$(keyctl id @s) \$($PUB/kw_keyread -f $S1) \$p \${KEYWARD_SESSION:-none}" >$PUB/a.out
i=0
while [ ! -e $PUB/go ] && [ \$i -lt 300 ]; do sleep 0.1; i=\$((i + 1)); done
keyctl print %user:keyward:$S1 >/dev/null 2>&1 && echo still-readable
HOLD
chmod 755 "$PUB/hold.sh"
kssh "$U" "$PUB/hold.sh" >"$KW_TMP/a.stdout" 2>&1 &
a_pid=$!
at_exit "touch '$PUB/go'; wait $a_pid"
wait_file "$PUB/a.out"
read -r a_ring a_serial a_mon a_sess <"$PUB/a.out"
check "connection A holds its key (serial $a_serial, keyring $a_ring)" \
    sh -c 'test "$1" -gt 0' sh "$a_serial"
check "A's first root ancestor ($a_mon) is a connection process of our sshd" \
    sh -c '[ "$(awk "/^PPid:/ { print \$2 }" /proc/$1/status)" = "$2" ] &&
    [ "$(readlink /proc/$1/exe)" = "$3" ]' sh "$a_mon" "$sshd_pid" "$SSHD_BIN"
expect_status 0 "keyward sessions --json while A is open" kw sessions --json
printf '%s' "$out" >"$KW_TMP/s.json"
reg=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
for s in d["sessions"]:
    print(s["id"], s["pid"], s["keyring"], s["service"], s["tty"], s["user"],
        *[k["serial"] for k in s["keys"]])' "$KW_TMP/s.json")
check "the registry has A: its id, sshd's monitor, A's keyring, $SVC, tty ssh, $U, the serial ($reg)" \
    [ "$reg" = "$a_sess $a_mon $a_ring $SVC ssh $U $a_serial" ]
check "root outside the session cannot read A's key" \
    [ "$("$KREAD" "$a_serial")" = EACCES ]
expect_status 0 "connection B runs while A is open" kssh "$U" \
    "keyctl id @s; $PUB/kw_keyread -f $S1; $PUB/kw_keyread $a_serial; true"
b_ring=$(printf '%s\n' "$out" | sed -n 1p)
b_serial=$(printf '%s\n' "$out" | sed -n 2p)
check "B has a session keyring of its own ($b_ring, A: $a_ring)" \
    sh -c '[ -n "$1" ] && [ "$1" != "$2" ]' sh "$b_ring" "$a_ring"
check "B has a key of its own ($b_serial, A: $a_serial)" \
    sh -c '[ "$1" -gt 0 ] && [ "$1" != "$2" ]' sh "$b_serial" "$a_serial"
check "the same user in B cannot read A's key" \
    [ "$(printf '%s\n' "$out" | sed -n 3p)" = EACCES ]
i=0
while ! key_dead "$b_serial" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
check "B's key is revoked when B ends" key_dead "$b_serial"
check "A's key lives on" key_live "$a_serial"
check "A's session is still in the registry" wait_sessions 1
touch "$PUB/go"
wait "$a_pid"
check "A still reads its key after B closed" grep -q still-readable "$KW_TMP/a.stdout"
check "A's key is revoked when A ends" eval 'wait_closed && key_dead "$a_serial"'
check "the registry is empty after" [ "$(sessions)" -eq 0 ]

# --- what the policy sees from sshd: PAM_RHOST is the client's address
# (UseDNS no), PAM_TTY is "ssh" (set before any pty exists)
policy "allow user=$U service=$SVC rhost=127.0.0.1 tty=ssh secrets=$S1 ttl=1h"
expect_status 0 "a rule with rhost=127.0.0.1 tty=ssh lets the user in" \
    kssh "$U" "keyctl print %user:keyward:$S1 >/dev/null && echo read"
check "... with the secret" [ "$out" = read ]
wait_closed
policy "allow user=$U service=$SVC rhost=192.0.2.1 secrets=$S1 ttl=1h"
expect_status 255 "a rule for another rhost refuses the user" \
    kssh "$U" "echo started"
check "... and nothing ran" sh -c '! printf "%s" "$1" | grep -q started' sh "$out"
policy "allow user=$U service=$SVC secrets=$S1 ttl=1h"

# --- a user the policy denies is refused at the account phase
expect_status 255 "ssh: a denied user is refused" kssh "$D" "echo started"
check "... and nothing ran" sh -c '! printf "%s" "$1" | grep -q started' sh "$out"
check "sshd logs the PAM account refusal" \
    grep -q "Access denied for user $D by PAM account configuration" "$SSHD_LOG"
check "keyward's syslog line names the user, the service and the rule" \
    logged "user '$D' on service '$SVC': denied by default-deny"
check "no key was made for the denied user" [ "$(sessions)" -eq 0 ]

# --- audit records name the service and the secret (auditd runs: new_root)
check "ausearch finds the keyward-deliver record of the ssh session" eval \
    'ausearch --start $TS_START -m CRYPTO_KEY_USER 2>/dev/null |
    grep "op=keyward-deliver" | grep "kw_secret=\"$S1\"" | grep -q "exe=\"$SSHD_BIN\""'
check "ausearch finds the keyward-gate denial of $D" eval \
    'ausearch --start $TS_START -m USER_ACCT --success no 2>/dev/null |
    grep "op=keyward-gate" | grep -q "acct=\"$D\""'

check "no secret value in sshd's log or syslog" \
    sh -c '! grep -q -e sshvalue -e othervalue "$1" "$2"' sh "$SSHD_LOG" "$SYSLOG"
check "the real /etc/pam.d/sshd does not name pam_keyward" \
    sh -c '! grep -q pam_keyward /etc/pam.d/sshd'
# on failure, show what sshd said (never a value: checked above)
[ "$kw_failures" -eq 0 ] || sed 's/^/# sshd: /' "$SSHD_LOG"
finish
