#!/usr/bin/env bash
# Makes sure Debian's chromium and chromium-driver are installed for the browser tests.
# Installs them with apt-get only when they are missing and we are root; never downloads a
# browser build of its own. When they cannot be installed it says so and exits 0: the browser
# tests then fail with the same message instead of silently passing.
set -uo pipefail

CHROMIUM="${OUTREACH_MONITOR_CHROMIUM:-/usr/bin/chromium}"
DRIVER="${OUTREACH_MONITOR_CHROMEDRIVER:-/usr/bin/chromedriver}"

if [ -x "$CHROMIUM" ] && [ -x "$DRIVER" ]; then
    exit 0
fi
if [ "$(id -u)" != "0" ]; then
    echo "ensure-chromium: $CHROMIUM or $DRIVER is missing and we are not root;" \
         "install them with: sudo apt-get install chromium chromium-driver" >&2
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-chromium: $CHROMIUM or $DRIVER is missing and there is no apt-get here" >&2
    exit 0
fi
echo "Installing chromium and chromium-driver (Debian packages) for the browser tests ..." >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q --no-install-recommends chromium chromium-driver >/tmp/ensure-chromium.log 2>&1; then
    # The package lists may be missing or stale on a fresh machine.
    apt-get update -q >>/tmp/ensure-chromium.log 2>&1 || true
    if ! apt-get install -y -q --no-install-recommends chromium chromium-driver >>/tmp/ensure-chromium.log 2>&1; then
        echo "ensure-chromium: apt-get could not install chromium chromium-driver (see /tmp/ensure-chromium.log)" >&2
        tail -n 5 /tmp/ensure-chromium.log >&2 || true
    fi
fi
exit 0
