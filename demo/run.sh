#!/bin/sh
# demo/run.sh - the README's first command. On a fresh Debian 12 machine, as
# root: installs the packages keyward needs, starts auditd, builds, installs
# keyward (prefix /usr, /etc, /var, /run, the system's PAM directory) and
# runs the end-to-end story (demo/story.sh) against the installed files.
#   ./demo/run.sh           build, install, tell the story (can be re-run)
#   ./demo/run.sh --clean   remove everything the story made (see story.sh)
set -eu
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
	echo "demo: run me as root (it installs packages and keyward)" >&2
	exit 1
fi
if [ "${1:-}" = "--clean" ]; then
	exec sh demo/story.sh --clean
fi

echo "== demo: installing packages and starting auditd"
./tests/install-deps.sh
./tests/start-auditd.sh

echo "== demo: building and installing keyward"
secdir=$(dirname "$(dpkg -L libpam-modules | grep '/pam_unix\.so$' | head -1)")
autoreconf -fi >/dev/null 2>&1
mkdir -p build-demo
cd build-demo
../configure --prefix=/usr --sysconfdir=/etc --localstatedir=/var \
	--runstatedir=/run --libdir=/usr/lib/"$(gcc -print-multiarch)" \
	--with-securedir="$secdir" >/dev/null
make -j"$(nproc)" >/dev/null
make install >/dev/null
ldconfig
cd ..
echo "installed: $(command -v keyward) ($(keyward --version)), $secdir/pam_keyward.so"

exec sh demo/story.sh
