"""Which generated module each wire type goes into (`protocol/models/`), for lazy loading.

Why split: creating a pydantic class costs ~0.3 ms even with its validator deferred (fields are
collected and annotations evaluated at class creation), so creating all ~600 wire types took
~150 ms CPU of every server start, while a first turn touches a fraction of them. With one
module per shared type, `protocol.types` (a lazy index, PEP 562 `__getattr__`) imports only the
modules of the names asked for, and what those need.

How: the types reference each other (a class through its field annotations, an alias through
its expression). Strongly connected components (mutually recursive types) must share a module;
a component that only one other module uses (a union's variants, a payload) joins that module,
so a module is "a shared type and the types only it uses". Aliases that reference no class at
all (the many `Literal` enums and scalar aliases) are cheap to evaluate and go together into one
module, `SCALARS_MODULE`. The module graph stays acyclic (see `group_modules`), so each module
can import what it needs at its top.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping

SCALARS_MODULE = "scalars"
"""The module of the aliases that reference no class (enums, scalars)."""

_STRING = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def names_in(expression: str) -> set[str]:
    """The identifiers a type expression mentions, string literals left out (`Literal["Thread"]`
    does not reference `Thread`)."""
    return set(_NAME.findall(_STRING.sub("", expression)))


def strongly_connected(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Tarjan's components of `graph`, each sorted; a component comes after those it reaches."""
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(graph) + 100))
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def scalar_aliases(graph: Mapping[str, set[str]], aliases: Iterable[str]) -> set[str]:
    """The aliases whose expressions reach no class (only other such aliases)."""
    candidates = set(aliases)
    scalars: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name in sorted(candidates - scalars):
            if graph[name] <= scalars:
                scalars.add(name)
                changed = True
    return scalars


def group_modules(graph: Mapping[str, set[str]], aliases: Iterable[str]) -> dict[str, str]:
    """Type name → the name of its group (the module it goes into, before naming).

    Components are visited so that every component comes after all that reference it
    (`strongly_connected` yields the reverse); one whose referrers all sit in the same group
    joins that group. That keeps the group graph acyclic: an edge into a group's non-first
    member comes from inside the group, and a path back to a group's first member from a
    later component would contradict the visiting order."""
    scalars = scalar_aliases(graph, aliases)
    rest = {name: graph[name] - scalars for name in graph if name not in scalars}
    components = list(reversed(strongly_connected(rest)))
    component_of = {name: tuple(c) for c in components for name in c}
    referrers: dict[tuple[str, ...], set[tuple[str, ...]]] = {tuple(c): set() for c in components}
    for name, targets in rest.items():
        for target in targets:
            source, sink = component_of[name], component_of[target]
            if source != sink:
                referrers[sink].add(source)
    group_of: dict[tuple[str, ...], str] = {}
    for component in map(tuple, components):
        groups = {group_of[referrer] for referrer in referrers[component]}
        group_of[component] = groups.pop() if len(groups) == 1 else component[0]
    layout = {name: group_of[component_of[name]] for name in rest}
    layout.update(dict.fromkeys(scalars, SCALARS_MODULE))
    return layout
