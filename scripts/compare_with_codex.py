#!/usr/bin/env python3
"""Differential check (issue 16, not part of CI): run the same request sequences against codex
0.169.0's `codex app-server` and against ours (`.venv/bin/app-server`), both over stdio, each with
temp CODEX_HOME/HOME and a config.toml pointing at the fake model server
(`tests.support.model_server.ModelServer`, started in-process on 127.0.0.1), and print every
difference in result shape, notification order and notification params shape. Values that
naturally differ (ids, timestamps, paths, text) are reduced to their types; see
`codex_compare/shapes.py`.

Usage: scripts/compare_with_codex.py [SCENARIO-SUBSTRING ...] [--quiet] [--progress]
[--scratch=DIR] [--help] (a substring runs only the scenarios whose name holds it; --help lists
them; --scratch: see `SCRATCH`)
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.codex_compare.compare import step_differences  # noqa: E402
from scripts.codex_compare.peer import Observation, Peer  # noqa: E402
from scripts.codex_compare.scenarios import SCENARIOS  # noqa: E402
from scripts.codex_compare.steps import Call, Scenario  # noqa: E402
from tests.support.model_server import ModelServer  # noqa: E402

TURN_METADATA = "x-codex-turn-metadata"
CODEX_VERSION = "0.169.0"
KNOWN_CODEX = Path("/tmp/codexref/node_modules/.bin/codex")
OURS = ROOT / ".venv" / "bin" / "app-server"
PROGRESS = "--progress" in sys.argv
SCRATCH = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--scratch=")), None)
"""Where each peer's temp root (CODEX_HOME, HOME, workspace) goes; default: the temp dir. Codex
refuses to set up its sandbox helper (`codex-linux-sandbox`) under its temp dir, so that every
sandboxed `command/exec` fails there ("bwrap: execvp codex-linux-sandbox"): compare sandboxed
commands with `--scratch=DIR` outside `$TMPDIR`, from a cwd outside any git repository."""
INITIALIZE = Call(
    "initialize",
    {"clientInfo": {"name": "compare", "version": "1"}, "capabilities": {"experimentalApi": True}},
)


def codex_binary(version: str = CODEX_VERSION) -> Path:
    """The codex CLI of `version` (the pinned one unless a scenario names a later one for the
    methods it added), installed with npm into a temp dir when missing."""
    if version == CODEX_VERSION and KNOWN_CODEX.exists():
        return KNOWN_CODEX
    folder = "codexref" if version == CODEX_VERSION else f"codex-{version}"
    prefix = Path(os.environ.get("TMPDIR", "/tmp")) / folder
    binary = prefix / "node_modules" / ".bin" / "codex"
    if not binary.exists():
        subprocess.run(
            ["npm", "install", "--prefix", str(prefix), f"@openai/codex@{version}"],
            check=True,
        )
    return binary


def model_requests(model: ModelServer) -> Observation:
    """The requests the model saw, as one observation: path and `x-codex-turn-metadata`."""
    seen = []
    for request in model.requests:
        raw = request.headers.get(TURN_METADATA)
        seen.append({"endpoint": request.path, TURN_METADATA: json.loads(raw) if raw else None})
    return Observation(label="model requests", result=seen)


async def observe(name: str, command: list[str], scenario: Scenario) -> list[Observation]:
    """Run the scenario against one server; one observation per step (handshake first)."""
    with tempfile.TemporaryDirectory(prefix=f"compare-{name}-", dir=SCRATCH) as root:
        async with ModelServer() as model:
            peer = Peer(name, command, Path(root), model)
            await peer.start()
            try:
                observations = [await peer.run(INITIALIZE)]
                await peer.notify("initialized")
                for step in scenario.steps:
                    if PROGRESS:
                        print(f"  [{name}] {scenario.name}: {step}"[:160], file=sys.stderr)
                    observations.append(await peer.run(step))
            except TimeoutError:
                observations.append(Observation(label="(timed out)"))
            finally:
                await peer.stop()
            observations.append(model_requests(model))
            return observations


async def main(argv: list[str]) -> int:
    if "--help" in argv or "-h" in argv:
        print(__doc__)
        print("Scenarios:", *(f"  {scenario.name}" for scenario in SCENARIOS), sep="\n")
        return 0
    quiet = "--quiet" in argv
    wanted = [arg for arg in argv if not arg.startswith("--")]
    totals: list[tuple[str, int]] = []
    for scenario in SCENARIOS:
        if wanted and not any(w in scenario.name for w in wanted):
            continue
        codex = [str(codex_binary(scenario.codex_version)), "app-server"]
        theirs = await observe("codex", codex, scenario)
        ours = await observe("ours", [str(OURS)], scenario)
        count = 0
        print(f"=== {scenario.name} (codex {scenario.codex_version})")
        for index, (a, b) in enumerate(zip(ours, theirs, strict=False)):
            lines = (
                step_differences(a, b)
                if a.label == b.label
                else [f"ours {a.label!r}, codex {b.label!r}"]
            )
            count += len(lines)
            if lines and not quiet:
                print(f"  step {index} {b.label}:")
                for line in lines:
                    print(f"    {line}")
        if len(ours) != len(theirs):
            count += 1
            print(f"  steps run: ours {len(ours)}, codex {len(theirs)}")
        totals.append((scenario.name, count))
    print("=== summary")
    for name, count in totals:
        print(f"  {count:4d}  {name}")
    print(f"  {sum(c for _, c in totals):4d}  overall")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
