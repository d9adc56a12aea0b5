"""Skill discovery as codex does it: `SKILL.md` files with a front matter, found per working dir.

A skill is a folder holding a `SKILL.md` whose front matter (between `---` lines at the top)
names it and says what it is for:

    ---
    name: release-notes
    description: Write release notes from the git log.
    metadata:
      short-description: Release notes
    ---
    (instructions the model reads when it uses the skill)

Without a `name` the skill is named after its folder; `description` is required.

Where codex looks, in its order (earlier roots win when two skills share a path):
- repo: `.codex/skills/` and `.agents/skills/` in the working dir and each parent up to the
  repository root (the nearest dir holding `.git`; without one, the working dir only);
- user: `<data dir>/skills/` and `~/.agents/skills/`;
- admin: `/etc/codex/skills/`.
Each root is searched for `SKILL.md` files at most `MAX_SKILL_DEPTH` folders deep, skipping
hidden folders (codex keeps its own bundled "system" skills under `skills/.system`; this
server bundles none). A file whose front matter is missing or invalid is reported in the
entry's `errors` rather than listed.

Discovery reads the disk, so callers run it in a worker thread (`list_skills` is blocking).

`[[skills.config]]` entries in config.toml turn skills off (`with_switches`): a disabled skill is
still listed (`enabled: false`) but neither announced to the model nor injected when mentioned.

`skills_instructions` renders what codex tells the model about the enabled skills: a
`<skills_instructions>` text that opens the thread's permissions developer message, listing each
skill as `name: description (file: rN/…/SKILL.md)` against a table of the roots they live in.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from msgspec import Struct
from msgspec.structs import replace

from app_server.config.keys import ConfigToml

SkillScope = Literal["user", "repo", "system", "admin"]

SKILL_FILE = "SKILL.md"
MAX_SKILL_DEPTH = 6
"""How many folders below a root a `SKILL.md` may sit (codex's scan depth); deeper costs a
longer walk of large trees on every listing."""
MAX_SKILLS_PER_ROOT = 2_000
"""Stop scanning one root after this many skills: bounds the time and the answer's size when a
root points at a huge tree."""
MAX_SKILL_FILE_BYTES = 256 * 1024
"""Only this much of a `SKILL.md` is read to find its front matter."""
MAX_NAME_CHARS = 64
MAX_DESCRIPTION_CHARS = 1024
"""codex's limits for `name` and `description`; longer values make the skill invalid."""
ADMIN_SKILLS_DIR = Path("/etc/codex/skills")
REPO_SKILL_DIRS = (Path(".codex") / "skills", Path(".agents") / "skills")


SKILLS_INTRO = (
    "A skill is a set of local instructions to follow that is stored in a `SKILL.md` file. "
    "Below is the list of skills that can be used. Each entry includes a name, description, and "
    "a short path that can be expanded into an absolute path using the skill roots table."
)
ANNOUNCE_ORDER: tuple[SkillScope, ...] = ("system", "repo", "user", "admin")
"""The order codex 0.169 lists skills to the model (observed), unlike `skills/list`'s."""


class Skill(Struct, frozen=True):
    """One valid skill, and the root folder it was found under."""

    name: str
    description: str
    short_description: str | None
    path: Path
    scope: SkillScope
    root: Path | None = None
    enabled: bool = True


class SkillProblem(Struct, frozen=True):
    """A `SKILL.md` that could not be used, and why."""

    path: Path
    message: str


class SkillListing(Struct, frozen=True):
    """What one working dir sees."""

    cwd: Path
    skills: tuple[Skill, ...]
    problems: tuple[SkillProblem, ...]


class SkillSwitch(Struct, frozen=True):
    """One `[[skills.config]]` entry: the skill at `path`, or every skill called `name`, turned
    on or off."""

    enabled: bool
    path: str | None = None
    name: str | None = None

    def matches(self, skill: Skill) -> bool:
        if self.path is not None:
            return Path(self.path) == skill.path
        return self.name is not None and self.name == skill.name


class InvalidSkill(ValueError):
    """A `SKILL.md` without a usable front matter."""


def skill_roots(cwd: Path, data_dir: Path, home: Path | None) -> list[tuple[Path, SkillScope]]:
    """The folders searched for `cwd`, in codex's precedence order."""
    roots: list[tuple[Path, SkillScope]] = []
    top = _repo_root(cwd)
    folder = cwd
    while True:
        roots.extend((folder / sub, "repo") for sub in REPO_SKILL_DIRS)
        if top is None or folder == top or folder.parent == folder:
            break
        folder = folder.parent
    roots.append((data_dir / "skills", "user"))
    if home is not None:
        roots.append((home / ".agents" / "skills", "user"))
    roots.append((ADMIN_SKILLS_DIR, "admin"))
    return roots


def list_skills(cwd: Path, data_dir: Path, home: Path | None) -> SkillListing:
    """Every skill `cwd` sees (blocking: reads the disk)."""
    skills: list[Skill] = []
    problems: list[SkillProblem] = []
    seen: set[Path] = set()
    for root, scope in skill_roots(cwd, data_dir, home):
        for path in _skill_files(root):
            resolved = path.resolve()
            if resolved in seen:
                continue
            seen.add(resolved)
            try:
                skills.append(replace(read_skill(path, scope), root=root))
            except (InvalidSkill, OSError, UnicodeDecodeError) as exc:
                problems.append(SkillProblem(path, str(exc)))
    return SkillListing(cwd, tuple(skills), tuple(problems))


def skill_switches(config: ConfigToml) -> list[SkillSwitch]:
    """The `[[skills.config]]` entries of a config, in file order (an entry naming neither a
    path nor a name switches nothing and is dropped)."""
    return [
        SkillSwitch(entry.enabled, path=entry.path, name=entry.name)
        for entry in config.skills.config
        if entry.path is not None or entry.name is not None
    ]


def with_switches(listing: SkillListing, switches: Sequence[SkillSwitch]) -> SkillListing:
    """`listing` with each skill's `enabled` set by the switches that match it (the last one
    wins; a skill no switch names stays enabled)."""
    if not switches:
        return listing
    skills = []
    for skill in listing.skills:
        enabled = True
        for switch in switches:
            if switch.matches(skill):
                enabled = switch.enabled
        skills.append(replace(skill, enabled=enabled))
    return replace(listing, skills=tuple(skills))


def skills_instructions(listing: SkillListing) -> str | None:
    """What codex tells the model about the enabled skills (None when there are none)."""
    enabled = [skill for skill in listing.skills if skill.enabled]
    if not enabled:
        return None
    roots = sorted({str(skill.root or skill.path.parent.parent) for skill in enabled})
    alias = {root: f"r{index}" for index, root in enumerate(roots)}
    lines = ["<skills_instructions>", "## Skills", SKILLS_INTRO, "### Skill roots"]
    lines += [f"- `{alias[root]}` = `{root}`" for root in roots]
    lines.append("### Available skills")
    for scope in ANNOUNCE_ORDER:
        for skill in (s for s in enabled if s.scope == scope):
            root = Path(str(skill.root or skill.path.parent.parent))
            short = f"{alias[str(root)]}/{skill.path.relative_to(root).as_posix()}"
            lines.append(f"- {skill.name}: {skill.description} (file: {short})")
    lines.append("</skills_instructions>")
    return "\n".join(lines)


def read_skill(path: Path, scope: SkillScope) -> Skill:
    """Parse one `SKILL.md` (raises `InvalidSkill`)."""
    with path.open("rb") as file:
        text = file.read(MAX_SKILL_FILE_BYTES).decode("utf-8")
    fields = parse_front_matter(text)
    name = fields.get("name", "").strip() or path.parent.name  # codex: the folder's name
    description = fields.get("description", "").strip()
    if not description:
        raise InvalidSkill("missing field `description`")
    if len(name) > MAX_NAME_CHARS:
        raise InvalidSkill(f"invalid name: exceeds maximum length of {MAX_NAME_CHARS} characters")
    if len(description) > MAX_DESCRIPTION_CHARS:
        raise InvalidSkill(
            f"invalid description: exceeds maximum length of {MAX_DESCRIPTION_CHARS} characters"
        )
    short = fields.get("metadata.short-description") or fields.get("short-description")
    return Skill(name, description, short.strip() if short else None, path, scope)


def parse_front_matter(text: str) -> dict[str, str]:
    """The front matter's scalar fields; nested mappings as dotted keys (`metadata.x`).

    Enough YAML for skill headers: `key: value` (plain or quoted), one level of nesting, and
    `|` / `>` block scalars. Raises `InvalidSkill` when there is no front matter.
    """
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != "---":
        raise InvalidSkill("missing YAML frontmatter delimited by ---")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise InvalidSkill("missing YAML frontmatter delimited by ---") from None
    fields: dict[str, str] = {}
    parent: str | None = None
    index = 1
    while index < end:
        line = lines[index]
        index += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indented = line[0] in " \t"
        key, sep, value = line.strip().partition(":")
        if not sep:
            raise InvalidSkill(f"invalid YAML frontmatter line: {line.strip()}")
        key, value = key.strip(), value.strip()
        if not indented:
            parent = None
        full = f"{parent}.{key}" if indented and parent else key
        if value in ("|", ">", "|-", ">-"):
            block: list[str] = []
            while index < end and (not lines[index].strip() or lines[index][0] in " \t"):
                block.append(lines[index].strip())
                index += 1
            joiner = "\n" if value.startswith("|") else " "
            fields[full] = joiner.join(block).strip()
        elif not value:
            parent = key if not indented else parent
        else:
            fields[full] = _unquote(value)
    return fields


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _repo_root(cwd: Path) -> Path | None:
    for folder in (cwd, *cwd.parents):
        if (folder / ".git").exists():
            return folder
    return None


def _skill_files(root: Path) -> list[Path]:
    """`SKILL.md` files under `root`, sorted, hidden folders and deep ones skipped."""
    if not root.is_dir():
        return []
    found: list[Path] = []
    base_depth = len(root.parts)
    for folder, dirs, files in os.walk(root):
        depth = len(Path(folder).parts) - base_depth
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and depth < MAX_SKILL_DEPTH)
        if SKILL_FILE in files:
            found.append(Path(folder) / SKILL_FILE)
            if len(found) >= MAX_SKILLS_PER_ROOT:
                break
    return sorted(found)
