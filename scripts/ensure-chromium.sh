#!/usr/bin/env bash
# Installs Chromium (Debian's package) if it is missing: the explorer's browser test (crates/explorer/tests/browser.rs)
# loads `weft explore`'s page in it headless, and scripts/explore-screenshot.sh takes the docs' screenshot with it.
# Run by that test itself when it finds no /usr/bin/chromium, and by .ci/run before the test suite.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium > /dev/null
/usr/bin/chromium --version
