"""The fault catalog: one YAML file per fault. A file is validated by its model (models.FaultFile,
published as schemas/fault.json) and refused with its path, the field and the reason
(FaultFileError, one line), before anything runs."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .datadirs import data_dir
from .errors import FaultFileError, UnknownFault
from .models import SEVERITIES, TARGET, TargetFields, validate_fault, validate_symptom
from .shapes import DEFAULT_FAULT_SHAPES, DEFAULT_NODE
from .targets_spec import COMPONENTS, SERVICE_ACTIONS, TARGET_KINDS

__all__ = ["COMPONENTS", "SERVICE_ACTIONS", "SEVERITIES", "TARGET_KINDS", "Fault", "TargetFields", "check_symptom",
           "load_catalog", "load_file", "parse_fault", "select", "target"]

DEFAULT_DIR = data_dir("faults")


def target(kind: str, **fields: Any) -> TargetFields:
    """A target of KIND with FIELDS, validated by its kind's model (models.Target): what a fault file's
    `target` becomes, built in code (tests, inline faults)."""
    return TARGET.validate_python({"kind": kind, **{k: v for k, v in fields.items() if v is not None}})


@dataclass(frozen=True)
class Fault:
    id: str
    component: str
    title: str
    severity: str
    target: TargetFields           # the kind's own model (models.Target): its fields, validated, with defaults
    edits: tuple[dict, ...]
    symptoms: tuple[dict, ...]
    fix: str
    remediation: str
    api_down: bool = False
    reference_lab: int | None = None
    verify_scale: int = 1
    verify_on_node: bool = False                     # the verification's pod on the fault's node
    source: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)
    shapes: tuple[str, ...] = DEFAULT_FAULT_SHAPES   # cluster shapes it applies to (clusters/*.yaml)
    nodes: tuple[str, ...] = (DEFAULT_NODE,)         # the node(s) it targets (breakfix/shapes.py)
    k8s_versions: dict | None = None                 # {min: v1.33, max: v1.34}: where a flag differs

    @property
    def node(self) -> str:
        """The first node it targets (where its evidence is read when it targets several)."""
        return self.nodes[0]

    @property
    def marker_name(self) -> str:
        return "component_" + self.component.replace("-", "_")

    @property
    def summary(self) -> str:
        return "; ".join(s["kind"] for s in self.symptoms)


def check_symptom(s: Any, path: Path, where: str) -> str:
    """One symptom entry (a mapping whose `kind` is in SYMPTOM_KINDS, with that kind's parameters);
    returns its kind. Also used for the symptoms a lab step declares (labs.py)."""
    return validate_symptom(s, path, where)


def parse_fault(data: Any, path: Path) -> Fault:
    m = validate_fault(data, path)
    if path.suffix in (".yaml", ".yml") and path.stem != m.id:
        raise FaultFileError(path, "id", f"must match the file name ({path.stem!r})")
    nodes = m.node if isinstance(m.node, list) else [m.node]
    return Fault(id=m.id, component=m.component, title=m.title, severity=m.severity, target=m.target,
                 edits=tuple(data.get("edits", [])), symptoms=tuple(data["symptoms"]), fix=m.fix.strip(),
                 remediation=m.remediation.strip(), api_down=m.api_down, reference_lab=m.reference_lab,
                 verify_scale=m.verify.scale if m.verify else 1,
                 verify_on_node=bool(m.verify and m.verify.on_node), source=str(path), tags=tuple(m.tags),
                 shapes=tuple(m.shapes), nodes=tuple(nodes), k8s_versions=m.k8s_versions)


def load_file(path: Path) -> Fault:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "(document)"
        raise FaultFileError(path, where, f"not valid YAML: {getattr(exc, 'problem', exc)}") from None
    except UnicodeDecodeError as exc:
        raise FaultFileError(path, "(file)", f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
                                             f"{exc.start})") from None
    except OSError as exc:
        raise FaultFileError(path, "(file)", exc.strerror or str(exc)) from None
    return parse_fault(data, path)


def load_catalog(directory: Path | str | None = None) -> dict[str, Fault]:
    d = Path(directory) if directory else DEFAULT_DIR
    if not d.is_dir():
        raise FaultFileError(d, "(directory)", "fault catalog directory not found")
    faults: dict[str, Fault] = {}
    for p in sorted(d.glob("*.y*ml")):
        f = load_file(p)
        if f.id in faults:
            raise FaultFileError(p, "id", f"duplicate id, also in {faults[f.id].source}")
        faults[f.id] = f
    if not faults:
        raise FaultFileError(d, "(directory)", "no fault files (*.yaml)")
    return faults


def select(faults: dict[str, Fault], ids: list[str] | None = None, component: str | None = None) -> list[Fault]:
    out = list(faults.values())
    if ids:
        unknown = [i for i in ids if i not in faults]
        if unknown:
            raise UnknownFault(f"unknown fault {unknown[0]!r}; known: {', '.join(sorted(faults))}")
        out = [faults[i] for i in ids]
    if component:
        if component not in COMPONENTS:
            raise UnknownFault(f"unknown component {component!r}; known: {', '.join(COMPONENTS)}")
        out = [f for f in out if f.component == component]
    return out


def table(faults: dict[str, Fault], lab_column: bool = False) -> list[str]:
    """The catalog as aligned text lines (id, component, [reference-lab step,] title): `pytest
    --list-faults` and `breakfix list`."""
    w = max(len(i) for i in faults)
    cw = max(len(f.component) for f in faults.values())
    lab = (lambda f: f"{str(f.reference_lab or '-'):<3}  ") if lab_column else (lambda f: "")
    head = f"{'ID':<{w}}  {'COMPONENT':<{cw}}  " + ("LAB  " if lab_column else "") + "TITLE"
    return [head] + [f"{f.id:<{w}}  {f.component:<{cw}}  {lab(f)}{f.title}" for f in faults.values()]
