"""Cluster shapes and target nodes, as data.

A shape is a kind configuration in clusters/<name>.yaml (single, workers, ha); the suite creates
its cluster from the one --cluster-shape names. A fault file says which shapes it applies to
(`shapes:`, default: the shapes with one control plane, where every fault of the original catalog
holds) and which node it targets (`node:`), resolved against the live cluster:

  control-plane      the first control-plane node (today's behaviour, the default)
  control-plane-N    the N-th control-plane node (1-based, by name: kind names them
                     NAME-control-plane, NAME-control-plane2, ...)
  worker / worker-N  the first / N-th worker node
  leader:LEASE       the control-plane node holding lease LEASE in kube-system (e.g.
                     kube-scheduler, kube-controller-manager) when the fault starts
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from .datadirs import data_dir
from .errors import BadInput, InfrastructureError

CLUSTERS_DIR = data_dir("clusters")
DEFAULT_SHAPE = "single"
# Where a fault applies when its file says nothing: the shapes with a single control plane.
DEFAULT_FAULT_SHAPES = ("single", "workers")
DEFAULT_NODE = "control-plane"
CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"
_SELECTOR = re.compile(r"^(?:(?P<role>control-plane|worker)(?:-(?P<index>[1-9][0-9]?))?|leader:(?P<lease>[a-z0-9][a-z0-9.-]*))$")


def shape_names(directory: Path = CLUSTERS_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.yaml"))


@dataclass(frozen=True)
class Shape:
    name: str
    config: Path
    control_planes: int
    workers: int


def load_shape(name: str, directory: Path = CLUSTERS_DIR) -> Shape:
    """The kind configuration of shape NAME; BadInput (one line) when there is none or it is not a
    kind Cluster with nodes."""
    known = shape_names(directory)
    if name not in known:
        raise BadInput(f"--cluster-shape={name}: unknown shape (known: {', '.join(known) or 'none'}; "
                       f"each is a kind configuration in {directory}/)")
    path = directory / f"{name}.yaml"
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise BadInput(f"{path}: not readable YAML: {exc.__class__.__name__}") from None
    if not isinstance(doc, dict) or doc.get("kind") != "Cluster" or not isinstance(doc.get("nodes"), list):
        raise BadInput(f"{path}: not a kind Cluster configuration with a `nodes` list")
    roles = [n.get("role") if isinstance(n, dict) else None for n in doc["nodes"]]
    if roles.count("control-plane") < 1 or any(r not in ("control-plane", "worker") for r in roles):
        raise BadInput(f"{path}: nodes must be control-plane or worker, at least one control-plane")
    return Shape(name, path, roles.count("control-plane"), roles.count("worker"))


def check_selector(value) -> str | None:
    """Why VALUE is not a node selector, or None when it is one."""
    if not isinstance(value, str) or not _SELECTOR.match(value):
        return ("must be control-plane, control-plane-N, worker, worker-N or leader:LEASE "
                f"(got {value!r})")
    return None


def _by_role(kube, role: str) -> list[str]:
    nodes = kube.core.list_node(_request_timeout=30).items
    cps = sorted(n.metadata.name for n in nodes if CONTROL_PLANE_LABEL in (n.metadata.labels or {}))
    if role == "control-plane":
        return cps
    return sorted(n.metadata.name for n in nodes if n.metadata.name not in cps)


def lease_holder(kube, lease: str, namespace: str = "kube-system") -> tuple[str | None, object]:
    """(node name of the holder, the Lease object). A holder identity is NODE_UUID for the
    scheduler and the controller manager."""
    from kubernetes import client
    obj = client.CoordinationV1Api(kube.api_client).read_namespaced_lease(lease, namespace, _request_timeout=10)
    ident = obj.spec.holder_identity or ""
    return (ident.split("_", 1)[0] or None), obj


def resolve_node(kube, selector: str) -> str:
    """The node name SELECTOR names on the live cluster; InfrastructureError when the cluster has
    no such node (a fault that needs a shape the cluster is not)."""
    m = _SELECTOR.match(selector)
    if not m:
        raise BadInput(f"node selector {selector!r}: {check_selector(selector)}")
    if m.group("lease"):
        holder, _ = lease_holder(kube, m.group("lease"))
        if not holder:
            raise InfrastructureError(f"lease kube-system/{m.group('lease')} has no holder")
        return holder
    names = _by_role(kube, m.group("role"))
    i = int(m.group("index") or 1)
    if len(names) < i:
        raise InfrastructureError(f"node {selector}: the cluster has {len(names)} {m.group('role')} node(s) "
                                  f"({', '.join(names) or 'none'})")
    return names[i - 1]


VERSIONS_ENV = Path(__file__).resolve().parent.parent / "airgap" / "versions.env"


def k8s_versions(path: Path = VERSIONS_ENV) -> list[str]:
    """K8S_VERSIONS of airgap/versions.env: every version the offline path builds a node image for."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("K8S_VERSIONS="):
            return line.split("=", 1)[1].strip().strip('"').split()
    return []


def check_k8s_version(version: str | None, path: Path = VERSIONS_ENV) -> None:
    if version is None:
        return
    known = k8s_versions(path)
    if version not in known:
        raise BadInput(f"--k8s-version={version}: not a version the offline build knows "
                       f"(K8S_VERSIONS in airgap/versions.env: {', '.join(known) or 'none'})")


_MINOR = re.compile(r"^v1\.([0-9]{1,3})$")
_VERSION = re.compile(r"v1\.([0-9]{1,3})(?:\.[0-9]+)?")


def check_version_range(value) -> str | None:
    """Why VALUE is not a fault's k8s_versions ({min: v1.MINOR, max: v1.MINOR}, either optional)."""
    if not isinstance(value, dict) or not value or set(value) - {"min", "max"}:
        return "must be a mapping with min and/or max, e.g. {min: v1.33, max: v1.34}"
    for k, v in value.items():
        if not isinstance(v, str) or not _MINOR.match(v):
            return f"{k} must be a minor version like v1.33 (got {v!r})"
    if "min" in value and "max" in value and minor_of(value["min"]) > minor_of(value["max"]):
        return "min is above max"
    return None


def minor_of(version: str) -> int | None:
    """33 for v1.33, v1.33.13 or kindest/node:v1.33.4; None when there is no version in it."""
    m = _VERSION.search(version or "")
    return int(m.group(1)) if m else None


def version_in_range(version: str | None, rng: dict | None) -> bool:
    """True when the fault applies to VERSION; an unknown version (an image without one) runs it."""
    minor = minor_of(version) if version else None
    if not rng or minor is None:
        return True
    return (("min" not in rng or minor >= minor_of(rng["min"]))
            and ("max" not in rng or minor <= minor_of(rng["max"])))
