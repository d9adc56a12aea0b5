"""Which interpreter `scripts/_venv.sh` makes a new `.venv` from (`make_venv`).

The script prefers the distribution's own Python (built with profile-guided optimisation) over
the `python3` first on PATH, which may be a slower self-built one. The interpreters here are
small shell scripts standing in for Python: they answer the version check and `-m venv DIR` and
record which of them made the venv.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "_venv.sh"


def fake_python(path: Path, *, recent: bool = True, can_make_venv: bool = True) -> Path:
    """An executable answering like a Python of 3.11+ (`recent`) or 3.9, whose `-m venv DIR`
    creates DIR with a `made-by` file naming it, or fails as Debian's does without its venv
    package (after creating part of DIR)."""
    version_check = 0 if recent else 1
    venv = (
        'mkdir -p "$3/bin"; echo "$0" > "$3/made-by"; exit 0'
        if can_make_venv
        else 'mkdir -p "$3"; echo "ensurepip is not available" >&2; exit 1'
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "#!/bin/sh\n"
        'case "$1" in\n'
        f"  -c) exit {version_check} ;;\n"
        f'  --version) echo "Python {"3.11.9" if recent else "3.9.2"}" ;;\n'
        f"  -m) {venv} ;;\n"
        "esac\n"
    )
    path.chmod(0o755)
    return path


def make_venv(
    tmp_path: Path, system_python: Path, python_env: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `make_venv` with `system_python` as the distribution's interpreter and
    `tmp_path/bin` first on PATH (its `python3`, if any, is the one on PATH)."""
    env = {"PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin"}
    if python_env is not None:
        env["PYTHON"] = python_env
    return subprocess.run(
        [
            "bash",
            "-c",
            f'source "{SCRIPT}"; SYSTEM_PYTHON="{system_python}"; '
            f'VENV="{tmp_path / "venv"}"; make_venv',
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def made_by(tmp_path: Path) -> str:
    return (tmp_path / "venv" / "made-by").read_text().strip()


def test_a_new_venv_is_made_from_the_system_python_when_it_is_recent_enough(
    tmp_path: Path,
) -> None:
    system = fake_python(tmp_path / "system" / "python3")
    fake_python(tmp_path / "bin" / "python3")
    result = make_venv(tmp_path, system)
    assert result.returncode == 0, result.stderr
    assert made_by(tmp_path) == str(system)


@pytest.mark.parametrize("why", ["too old", "cannot make a venv", "missing"])
def test_an_unusable_system_python_is_passed_over_for_python3_on_path(
    tmp_path: Path, why: str
) -> None:
    system = tmp_path / "system" / "python3"
    if why != "missing":
        fake_python(system, recent=why != "too old", can_make_venv=why != "cannot make a venv")
    on_path = fake_python(tmp_path / "bin" / "python3")
    result = make_venv(tmp_path, system)
    assert result.returncode == 0, result.stderr
    assert made_by(tmp_path) == str(on_path)


def test_PYTHON_decides_when_set(tmp_path: Path) -> None:
    system = fake_python(tmp_path / "system" / "python3")
    chosen = fake_python(tmp_path / "chosen" / "python")
    result = make_venv(tmp_path, system, python_env=str(chosen))
    assert result.returncode == 0, result.stderr
    assert made_by(tmp_path) == str(chosen)


def test_an_old_PYTHON_is_refused_with_its_version(tmp_path: Path) -> None:
    system = fake_python(tmp_path / "system" / "python3")
    old = fake_python(tmp_path / "old" / "python", recent=False)
    result = make_venv(tmp_path, system, python_env=str(old))
    assert result.returncode == 1
    assert "needs Python 3.11 or newer" in result.stderr
    assert "Python 3.9.2" in result.stderr
    assert not (tmp_path / "venv").exists()


def test_a_failed_venv_leaves_no_partial_directory(tmp_path: Path) -> None:
    system = fake_python(tmp_path / "system" / "python3", can_make_venv=False)
    result = make_venv(tmp_path, system, python_env=str(system))
    assert result.returncode == 1
    assert "ensurepip is not available" in result.stderr
    assert not (tmp_path / "venv").exists()
