#!/usr/bin/env bash
# Creates .venv and installs the project into it (editable, with the dev tools) when
# pyproject.toml has changed since the last install. Safe to run any number of times.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"

if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "outreach-monitor needs Python 3.11 or newer (found: $("$PY" --version 2>&1))." >&2
    exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
    echo "Creating virtual environment in .venv ..." >&2
    "$PY" -m venv "$VENV"
fi
STAMP="$VENV/.installed"
WANT="$(cat "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
    echo "Installing outreach-monitor and its dependencies into .venv ..." >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$ROOT[dev]" >&2
    echo "$WANT" > "$STAMP"
fi
