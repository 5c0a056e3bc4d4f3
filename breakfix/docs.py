"""The fault catalog as Markdown: docs/faults.md is generated from faults/*.yaml, loaded by the
catalog's own loader (catalog.load_catalog), so the table can never disagree with the files.

    python -m breakfix.docs            # write docs/faults.md (`make docs`)
    python -m breakfix.docs --check    # exit 1, one line, when docs/faults.md is stale (`make docs-check`)
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Iterable

from .catalog import load_catalog

ROOT = Path(__file__).resolve().parent.parent
FAULTS_DOC = ROOT / "docs" / "faults.md"

COLUMNS = ("id", "component", "target kind", "severity", "title", "shapes")

HEADER = """\
# The fault catalog

<!-- Generated from faults/*.yaml by `make docs` (python -m breakfix.docs); do not edit by hand.
     `make docs-check` and tests/unit/test_docs.py fail when this file is stale. -->

One YAML file per fault in `faults/`; a new fault is a new file (the format: the README's
*Adding a fault*, the schema `schemas/fault.json`). `make list-faults` and `breakfix list` print
the same catalog. A fault runs only on the cluster shapes it lists (`shapes:`, default
`[single, workers]`; see [shapes.md](shapes.md)); the others are reported as skipped with the reason.
"""


def _get(obj: Any, name: str, default: Any = None) -> Any:
    """A field of a fault or its target, whether the loader gives an object or a mapping."""
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def cell(value: Any) -> str:
    """One Markdown table cell: a single line, pipes escaped."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(v) for v in value)
    text = " ".join(str(value).split())
    return text.replace("|", "\\|")


def row(values: Iterable[Any]) -> str:
    return "| " + " | ".join(cell(v) for v in values) + " |"


def render(faults: dict[str, Any]) -> str:
    """docs/faults.md's text for a loaded catalog (id -> fault)."""
    ordered = [faults[i] for i in sorted(faults)]
    counts: dict[str, int] = {}
    for f in ordered:
        for s in _get(f, "shapes", ()) or ():
            counts[s] = counts.get(s, 0) + 1
    per_shape = ", ".join(f"{n} on `{s}`" for s, n in sorted(counts.items()))
    lines = [HEADER, f"{len(ordered)} faults ({per_shape}).", ""]
    lines.append(row(COLUMNS))
    lines.append("|" + "---|" * len(COLUMNS))
    for f in ordered:
        target = _get(f, "target")
        lines.append(row([f"`{_get(f, 'id')}`", _get(f, "component"), _get(target, "kind"),
                          _get(f, "severity"), _get(f, "title"), _get(f, "shapes", ())]))
    lines += ["", "## Symptoms and fixes", "",
              "What each fault makes visible (its symptoms' descriptions, in order) and its fix. "
              "*Lab step*: the step of the reference lab (`labs/control-plane-failure.yaml`) "
              "that uses it.", ""]
    lines.append(row(("id", "lab step", "symptoms", "fix")))
    lines.append("|---|---|---|---|")
    for f in ordered:
        symptoms = [_get(s, "description") or _get(s, "kind") for s in _get(f, "symptoms", ()) or ()]
        lines.append(row([f"`{_get(f, 'id')}`", _get(f, "reference_lab") or "", "; ".join(symptoms),
                          _get(f, "fix")]))
    return "\n".join(lines) + "\n"


def generate(directory: Path | str | None = None) -> str:
    return render(load_catalog(directory))


def is_stale(path: Path | None = None) -> bool:
    path = path or FAULTS_DOC
    return not path.is_file() or path.read_text(encoding="utf-8") != generate()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    rel = FAULTS_DOC.relative_to(ROOT)
    if "--check" in args:
        if is_stale():
            print(f"kube-breakfix: {rel} out of date with faults/: run `make docs`", file=sys.stderr)
            return 1
        print(f"{rel} up to date")
        return 0
    FAULTS_DOC.parent.mkdir(parents=True, exist_ok=True)
    FAULTS_DOC.write_text(generate(), encoding="utf-8")
    print(rel)
    return 0


if __name__ == "__main__":   # python -m breakfix.docs [--check]
    sys.exit(main())
