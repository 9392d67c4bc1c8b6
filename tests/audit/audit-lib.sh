# tests/audit/audit-lib.sh - helpers for the audit tests (sourced after
# tests/lib.sh): a running auditd, keyward's kernel rules loaded (only the
# missing ones, removed again at exit, the backlog limit restored), a
# throw-away agent user, and a key delivered the way pam_keyward does.

KW_RULES="$top_srcdir/packaging/audit/keyward.rules"
KW_EMIT="$top_builddir/tests/audit/kw_emit"
KW_AGENT="$top_builddir/tests/audit/kw_agent"

# load_rules: add those of keyward.rules that are not loaded yet; at exit
# delete exactly those and put the backlog limit back.
load_rules() {
	local old_backlog rule
	old_backlog=$(auditctl -s | sed -n 's/^backlog_limit //p')
	auditctl -b 8192 >/dev/null
	at_exit "auditctl -b $old_backlog"
	# auditctl refuses a rule that exists: what it accepts, we added
	grep '^-a ' "$KW_RULES" | while IFS= read -r rule; do
		# shellcheck disable=SC2086
		auditctl $rule >/dev/null 2>&1 && echo "$rule"
	done >"$KW_TMP/added-rules"
	while IFS= read -r rule; do
		at_exit "auditctl $(echo "$rule" | sed 's/^-a /-d /')"
	done <"$KW_TMP/added-rules"
}

# new_agent: a throw-away user, removed at exit; sets AGENT.
new_agent() {
	AGENT="kwa$$$(printf '%s' "${1:-}" | tr -cd 'a-z')"
	useradd -M -s /usr/sbin/nologin "$AGENT" || skip "useradd failed"
	at_exit "userdel -f $AGENT"
}

# as_agent CMD...: run CMD as $AGENT in the current session keyring.
as_agent() {
	setpriv --reuid="$AGENT" --regid="$AGENT" --clear-groups "$@"
}

# deliver NAME VALUE: in the current session keyring, a root-owned user
# key keyward:NAME holding VALUE (from stdin, never argv) with possessor
# view|read|search and owner view|write|setattr; prints its serial.
deliver() {
	local id
	id=$(printf '%s' "$2" | keyctl padd user "keyward:$1" @s) || return 1
	keyctl setperm "$id" 0x0b250000 || return 1
	echo "$id"
}
