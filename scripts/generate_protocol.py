#!/usr/bin/env python3
"""Generate `protocol/types.py` and `protocol/methods.py` from the upstream JSON Schema bundle.

Why generated: the upstream bundle (codex 0.169.0, produced by schemars from Rust) is the wire
contract. Generating the pydantic models from it, as lsprotocol is generated from the LSP
meta-model, keeps every field name, required flag, default and enum value in step with the
contract instead of copying hundreds of types by hand.

What it generates: every type reachable from the client requests in `CLIENT_METHODS`, the server
requests in `SERVER_REQUEST_METHODS`, and every server notification. The experimental bundle is
the source (it is a superset); comparing it with the stable bundle tells which methods and fields
are experimental. The output is formatted with ruff and is byte-for-byte reproducible; a test
regenerates it and fails when the committed files are stale.

This module is the command line; the parts live beside it: `protocol_gen_bundle` reads the
bundle, `protocol_gen_methods` picks the methods (`CLIENT_METHODS`, `SERVER_REQUEST_METHODS`),
`protocol_gen_schema` turns JSON Schema into the specs of `protocol_gen_specs`,
`protocol_gen_models` renders `protocol/models/` (grouped by `protocol_layout`), and
`protocol_gen_index` renders `protocol/types.py` and `protocol/methods.py`.

Usage: python scripts/generate_protocol.py [--schema-dir DIR] [--out-dir DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script: `scripts` is then not importable

from scripts.protocol_gen_bundle import (  # noqa: E402
    DEFAULT_SCHEMA_DIR,
    UPSTREAM_VERSION,
    load_definitions,
)
from scripts.protocol_gen_index import ALL_OPTIONAL, render_index, render_methods  # noqa: E402
from scripts.protocol_gen_methods import build, mark_experimental  # noqa: E402
from scripts.protocol_gen_models import MODELS_INIT, module_layout, render_module  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schema-dir", type=Path, default=DEFAULT_SCHEMA_DIR)
    parser.add_argument("--out-dir", type=Path, default=ROOT / "protocol")
    args = parser.parse_args()
    folder = args.schema_dir / f"codex-app-server-{UPSTREAM_VERSION}"
    exp_defs = load_definitions(folder.with_name(folder.name + "-experimental"), experimental=True)
    stable_defs = load_definitions(folder, experimental=False)
    exp, roots = build(exp_defs)
    stable, stable_roots = build(stable_defs)
    mark_experimental(exp, stable)
    for params, _ in roots["client"].values():
        if params is not None:
            ALL_OPTIONAL[params] = not exp_defs[params].get("required")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    types_path = args.out_dir / "types.py"
    methods_path = args.out_dir / "methods.py"
    models_dir = args.out_dir / "models"
    models_dir.mkdir(exist_ok=True)
    for stale in models_dir.glob("*.py"):
        stale.unlink()
    modules = module_layout(exp)
    home = {name: module for module, members in modules.items() for name in members}
    for module, members in modules.items():
        (models_dir / f"{module}.py").write_text(render_module(exp, module, members, home))
    (models_dir / "__init__.py").write_text(MODELS_INIT)
    types_path.write_text(render_index(modules))
    methods_path.write_text(render_methods(roots, stable_roots))
    ruff = [sys.executable, "-m", "ruff"]
    outputs = [str(types_path), str(methods_path), str(models_dir)]
    for cmd in (["check", "--fix-only", "--quiet", "--select", "I,UP,F401"], ["format", "--quiet"]):
        subprocess.run([*ruff, *cmd, *outputs], check=True, cwd=ROOT)
    print(
        f"wrote {types_path} and {len(modules)} modules in {models_dir} "
        f"({len(exp.classes)} classes, {len(exp.aliases)} aliases)"
    )
    print(f"wrote {methods_path} ({len(roots['client'])} client requests)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
