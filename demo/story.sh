#!/bin/sh
# demo/story.sh - keyward end to end, step by step, against the installed
# keyward (or KEYWARD=/path/to/keyward and KW_PAM_MODULE=/path/to/module.so):
# a vault with two secrets, a policy that grants one, an agent started by
# `keyward run` that reads it from its session keyring, what the agent and
# others cannot read, and the auditor's view.
#
# Everything it makes: the staging tree /var/lib/keyward-demo (its own
# keyward.conf, keys, vault and registry: /etc/keyward is never touched),
# /etc/pam.d/keyward-demo, the users kwdemo-agent and kwdemo-other, and
# keyward's kernel audit rules if they were not loaded.
#   sh demo/story.sh --clean   removes all of it (rules only if it loaded them)
set -eu

DEMO=/var/lib/keyward-demo
ROOT=$DEMO/root
SERVICE=keyward-demo
AGENT=kwdemo-agent
OTHER=kwdemo-other
KEYWARD=${KEYWARD:-keyward}
RULES_FILE=${KW_RULES_FILE:-}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
say() { printf '   %s\n' "$*"; }
run() { printf '   $ %s\n' "$*"; "$@" 2>&1 | sed 's/^/     /'; }
# runsh 'CMD': show and run a shell command line (redirections and all)
runsh() { printf '   $ %s\n' "$1"; sh -c "$1" 2>&1 | sed 's/^/     /'; }
# agent_reread: ask the agent to read its secret again, wait for it
agent_reread() {
	touch "$IO/reread"
	i=0
	while [ ! -e "$IO/reread-done" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	rm -f "$IO/reread-done"
}

rules_file() {
	for f in "$RULES_FILE" /etc/audit/rules.d/keyward.rules \
	    "$(dirname "$0")/../packaging/audit/keyward.rules"; do
		[ -n "$f" ] && [ -f "$f" ] && { echo "$f"; return; }
	done
	echo "demo: keyward.rules not found" >&2
	exit 1
}

clean() {
	pkill -u "$AGENT" 2>/dev/null || true
	userdel -f -r "$AGENT" 2>/dev/null || true
	userdel -f -r "$OTHER" 2>/dev/null || true
	rm -f "/etc/pam.d/$SERVICE"
	if [ -f "$DEMO/rules-added" ]; then
		while IFS= read -r rule; do
			# shellcheck disable=SC2086
			auditctl $(echo "$rule" | sed 's/^-a /-d /') >/dev/null 2>&1 || true
		done < "$DEMO/rules-added"
	fi
	rm -rf "$DEMO"
}

if [ "${1:-}" = "--clean" ]; then
	clean
	echo "demo: removed $DEMO, /etc/pam.d/$SERVICE, users $AGENT and $OTHER" \
	    "and the audit rules the demo loaded"
	exit 0
fi
[ "$(id -u)" -eq 0 ] || { echo "demo: run me as root" >&2; exit 1; }

if [ -n "${KW_PAM_MODULE:-}" ]; then
	module=$KW_PAM_MODULE
else
	module=pam_keyward.so
fi

# a fresh start: what an earlier run made goes, except the audit rules
# (remembered in rules-added) and the users
rules_added=""
[ -f "$DEMO/rules-added" ] && rules_added=$(cat "$DEMO/rules-added")
pkill -u "$AGENT" 2>/dev/null || true
rm -rf "$DEMO"
mkdir -p "$DEMO"
chmod 755 "$DEMO"
[ -n "$rules_added" ] && printf '%s\n' "$rules_added" > "$DEMO/rules-added"
started=$(LC_ALL=C date '+%x %T')
started_iso=$(date '+%Y-%m-%dT%H:%M:%S')

step "0. Kernel audit rules: every keyctl read of any key is recorded (-k keyward)"
grep '^-a ' "$(rules_file)" | while IFS= read -r rule; do
	# shellcheck disable=SC2086
	if auditctl $rule >/dev/null 2>&1; then
		echo "$rule" >> "$DEMO/rules-added"
	fi
done
runsh "auditctl -l | grep -c 'key=keyward' | sed 's/$/ keyward rules loaded/'"

step "1. The sysadmin creates a vault"
run "$KEYWARD" --root "$ROOT" init
conf=$(find "$ROOT" -name keyward.conf)
etc=$(dirname "$conf")
sed -i "s/^trusted_launchers = .*/trusted_launchers = $SERVICE/" "$conf"
run ls -l "$etc"

step "2. ... adds two secrets (values from stdin, never argv)"
head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$DEMO/openai.value"
head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$DEMO/s3.value"
chmod 600 "$DEMO"/*.value
runsh "$KEYWARD --root $ROOT add demo-openai --max-ttl 8h < $DEMO/openai.value"
runsh "$KEYWARD --root $ROOT add demo-s3 < $DEMO/s3.value"
run "$KEYWARD" --root "$ROOT" list
say "sha256 of demo-openai's value, for comparison below: $(tr -d '\n' < "$DEMO/openai.value" | sha256sum | cut -c1-16)"

step "3. ... writes a policy that grants the agent demo-openai only"
for u in "$AGENT" "$OTHER"; do
	id "$u" >/dev/null 2>&1 || useradd -m -s /bin/sh "$u"
done
cat > "$etc/policy.conf" <<POLICY
# keyward demo policy: default deny; the agent gets one secret for 10 minutes
allow user=$AGENT service=$SERVICE secrets=demo-openai ttl=10m
POLICY
run cat "$etc/policy.conf"
run "$KEYWARD" --root "$ROOT" check
run "$KEYWARD" --root "$ROOT" explain --user "$AGENT" --service "$SERVICE"
# where the agent leaves notes for the story (its serial, its errors)
IO=$DEMO/io
install -d -o "$AGENT" -g "$AGENT" -m 700 "$IO"

step "4. ... wires PAM: /etc/pam.d/$SERVICE"
cat > "/etc/pam.d/$SERVICE" <<PAM
# keyward demo service (removed by demo/story.sh --clean)
auth     required pam_rootok.so
account  required $module config=$conf
session  required $module config=$conf
PAM
run cat "/etc/pam.d/$SERVICE"

step "5. An agent starts with keyward run and reads its secret from its session keyring"
cat > "$DEMO/agent.sh" <<AGENT_SH
#!/bin/sh
# the demo agent: reads its secret, shows only a hash of it, tries another
v=\$($KEYWARD get demo-openai) || { echo "agent: cannot read demo-openai"; exit 1; }
echo "agent: I am \$(id -un); I read demo-openai: \${#v} bytes, sha256 \$(printf %s "\$v" | sha256sum | cut -c1-16)"
unset v
keyctl search @s user keyward:demo-openai > $IO/serial
echo "agent: my key's serial is \$(cat $IO/serial)"
if $KEYWARD get demo-s3 >/dev/null 2>$IO/other.err; then
	echo "agent: I could read demo-s3 (this must not happen)"
else
	echo "agent: demo-s3 was not granted: \$(cat $IO/other.err)"
fi
touch $IO/ready
while [ ! -e $IO/stop ]; do
	if [ -e $IO/reread ]; then
		rm -f $IO/reread
		if v=\$($KEYWARD get demo-openai 2>$IO/err); then
			echo "agent: I read demo-openai again: \${#v} bytes, sha256 \$(printf %s "\$v" | sha256sum | cut -c1-16), same key \$(keyctl search @s user keyward:demo-openai)"
		else
			echo "agent: I cannot read demo-openai any more: \$(cat $IO/err)"
		fi
		unset v
		touch $IO/reread-done
	fi
	sleep 0.1
done
echo "agent: done, exiting (the session closes and its keys are revoked)"
AGENT_SH
chmod 755 "$DEMO/agent.sh"
printf '   $ %s\n' "$KEYWARD run --service $SERVICE --user $AGENT -- $DEMO/agent.sh &"
"$KEYWARD" run --service "$SERVICE" --user "$AGENT" -- "$DEMO/agent.sh" 2>&1 |
    sed -u 's/^/     /' &
runner=$!
i=0
while [ ! -e "$IO/ready" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -e "$IO/ready" ] || { echo "demo: the agent did not start" >&2; exit 1; }
serial=$(cat "$IO/serial")

step "6. Nobody else can read it: the same user in another session, another user, root"
run runuser -u "$AGENT" -- keyctl print "$serial"
run runuser -u "$OTHER" -- keyctl print "$serial"
run keyctl print "$serial"
say "root sees the delivery in the registry (never a value):"
run "$KEYWARD" --root "$ROOT" sessions

step "7. The sysadmin rotates demo-openai: the running agent reads the new value, same key, no restart"
head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$DEMO/openai.value2"
chmod 600 "$DEMO/openai.value2"
say "sha256 of the new value: $(tr -d '\n' < "$DEMO/openai.value2" | sha256sum | cut -c1-16)"
runsh "$KEYWARD --root $ROOT rotate demo-openai < $DEMO/openai.value2"
agent_reread

step "8. Kill switch: revoke every live copy of demo-openai"
run "$KEYWARD" --root "$ROOT" revoke --secret demo-openai
agent_reread

step "9. The agent ends; its session closes"
touch "$IO/stop"
wait "$runner" || true
run keyctl print "$serial"

step "10. The auditor's view"
sleep 1
say "keyward's own records (gate, delivery, update, revocation, vault changes):"
runsh "ausearch -m CRYPTO_KEY_USER,USER_ACCT -ts $started -i 2>/dev/null | grep -e 'op=keyward' | grep -e demo -e $AGENT | sed 's/^.*msg=audit(\([^)]*\)).*msg=.\(.*\).$/\1 \2/' | cut -c1-200 | tail -12"
say "kernel records of keyctl reads of the agent's key (-k keyward):"
runsh "ausearch -k keyward -ts $started -i 2>/dev/null | grep -e 'syscall=keyctl' | grep -e 'a0=0xb\|a0=11\|KEYCTL_READ' | cut -c1-200 | tail -4"
say "joined by keyward audit:"
run "$KEYWARD" audit --since "$started_iso" --secret demo-openai
step "Done. Run 'sh demo/story.sh --clean' (or './demo/run.sh --clean') to remove what the demo made."
