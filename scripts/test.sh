#!/usr/bin/env bash
# Install rdpdoctor with its test extras into a fresh venv (.venv-test) and run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
rm -rf .venv-test
"$PY" -m venv .venv-test
.venv-test/bin/python -m pip install -q --upgrade pip
.venv-test/bin/python -m pip install -q -e '.[dev]'
.venv-test/bin/python -m pytest -q "$@"
