"""Kernel sandboxing for shell commands with bubblewrap (AGENT_LOOP.md §5.3).

Codex 0.169 on Linux runs model commands under bubblewrap (`codex-rs/linux-sandbox/src/bwrap.rs`):
the whole filesystem is mounted read-only, a fresh `/dev` is provided, the writable roots of a
`workspace-write` policy are bound back read-write, and `.git` / `.codex` / `.agents` inside
them are re-bound read-only so the agent cannot rewrite repository or agent metadata. The
network namespace is unshared unless the policy grants network access, and a private PID
namespace with a fresh `/proc` keeps the command from seeing or signalling host processes.

Differences from codex, on purpose:
- no `--new-session`: we spawn every command in its own process group and kill that group;
  bwrap's PID namespace plus `--die-with-parent` make sure nothing inside survives when the
  bwrap process group is killed (the namespace's init dies, and the kernel kills the rest);
- no seccomp filter (codex adds one in-process; it needs its own helper binary);
- protected subpaths that do not exist yet are not masked (codex mounts `/dev/null` over the
  first missing component, which leaves empty placeholder files in the workspace).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from msgspec import Struct

log = logging.getLogger(__name__)

SandboxMode = Literal["read-only", "workspace-write", "danger-full-access", "external"]

PROTECTED_SUBPATH_NAMES: tuple[str, ...] = (".git", ".codex", ".agents")
"""Names under each writable root that stay read-only (codex `default_read_only_subpaths`)."""

BWRAP_PROBE_TIMEOUT_S = 10.0
"""How long the one-time startup probe of the bwrap binary may take before it counts as broken."""

_POLICY_TYPE_TO_MODE: dict[str, SandboxMode] = {
    "dangerFullAccess": "danger-full-access",
    "readOnly": "read-only",
    "workspaceWrite": "workspace-write",
    "externalSandbox": "external",
    # Plain `SandboxMode` strings (thread/start `sandbox`) map to the same modes.
    "danger-full-access": "danger-full-access",
    "read-only": "read-only",
    "workspace-write": "workspace-write",
    "external": "external",
}


def _field(policy: object, *names: str) -> Any:
    """Read a policy field from a pydantic model or a wire-shaped dict (snake or camel case)."""
    for name in names:
        if isinstance(policy, dict):
            if name in policy:
                return policy[name]
        elif hasattr(policy, name):
            return getattr(policy, name)
    return None


class SandboxSpec(Struct, frozen=True):
    """What a command may touch: the resolved form of a thread's sandbox policy."""

    mode: SandboxMode
    cwd: Path
    writable_roots: tuple[Path, ...] = ()
    network: bool = False
    exclude_slash_tmp: bool = False
    exclude_tmpdir_env: bool = False

    @classmethod
    def from_policy(cls, policy: object, cwd: Path) -> SandboxSpec:
        """Build a spec from the wire `SandboxPolicy` (model or dict) or a `SandboxMode` string.

        Network follows codex's `has_full_network_access`: always on for full access, the
        `networkAccess` flag for read-only / workspace-write, `enabled` for an external sandbox.
        """
        kind = policy if isinstance(policy, str) else _field(policy, "type")
        mode = _POLICY_TYPE_TO_MODE.get(str(kind))
        if mode is None:
            raise ValueError(f"unknown sandbox policy: {policy!r}")
        if isinstance(policy, str):
            return cls(mode=mode, cwd=cwd, network=mode == "danger-full-access")
        access = _field(policy, "network_access", "networkAccess")
        if mode == "danger-full-access":
            return cls(mode=mode, cwd=cwd, network=True)
        if mode == "external":
            return cls(mode=mode, cwd=cwd, network=access == "enabled")
        if mode == "read-only":
            return cls(mode=mode, cwd=cwd, network=bool(access))
        roots = _field(policy, "writable_roots", "writableRoots") or []
        return cls(
            mode=mode,
            cwd=cwd,
            writable_roots=tuple(Path(r) for r in roots),
            network=bool(access),
            exclude_slash_tmp=bool(_field(policy, "exclude_slash_tmp", "excludeSlashTmp")),
            exclude_tmpdir_env=bool(
                _field(policy, "exclude_tmpdir_env_var", "excludeTmpdirEnvVar")
            ),
        )

    @property
    def enforced(self) -> bool:
        """Whether commands must run under kernel enforcement (read-only / workspace-write)."""
        return self.mode in ("read-only", "workspace-write")

    def writable_paths(self) -> list[Path]:
        """Where writes are allowed: `[/]` for full access, nothing for read-only.

        For workspace-write: cwd, the configured roots, `/tmp` (when it is a directory) and
        `$TMPDIR` (when set to an absolute path) unless excluded — codex's
        `get_writable_roots_with_cwd`.
        """
        if self.mode in ("danger-full-access", "external"):
            return [Path("/")]
        if self.mode == "read-only":
            return []
        candidates: list[Path] = [self.cwd, *self.writable_roots]
        if not self.exclude_slash_tmp and Path("/tmp").is_dir():
            candidates.append(Path("/tmp"))
        tmpdir = os.environ.get("TMPDIR", "")
        if not self.exclude_tmpdir_env and tmpdir and os.path.isabs(tmpdir):
            candidates.append(Path(tmpdir))
        unique: list[Path] = []
        for path in candidates:
            if path not in unique:
                unique.append(path)
        return unique

    def read_only_subpaths(self) -> list[Path]:
        """Existing `.git` / `.codex` / `.agents` under each writable root (they stay read-only).

        A `.git` file that points at a separate git dir (worktrees, submodules) protects that
        git dir too, as codex does.
        """
        if self.mode != "workspace-write":
            return []
        found: list[Path] = []
        for root in self.writable_paths():
            for name in PROTECTED_SUBPATH_NAMES:
                sub = root / name
                if name == ".git" and sub.is_file():
                    gitdir = _gitdir_from_pointer(sub)
                    if gitdir is not None:
                        found.append(gitdir)
                    found.append(sub)
                elif sub.is_dir():
                    found.append(sub)
        unique: list[Path] = []
        for path in found:
            if path not in unique:
                unique.append(path)
        return unique


def _gitdir_from_pointer(dot_git: Path) -> Path | None:
    """Resolve a `gitdir: <path>` pointer file; None when it is not one or the dir is missing."""
    try:
        content = dot_git.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    prefix, sep, raw = content.partition(":")
    if not sep or prefix.strip() != "gitdir" or not raw.strip():
        return None
    target = Path(raw.strip())
    if not target.is_absolute():
        target = dot_git.parent / target
    return target if target.is_dir() else None


def _is_within(path: str, roots: Sequence[str]) -> bool:
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)


def sandbox_argv(
    spec: SandboxSpec, argv: Sequence[str], bwrap: str, *, chdir: Path | None = None
) -> list[str]:
    """The bwrap command line that runs `argv` under `spec` (unchanged when not enforced), in
    `chdir` (default: the spec's cwd).

    Mount order matters: `--ro-bind / /` first, then `--dev /dev`, then the writable binds
    (only paths that exist; symlinks are bound at their real location), then the protected
    subpaths re-bound read-only so they win over their writable parent.
    """
    if not spec.enforced:
        return list(argv)
    args = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev"]
    bound: list[str] = []
    for path in spec.writable_paths():
        real = os.path.realpath(path)
        if real in bound or not os.path.exists(real):
            continue
        bound.append(real)
        args += ["--bind", real, real]
    protected: list[str] = []
    for sub in spec.read_only_subpaths():
        real = os.path.realpath(sub)
        if real in protected or not os.path.exists(real) or not _is_within(real, bound):
            continue
        protected.append(real)
        args += ["--ro-bind", real, real]
    if not spec.network:
        args.append("--unshare-net")
    args += ["--unshare-pid", "--die-with-parent", "--proc", "/proc"]
    args += ["--chdir", str(chdir or spec.cwd), "--", *argv]
    return args


_probe_lock = threading.Lock()
_probe_results: dict[str, bool] = {}


def _probe(bwrap: str) -> bool:
    """Run `true` under the strictest flags we use; True when bwrap works on this machine."""
    true_bin = shutil.which("true") or "/bin/true"
    argv = sandbox_argv(SandboxSpec(mode="read-only", cwd=Path("/")), [true_bin], bwrap)
    try:
        result = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=BWRAP_PROBE_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("bubblewrap at %s cannot run: %s", bwrap, exc)
        return False
    if result.returncode != 0:
        detail = result.stderr.decode("utf-8", "replace").strip()
        log.warning(
            "bubblewrap at %s does not work here (exit %s): %s", bwrap, result.returncode, detail
        )
        return False
    return True


def find_bwrap(configured: str | None = None) -> str | None:
    """The bwrap executable to use, or None when it is missing or does not work.

    Uses `configured` when given, else `bwrap` on PATH. Each path is probed once (a real
    sandboxed `true`) and the verdict cached. This blocks for the probe: call it once at
    startup in a worker thread (`await asyncio.to_thread(find_bwrap, path)`).
    """
    path = configured or shutil.which("bwrap")
    if not path:
        return None
    with _probe_lock:
        if path not in _probe_results:
            _probe_results[path] = _probe(path)
        return path if _probe_results[path] else None
