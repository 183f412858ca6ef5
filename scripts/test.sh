#!/usr/bin/env bash
# The README's test command: installs what the tests need, then runs them.
#
# The tests use real tools and refuse to skip when one is missing: Debian's pocketsphinx with its
# US English model and test recordings (consent checks on real speech), a current ffmpeg (dhp
# itself falls back to the one npm installs), Flite (a second synthesizer whose voices the consent
# tests use as out-of-sample speech), and Chromium for the console's browser tests
# (driven by playwright-core, which downloads no browser). Installed only when missing, so a
# second run installs nothing; needs root or sudo the first time.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg in pocketsphinx pocketsphinx-en-us pocketsphinx-testdata ffmpeg chromium flite; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null; then
    echo "scripts/test.sh: the tests need ${need[*]} (Debian packages); install them, then run npm ci && npm test" >&2
    exit 1
  fi
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

node --version
npm --version
npm ci
npm test
