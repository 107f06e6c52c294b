#!/usr/bin/env bash
# Install (if needed) and start the assistant in the terminal, on the embedded SQLite default.
# Other modes once installed: .venv/bin/aiguillage serve (web widget on http://127.0.0.1:8000/),
# .venv/bin/aiguillage telegram, .venv/bin/aiguillage --help
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/aiguillage ] || [ pyproject.toml -nt .venv/bin/aiguillage ]; then
  bash scripts/install.sh
fi
exec .venv/bin/aiguillage chat "$@"
