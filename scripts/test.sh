#!/usr/bin/env bash
# Installs everything the tests need on a fresh machine, then runs lint, types and every test.
# .ci/run calls this; so can a developer. Safe to run again: each step skips what is present.
set -euo pipefail
cd "$(dirname "$0")/.."

# A real OpenSSH sshd for the SFTP tests (the fixture starts its own on a free loopback port).
if ! [ -x /usr/sbin/sshd ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq openssh-server openssh-client >/dev/null
fi

# Headless Chromium for the console's browser tests, from Debian (Playwright drives it; its
# own browser download is never used: `playwright install` is not run).
if ! [ -x /usr/bin/chromium ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
fi

python3 -m pip install -q --disable-pip-version-check -e '.[test]'

# Amazon's official schemas and API models, which some tests check against (tests/amazon_spec.py).
# A given SHIPFEED_AMAZON_SPEC wins; then a ../shared/spec/amazon beside the clone; else the pinned
# files are downloaded (sha256-checked, cached). If that fails too, exactly those tests skip and
# say so in one line (under CI=true they fail).
if [ -z "${SHIPFEED_AMAZON_SPEC:-}" ]; then
    if [ -d ../shared/spec/amazon ]; then
        export SHIPFEED_AMAZON_SPEC="$(cd ../shared/spec/amazon && pwd)"
    elif fetched="$(python3 scripts/fetch_amazon_spec.py)"; then
        export SHIPFEED_AMAZON_SPEC="$fetched"
    fi
fi

python3 -m ruff check .
python3 -m ruff format --check .
python3 -m mypy .
python3 -m pytest -q -p no:cacheprovider "$@"
