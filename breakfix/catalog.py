"""The fault catalog: one YAML file per fault, validated field by field. A file that is not
valid is refused with its path, the field and the reason (FaultFileError), before anything runs."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .edits import EDIT_OPS
from .errors import FaultFileError, UnknownFault
from .params import Param
from .shapes import DEFAULT_FAULT_SHAPES, DEFAULT_NODE, check_selector, check_version_range, shape_names
from .symptoms_spec import SYMPTOM_KINDS

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "faults"

COMPONENTS = {
    # component: how its health is seen
    "etcd": "static_pod",
    "kube-apiserver": "static_pod",
    "kube-controller-manager": "static_pod",
    "kube-scheduler": "static_pod",
    "kubelet": "node",
}
SEVERITIES = ("blocker", "critical", "normal", "minor", "trivial")
TARGET_KINDS = ("manifest", "file", "service")
SERVICE_ACTIONS = ("stop",)
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{2,62}$")


@dataclass(frozen=True)
class Target:
    kind: str                      # manifest | file | service
    path: str | None = None        # manifest file name, or absolute path of a node file
    unit: str | None = None        # systemd unit (service target), or the unit to restart (file)
    action: str | None = None      # service action


@dataclass(frozen=True)
class Fault:
    id: str
    component: str
    title: str
    severity: str
    target: Target
    edits: tuple[dict, ...]
    symptoms: tuple[dict, ...]
    fix: str
    remediation: str
    api_down: bool = False
    reference_lab: int | None = None
    verify_scale: int = 1
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


def _req(data: dict, key: str, typ, path: Path, where: str = ""):
    name = f"{where}{key}"
    if key not in data:
        raise FaultFileError(path, name, "is required")
    val = data[key]
    if not isinstance(val, typ) or isinstance(val, bool) and typ is not bool:
        want = typ.__name__ if isinstance(typ, type) else "/".join(t.__name__ for t in typ)
        raise FaultFileError(path, name, f"must be {want}, got {type(val).__name__}")
    return val


def _check_keys(data: dict, allowed: set[str], path: Path, where: str) -> None:
    extra = sorted(set(data) - allowed)
    if extra:
        raise FaultFileError(path, f"{where}{extra[0]}", f"unknown field (allowed: {', '.join(sorted(allowed))})")


def _check_entry(entry: Any, path: Path, where: str, key: str, known: dict, what: str | None = None) -> str:
    """An edit or a symptom: a mapping whose KEY names one of KNOWN; returns that name."""
    if not isinstance(entry, dict):
        raise FaultFileError(path, where, "must be a mapping")
    name = _req(entry, key, str, path, where + ".")
    if name not in known:
        raise FaultFileError(path, f"{where}.{key}", f"unknown {what or key} {name!r} (known: {', '.join(known)})")
    return name


def _check_params(entry: dict, path: Path, where: str, owner: str, required, allowed) -> None:
    for r in sorted(required):
        if r not in entry:
            raise FaultFileError(path, f"{where}{r}", f"is required by {owner}")
    _check_keys(entry, set(allowed), path, where)


def _check_types(entry: dict, types: dict, path: Path, where: str) -> None:
    """Every parameter of ENTRY that TYPES declares (a params.Param, a type or a tuple of types)."""
    for k, typ in types.items():
        if k not in entry or typ is None:
            continue
        if isinstance(typ, Param):
            reason = typ.problem(entry[k])
        else:
            reason = None if isinstance(entry[k], typ) else f"must be {getattr(typ, '__name__', typ)}"
        if reason:
            raise FaultFileError(path, f"{where}{k}", reason)


def check_symptom(s: Any, path: Path, where: str) -> str:
    """One symptom entry (a mapping whose `kind` is in SYMPTOM_KINDS, with that kind's parameters);
    returns its kind. Also used for the symptoms a lab step declares (labs.py)."""
    kind = _check_entry(s, path, where, "kind", SYMPTOM_KINDS, "symptom kind")
    spec = SYMPTOM_KINDS[kind]
    _check_params(s, path, f"{where}.", f"symptom {kind}", spec.required,
                  spec.required | set(spec.optional) | {"kind", "description"})
    _check_types(s, spec.types, path, f"{where}.")
    return kind


def parse_fault(data: Any, path: Path) -> Fault:
    if not isinstance(data, dict):
        got = "an empty file" if data is None else f"a {type(data).__name__}"
        raise FaultFileError(path, "(document)", f"must be a mapping of fault fields (id, component, ...), "
                                                 f"got {got}")
    _check_keys(data, {"id", "component", "title", "severity", "target", "edits", "symptoms", "fix",
                       "remediation", "api_down", "reference_lab", "verify", "tags", "shapes", "node", "k8s_versions"}, path, "")
    fid = _req(data, "id", str, path)
    if not _ID.match(fid):
        raise FaultFileError(path, "id", "must be lowercase letters, digits and dashes (3-63)")
    if path.suffix in (".yaml", ".yml") and path.stem != fid:
        raise FaultFileError(path, "id", f"must match the file name ({path.stem!r})")
    component = _req(data, "component", str, path)
    if component not in COMPONENTS:
        raise FaultFileError(path, "component", f"unknown component {component!r} (known: {', '.join(COMPONENTS)})")
    title = _req(data, "title", str, path)
    severity = data.get("severity", "critical")
    if severity not in SEVERITIES:
        raise FaultFileError(path, "severity", f"must be one of {', '.join(SEVERITIES)}")

    t = _req(data, "target", dict, path)
    _check_keys(t, {"kind", "path", "unit", "action"}, path, "target.")
    tkind = _req(t, "kind", str, path, "target.")
    if tkind not in TARGET_KINDS:
        raise FaultFileError(path, "target.kind", f"must be one of {', '.join(TARGET_KINDS)}")
    if tkind == "manifest":
        tpath = _req(t, "path", str, path, "target.")
        if "/" in tpath or not tpath.endswith(".yaml") or tpath.startswith("."):
            raise FaultFileError(path, "target.path", "must be a manifest file name like kube-scheduler.yaml")
        if COMPONENTS[component] != "static_pod":
            raise FaultFileError(path, "target.kind", f"component {component} has no static pod manifest "
                                                      "(use target.kind file or service)")
        if tpath != f"{component}.yaml":
            raise FaultFileError(path, "target.path", f"must be {component}.yaml, the manifest of component "
                                                      f"{component} (got {tpath})")
    elif tkind == "file":
        tpath = _req(t, "path", str, path, "target.")
        if not tpath.startswith("/"):
            raise FaultFileError(path, "target.path", "must be an absolute path on the node")
        if tpath.startswith("/etc/kubernetes/manifests/"):
            raise FaultFileError(path, "target.path", "static pod manifests use target.kind: manifest")
        if t.get("unit") in (None, ""):
            raise FaultFileError(path, "target.unit", "is required for a file target: the systemd unit restarted "
                                                      "so that the change is picked up (e.g. kubelet)")
    else:
        tpath = None
        _req(t, "unit", str, path, "target.")
        action = _req(t, "action", str, path, "target.")
        if action not in SERVICE_ACTIONS:
            raise FaultFileError(path, "target.action", f"must be one of {', '.join(SERVICE_ACTIONS)}")
    target = Target(kind=tkind, path=tpath, unit=t.get("unit"), action=t.get("action"))
    if target.unit is not None and not isinstance(target.unit, str):
        raise FaultFileError(path, "target.unit", "must be str")

    edits = data.get("edits", [])
    if tkind in ("manifest", "file"):
        edits = _req(data, "edits", list, path)
        if not edits:
            raise FaultFileError(path, "edits", "must list at least one edit")
    elif edits:
        raise FaultFileError(path, "edits", "a service target takes no edits")
    for i, e in enumerate(edits):
        op = _check_entry(e, path, f"edits[{i}]", "op", EDIT_OPS)
        _, required, optional = EDIT_OPS[op]
        _check_params(e, path, f"edits[{i}].", f"op {op}", required, {*required, *optional, "op"})
        _check_types(e, {**required, **optional}, path, f"edits[{i}].")

    symptoms = _req(data, "symptoms", list, path)
    if not symptoms:
        raise FaultFileError(path, "symptoms", "must list at least one symptom")
    for i, s in enumerate(symptoms):
        check_symptom(s, path, f"symptoms[{i}]")

    fix = _req(data, "fix", str, path)
    remediation = _req(data, "remediation", str, path)
    api_down = data.get("api_down", False)
    if not isinstance(api_down, bool):
        raise FaultFileError(path, "api_down", "must be true or false")
    lab = data.get("reference_lab")
    if lab is not None and (not isinstance(lab, int) or isinstance(lab, bool)):
        raise FaultFileError(path, "reference_lab", "must be an integer (the lab step)")
    verify = data.get("verify", {}) or {}
    if not isinstance(verify, dict):
        raise FaultFileError(path, "verify", "must be a mapping")
    _check_keys(verify, {"scale"}, path, "verify.")
    scale = verify.get("scale", 1)
    if not isinstance(scale, int) or isinstance(scale, bool) or scale < 1:
        raise FaultFileError(path, "verify.scale", "must be an integer >= 1 (replicas to add: scaling by 0 "
                                                   "proves nothing)")
    tags = data.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(x, str) for x in tags):
        raise FaultFileError(path, "tags", "must be a list of strings")
    shapes = data.get("shapes", list(DEFAULT_FAULT_SHAPES))
    known_shapes = shape_names()
    if not isinstance(shapes, list) or not shapes or not all(isinstance(x, str) for x in shapes):
        raise FaultFileError(path, "shapes", "must be a non-empty list of cluster shapes")
    for x in shapes:
        if x not in known_shapes:
            raise FaultFileError(path, "shapes", f"unknown shape {x!r} (known: {', '.join(known_shapes)})")
    node = data.get("node", DEFAULT_NODE)
    nodes = node if isinstance(node, list) else [node]
    if not nodes:
        raise FaultFileError(path, "node", "must name a node or list at least one")
    for n in nodes:
        why = check_selector(n)
        if why:
            raise FaultFileError(path, "node", why)
    if len(set(nodes)) != len(nodes):
        raise FaultFileError(path, "node", "lists a node twice")
    k8s_versions = data.get("k8s_versions")
    if k8s_versions is not None:
        why = check_version_range(k8s_versions)
        if why:
            raise FaultFileError(path, "k8s_versions", why)
    # The declared model (models.FaultFile, published as schemas/fault.json) has the last word: what
    # the schema refuses, the catalog refuses, in the same one line.
    from pydantic import ValidationError

    from .labs import pydantic_error
    from .models import FaultFile
    try:
        FaultFile.model_validate(data)
    except ValidationError as exc:
        raise pydantic_error(exc, path, FaultFileError) from None
    return Fault(id=fid, component=component, title=title, severity=severity, target=target,
                 edits=tuple(edits), symptoms=tuple(symptoms), fix=fix.strip(), remediation=remediation.strip(),
                 api_down=api_down, reference_lab=lab, verify_scale=scale, source=str(path), tags=tuple(tags),
                 shapes=tuple(shapes), nodes=tuple(nodes), k8s_versions=k8s_versions)


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
