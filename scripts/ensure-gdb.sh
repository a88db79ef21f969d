#!/usr/bin/env bash
# Installs gdb (Debian's package) if it is missing: the debugger tests (tests/debugger.rs) drive it. Run by those
# tests themselves when they find no gdb, and by .ci/run before the test suite.
set -euo pipefail
if command -v gdb > /dev/null; then
    exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq gdb > /dev/null
gdb --version | head -1
