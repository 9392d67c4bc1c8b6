#!/bin/sh
# tests/install-deps.sh - install what keyward needs to build and test on
# Debian 12 (root). Idempotent.
set -eu
PKGS="build-essential autoconf automake libtool pkg-config
libpam0g-dev libkeyutils-dev keyutils libaudit-dev libauparse-dev auditd
libssl-dev libcunit1-dev pamtester libcap2-bin util-linux passwd login groff-base clang libclang-rt-14-dev
debhelper dpkg-dev lintian rpm fakeroot man-db
cppcheck clang-tools clang-tidy valgrind strace gdb python3 procps
openssh-server openssh-client"
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: must be run as root" >&2
	exit 1
fi
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
echo "install-deps: all packages present"
