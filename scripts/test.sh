#!/usr/bin/env bash
# Install everything the tests need (Chromium included) and run the whole test suite.
# PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) must be running; with CI=true a missing
# service is a test failure, otherwise those tests are skipped with a reason.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --dev
bash scripts/services.sh || true
exec .venv/bin/python -m pytest "$@"
