"""The target kinds a fault file may name (`target.kind`), with their fields. Like symptoms_spec.py
this is a table, no cluster needed: the catalog and the fault model (models.py) validate against it,
the engine implements each kind (lab.py). A target kind added here is in the schema at once.

Each kind says which `target` fields it takes (required and optional, each with its type), whether
the fault lists `edits` (required, allowed or refused), and its cross-field rule (`check`): given the
target and the whole fault file, None or (field, reason) for the one-line error."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from .params import ABS_PATH, TEXT, Param, choice

MANIFEST_DIR = "/etc/kubernetes/manifests"

# How a component's health is seen: a static pod of the control plane, or the node itself.
COMPONENTS = {
    "etcd": "static_pod",
    "kube-apiserver": "static_pod",
    "kube-controller-manager": "static_pod",
    "kube-scheduler": "static_pod",
    "kubelet": "node",
}
SERVICE_ACTIONS = ("stop",)

Check = Callable[[dict, dict], "tuple[str, str] | None"]


@dataclass(frozen=True)
class TargetSpec:
    summary: str
    required: dict = field(default_factory=dict)   # field -> params.Param
    optional: dict = field(default_factory=dict)   # field -> params.Param
    edits: str = "required"                        # required | allowed | refused
    check: Check | None = None


def _manifest_rule(target: dict, fault: dict) -> tuple[str, str] | None:
    path, component = target["path"], fault.get("component")
    if "/" in path or not path.endswith(".yaml") or path.startswith("."):
        return "target.path", "must be a manifest file name like kube-scheduler.yaml"
    if COMPONENTS.get(component) != "static_pod":
        return "target.kind", f"component {component} has no static pod manifest (use target.kind file or service)"
    if path != f"{component}.yaml":
        return "target.path", f"must be {component}.yaml, the manifest of component {component} (got {path})"
    return None


def _file_rule(target: dict, fault: dict) -> tuple[str, str] | None:
    if target["path"].startswith(MANIFEST_DIR + "/"):
        return "target.path", "static pod manifests use target.kind: manifest"
    return None


UNIT = Param("a systemd unit name (e.g. kubelet)", lambda v: isinstance(v, str) and v.strip() != "" and "/" not in v,
             {"type": "string", "minLength": 1, "pattern": "^[^/]+$"})

TARGET_KINDS: dict[str, TargetSpec] = {
    "manifest": TargetSpec(
        "a static pod manifest in /etc/kubernetes/manifests (the component's own), changed by `edits`; "
        "the kubelet runs the edited pod",
        required={"path": TEXT}, check=_manifest_rule),
    "file": TargetSpec(
        "a node file (YAML: kubelet config, kubeconfig) changed by `edits`, then `unit` restarted so that "
        "it is read again",
        required={"path": ABS_PATH, "unit": UNIT}, check=_file_rule),
    "service": TargetSpec(
        "a systemd unit on the node, given an `action` (stop); undone by starting it",
        required={"unit": UNIT, "action": choice(*SERVICE_ACTIONS)}, edits="refused"),
}
