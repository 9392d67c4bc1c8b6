#!/bin/sh
# tests/run-all.sh - the README's test command: installs dependencies (as
# root), starts auditd, builds in ./build with --enable-werror and runs the
# whole suite (make check), root tests included.
set -eu
cd "$(dirname "$0")/.."
if [ "$(id -u)" -eq 0 ]; then
	./tests/install-deps.sh
	./tests/start-auditd.sh
fi
autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
mkdir -p build
cd build
../configure --enable-werror >/dev/null
make -j"$(nproc)" >/dev/null
if ! make -j1 check; then
	cat test-suite.log | tail -300
	exit 1
fi
