#!/bin/sh
# batch.sh - keyward's own record writer (several records a sendto(), their
# acknowledgements read together): every record of a batch larger than
# one send reaches the audit log, once, in order, in the text libaudit's
# audit_log_user_message() writes; an executable path that needs encoding
# is written as libaudit writes it (hex) and ausearch -i decodes it; a
# process without CAP_AUDIT_WRITE is refused at the batch's first record.
# Real auditd, read back with ausearch.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/audit/audit-lib.sh"
need_root
export LC_ALL=C
need_auditd
new_agent bat
START=$(date +%s)
TS_START=$(date -d "@$START" '+%x %H:%M:%S')
sleep 1

# records of secret $1 since the start, raw, in the order of their events
records() {
	ausearch -m CRYPTO_KEY_USER -ts $TS_START 2>/dev/null |
	    grep -F "kw_secret=\"$1\"" || true
}

# 1. 150 records: the first alone, then sends of 64, 64 and 21
S1="kwbatch-$$"
expect_status 0 "a batch of 150 update records (required mode)" \
    "$KW_EMIT" batch 150 "$S1" root
sleep 1
recs=$(records "$S1")
n=$(printf '%s\n' "$recs" | grep -c 'op=keyward-update' || true)
check "ausearch finds all 150 records of the batch, not $n" [ "$n" -eq 150 ]
serials=$(printf '%s\n' "$recs" | sed -n 's/.* kw_serial=\([0-9]*\) .*/\1/p' |
    tr '\n' ' ')
check "their kw_serial= run 1..150 in the order the kernel stamped them" \
    [ "$serials" = "$(seq 1 150 | tr '\n' ' ')" ]
first=$(printf '%s\n' "$recs" | head -n 1)
tail="acct=\"root\" exe=\"$(readlink -f "$KW_EMIT")\" hostname=? addr=?"
check "the record's text ends as libaudit's does" contains "$first" \
    "$tail terminal=? res=success'"
check "the record carries the kernel's uid=0" contains "$first" " uid=0 "

# 2. an executable path with a blank: hex, as libaudit encodes it
S2="kwbatchx-$$"
mkdir -p "$KW_TMP/with space"
cp "$KW_EMIT" "$KW_TMP/with space/kw emit"
expect_status 0 "a record from an executable whose path has a blank" \
    "$KW_TMP/with space/kw emit" batch 1 "$S2" root
sleep 1
hex=$(printf '%s' "$KW_TMP/with space/kw emit" | od -An -tx1 |
    tr -d ' \n' | tr a-f A-F)
check "exe= is the path in upper-case hex" \
    contains "$(records "$S2")" " exe=$hex "
interp=$(ausearch -m CRYPTO_KEY_USER -ts $TS_START -i 2>/dev/null |
    grep -F "kw_secret=\"$S2\"" || true)
check "ausearch -i decodes it to the path" contains "$interp" \
    "exe=$KW_TMP/with space/kw emit "

# 3. no CAP_AUDIT_WRITE: refused at once, at the first record
S3="kwbatchp-$$"
expect_status 1 "an agent without CAP_AUDIT_WRITE writes a batch" \
    as_agent "$KW_EMIT" -b batch 100 "$S3" "$AGENT"
check "refused at record 1, not later" contains "$err" "record 1:"
check "the refusal says why" contains "$err" "no CAP_AUDIT_WRITE"
check "and is fatal even in best-effort mode" contains "$err" "(fatal)"
sleep 1
check "no record of that batch in the log" [ -z "$(records "$S3")" ]
finish
