"""Finding the operands of a simple command's words, for `command_summary`.

Generic argv reading — skipping flags (and the values of the flags that take one), `--`, the
positional operands — plus the two tool-specific lookups the classification shares between
"is this a read?" and "is this only formatting a pipe?": the file `sed -n 'Np'` prints and the
data file `awk` reads. Also the short display form of a path codex shows (`short_display_path`).
"""

from __future__ import annotations

from collections.abc import Sequence


def skip_flag_values(args: list[str], flags_with_values: Sequence[str]) -> list[str]:
    """`args` without `--flag=value` words, the flags of `flags_with_values` and their values
    (everything after `--` is kept); other flags are kept."""
    out: list[str] = []
    skip_next = False
    for i, arg in enumerate(args):
        if skip_next:
            skip_next = False
            continue
        if arg == "--":
            out.extend(args[i + 1 :])
            break
        if arg.startswith("--") and "=" in arg:
            continue
        if arg in flags_with_values:
            if i + 1 < len(args):
                skip_next = True
            continue
        out.append(arg)
    return out


def positional_operands(args: list[str], flags_with_values: Sequence[str]) -> list[str]:
    """The non-flag words of `args` (the values of `flags_with_values` are not operands;
    everything after `--` is)."""
    out: list[str] = []
    after_double_dash = False
    skip_next = False
    for i, arg in enumerate(args):
        if skip_next:
            skip_next = False
            continue
        if after_double_dash:
            out.append(arg)
            continue
        if arg == "--":
            after_double_dash = True
            continue
        if arg.startswith("--") and "=" in arg:
            continue
        if arg in flags_with_values:
            if i + 1 < len(args):
                skip_next = True
            continue
        if arg.startswith("-"):
            continue
        out.append(arg)
    return out


def first_operand(args: list[str], flags_with_values: Sequence[str]) -> str | None:
    """The first positional operand, if any."""
    operands = positional_operands(args, flags_with_values)
    return operands[0] if operands else None


def single_operand(args: list[str], flags_with_values: Sequence[str]) -> str | None:
    """The positional operand, if there is exactly one."""
    operands = positional_operands(args, flags_with_values)
    return operands[0] if len(operands) == 1 else None


def short_display_path(path: str) -> str:
    """The last useful path component (skipping `build`, `dist`, `node_modules`, `src`)."""
    trimmed = path.replace("\\", "/").rstrip("/")
    for part in reversed(trimmed.split("/")):
        if part and part not in ("build", "dist", "node_modules", "src"):
            return part
    return trimmed


def is_pathish(text: str) -> bool:
    """Whether `text` looks like a path rather than a name or pattern."""
    return text in (".", "..") or text.startswith(("./", "../")) or "/" in text or "\\" in text


def _is_sed_range(arg: str | None) -> bool:
    if arg is None or not arg.endswith("p"):
        return False
    parts = arg[:-1].split(",")
    return len(parts) in (1, 2) and all(p.isdigit() and p.isascii() for p in parts)


def sed_read_path(args: list[str]) -> str | None:
    """The file a `sed -n` printing a line range (`10p`, `1,20p`) reads, else None."""
    if "-n" not in args:
        return None
    has_range = False
    i = 0
    while i < len(args):
        if args[i] in ("-e", "--expression"):
            if _is_sed_range(args[i + 1] if i + 1 < len(args) else None):
                has_range = True
            i += 2
            continue
        if args[i] in ("-f", "--file"):
            i += 2
            continue
        i += 1
    if not has_range:
        has_range = any(not a.startswith("-") and _is_sed_range(a) for a in args)
    if not has_range:
        return None
    candidates = skip_flag_values(args, ("-e", "-f", "--expression", "--file"))
    non_flags = [a for a in candidates if not a.startswith("-")]
    if not non_flags:
        return None
    if _is_sed_range(non_flags[0]):
        return non_flags[1] if len(non_flags) > 1 else None
    return non_flags[0]


def awk_data_file_operand(args: list[str]) -> str | None:
    """The data file an `awk` reads (the operand after the program, or the first with `-f`)."""
    if not args:
        return None
    has_script_file = any(a in ("-f", "--file") for a in args)
    candidates = skip_flag_values(
        args, ("-F", "-v", "-f", "--field-separator", "--assign", "--file")
    )
    non_flags = [a for a in candidates if not a.startswith("-")]
    if has_script_file:
        return non_flags[0] if non_flags else None
    return non_flags[1] if len(non_flags) >= 2 else None
