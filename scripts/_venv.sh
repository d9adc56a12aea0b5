# Sourced by scripts/run and scripts/test: create .venv on first use and keep it in step with
# pyproject.toml (reinstalls only when pyproject.toml changed since the last install).
# Usage: ensure_venv EXTRAS   (EXTRAS is "" or "[dev]")
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv"

# The distribution's own interpreter, preferred for a new .venv when it is 3.11 or newer:
# distributions build it with profile-guided and link-time optimisation, a self-built one
# (pyenv's default build, for one) without. On the benchmark machine the server answers its
# first turn 18% sooner on Debian's 3.11 than on pyenv's (267 vs 326 ms, README "Benchmarks").
SYSTEM_PYTHON=/usr/bin/python3

supports_app_server() {
    "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1
}

# Make $VENV from $PYTHON when set; else from $SYSTEM_PYTHON when it is 3.11+ and can make a
# venv (Debian needs its python3-venv package for that); else from python3 on PATH.
make_venv() {
    local candidates python failure=""
    if [ -n "${PYTHON:-}" ]; then
        candidates=("$PYTHON")
    else
        candidates=("$SYSTEM_PYTHON" python3)
    fi
    for python in "${candidates[@]}"; do
        command -v "$python" >/dev/null 2>&1 || continue
        if ! supports_app_server "$python"; then
            failure="$python is $("$python" --version 2>&1)"
            continue
        fi
        if failure=$("$python" -m venv "$VENV" 2>&1); then
            return 0
        fi
        rm -rf "$VENV"
    done
    echo "app-server needs Python 3.11 or newer with venv (tried: ${candidates[*]})" >&2
    [ -z "$failure" ] || echo "$failure" >&2
    exit 1
}

ensure_venv() {
    local extras="$1"
    local stamp="$VENV/.installed$extras"
    if [ ! -x "$VENV/bin/python" ]; then
        make_venv
    fi
    if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$ROOT$extras" >&2
        touch "$stamp"
    fi
}
