#!/usr/bin/env python3
"""File-search benchmark: a query's latency on a 100,000-file tree once the tree is walked.

Builds (once, under `--dir`) a synthetic tree of `--files` files in 2,000 directories with
code-like names, walks it as `fuzzyFileSearch` does (`.gitignore` obeyed), then times queries
of several shapes (a single letter, a word, an abbreviation, a path fragment, no match) over
`--runs` runs each, and prints the walk time and each query's median and worst latency, and
its median CPU time (the process's own: steadier than the latency on a shared, busy machine).

Target (issue 20): ≤ 50 ms per query after the first walk.

Usage: scripts/bench_file_search.py [--files 100000] [--runs 5] [--dir /tmp/file-search-bench]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app_server.file_search.index import FileIndex  # noqa: E402
from app_server.file_search.matcher import parse_query  # noqa: E402

WORDS = [
    "src",
    "lib",
    "app",
    "core",
    "util",
    "test",
    "models",
    "views",
    "api",
    "server",
    "client",
    "main",
    "index",
    "config",
    "handler",
    "service",
    "data",
    "common",
    "internal",
    "pkg",
]

QUERIES = ("a", "x", "main", "srvhdl", "configsvc", "mdlvw", "core12/test_3/util", "zzzz")


def build_tree(root: Path, files: int) -> None:
    """`files` empty files, 50 per directory, two directory levels, names from `WORDS`."""
    rng = random.Random(1)
    made = 0
    for a in range(10**6):
        for b in range(40):
            folder = root / f"{rng.choice(WORDS)}{a}" / f"{rng.choice(WORDS)}_{b}"
            folder.mkdir(parents=True, exist_ok=True)
            for c in range(50):
                name = f"{rng.choice(WORDS)}{rng.choice(WORDS).title()}{c}.py"
                (folder / name).touch()
                made += 1
                if made >= files:
                    return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dir", default=os.path.join("/tmp", "file-search-bench"))
    args = parser.parse_args()
    root = Path(args.dir) / f"tree-{args.files}"
    if not root.exists():
        build_tree(root, args.files)
    start = time.perf_counter()
    index = FileIndex.build(str(root))
    print(f"walk: {len(index)} paths in {(time.perf_counter() - start) * 1000:.0f} ms")
    for text in QUERIES:
        query = parse_query(text)
        times = []
        cpu_times = []
        found = 0
        for _ in range(args.runs):
            start = time.perf_counter()
            cpu_start = time.process_time()
            found = len(index.search(query))
            cpu_times.append((time.process_time() - cpu_start) * 1000)
            times.append((time.perf_counter() - start) * 1000)
        print(
            f"query {text!r:22} median {statistics.median(times):7.1f} ms"
            f"   worst {max(times):7.1f} ms   cpu {statistics.median(cpu_times):7.1f} ms"
            f"   results {found}"
        )


if __name__ == "__main__":
    main()
