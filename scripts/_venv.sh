# Sourced by scripts/run and scripts/test: create .venv on first use and keep it in step with
# pyproject.toml (reinstalls only when pyproject.toml changed since the last install).
# Usage: ensure_venv EXTRAS   (EXTRAS is "" or "[dev]")
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv"

ensure_venv() {
    local extras="$1"
    local stamp="$VENV/.installed$extras"
    local python="${PYTHON:-python3}"
    if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        echo "app-server needs Python 3.11 or newer (found: $("$python" --version 2>&1))" >&2
        exit 1
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        "$python" -m venv "$VENV"
    fi
    if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$ROOT$extras" >&2
        touch "$stamp"
    fi
}
