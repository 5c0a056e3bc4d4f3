"""The grader of a lab step (`breakfix lab check`, suites/test_labs.py)."""
from __future__ import annotations

from ..labs import LabStep
from ..shapes import resolve_node
from .grader import Grader


def fault_nodes(step: LabStep, node, kube, node_name: str) -> dict:
    """The other nodes the step's fault is on ({name: Node, or None where the transport cannot reach a
    node by its name}): their kubelet is graded too (a worker's, by a pod placed there that must
    start). Empty when the API cannot say which nodes they are: then the API's own checks fail."""
    out = {}
    for sel in step.fault.nodes:
        try:
            name = resolve_node(kube, sel)
            if name != node_name:
                out[name] = node.sibling(name)
        except Exception:  # noqa: BLE001 - no API, no such node: the grade's own checks say so
            continue
    return out


def step_grader(step: LabStep, node, kube, node_name: str, catalog, **kw) -> Grader:
    """The grader for "is this step fixed": the general health checks plus the step's criteria
    (app replicas; a new pod schedules) and, for a fault on another node, that node's kubelet."""
    workers = kw.pop("workers", None)
    if workers is None and kube is not None:
        workers = fault_nodes(step, node, kube, node_name)
    return Grader(node, kube, node_name, catalog, replicas=step.app_replicas, probe=step.new_pod_schedules,
                  workers=workers, **kw)
