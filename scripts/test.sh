#!/usr/bin/env bash
# Install rdpdoctor with its test extras into a fresh venv (.venv-test) and run every test.
# This is the README's test command; .ci/run runs exactly this from a clean clone.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

# Headless Chromium for the HTML-report browser test (Debian packages). Only as root on a
# Debian-like machine and only when missing; the test skips with a reason otherwise.
if [ -z "${RDPDOCTOR_NO_APT:-}" ] && ! command -v chromium >/dev/null 2>&1 \
   && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "note: could not install chromium; browser tests will be skipped" >&2
fi

rm -rf .venv-test
"$PY" -m venv .venv-test
.venv-test/bin/python -m pip install -q --upgrade pip
# RDPDOCTOR_CONSTRAINTS=.ci/lowest-versions.txt: the lowest versions pyproject.toml allows
.venv-test/bin/python -m pip install -q -e '.[dev]' ${RDPDOCTOR_CONSTRAINTS:+-c "$RDPDOCTOR_CONSTRAINTS"}
.venv-test/bin/python -m pytest -q -p no:cacheprovider "$@"
