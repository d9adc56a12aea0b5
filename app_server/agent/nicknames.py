"""Nicknames for spawned agents: short, memorable names (scientists and mathematicians, as
codex uses) so people can tell sub-agents apart in a client's UI."""

from __future__ import annotations

import random
from collections.abc import Collection

NICKNAMES = (
    "Ada", "Archimedes", "Bohr", "Boole", "Curie", "Darwin", "Dirac", "Euler", "Faraday",
    "Fermi", "Feynman", "Gauss", "Hopper", "Hypatia", "Kepler", "Lovelace", "Maxwell",
    "Meitner", "Noether", "Pascal", "Planck", "Ramanujan", "Riemann", "Shannon", "Tesla",
    "Turing", "Volta",
)  # fmt: skip


def pick_nickname(taken: Collection[str], rng: random.Random | None = None) -> str:
    """A random nickname not in `taken`; once all are used, names get a number (`Euler 2`)."""
    chooser = rng or random
    free = [name for name in NICKNAMES if name not in taken]
    if free:
        return chooser.choice(free)
    round_ = 2
    while True:
        free = [f"{name} {round_}" for name in NICKNAMES if f"{name} {round_}" not in taken]
        if free:
            return chooser.choice(free)
        round_ += 1
