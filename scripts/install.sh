#!/usr/bin/env bash
# Install Aiguillage into a project-local virtual environment (.venv).
#   scripts/install.sh          runtime only
#   scripts/install.sh --dev    + test tools and the system packages the tests need (Chromium)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  echo "Python 3.11 ou plus récent est requis (trouvé : $("$PYTHON" --version 2>&1))." >&2
  exit 1
fi

if [ "${1:-}" = "--dev" ] && { [ ! -x /usr/bin/chromium ] || ! dpkg -s fonts-noto-color-emoji fonts-dejavu-core >/dev/null 2>&1; }; then
  echo "==> Installation de Chromium, d'une police emoji et de DejaVu (widget dans un vrai navigateur, PDF de la console)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-noto-color-emoji fonts-dejavu-core >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  echo "==> Création de l'environnement .venv"
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
if [ "${1:-}" = "--dev" ]; then
  echo "==> Installation d'Aiguillage et des outils de test"
  .venv/bin/python -m pip install --quiet -e ".[dev]"
else
  echo "==> Installation d'Aiguillage"
  .venv/bin/python -m pip install --quiet -e .
fi

echo "==> Base de données et contenu (SQLite par défaut)"
.venv/bin/aiguillage db upgrade
.venv/bin/aiguillage kb load
echo "==> Modèle de langage"
.venv/bin/aiguillage nlu train
