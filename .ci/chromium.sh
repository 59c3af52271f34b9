#!/usr/bin/env bash
# Install Debian's chromium when it is missing: the report test (tests/viz/test_viz_report.py)
# opens report.html in headless Chromium and is skipped without it.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y chromium
