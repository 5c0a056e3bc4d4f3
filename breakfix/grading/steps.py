"""The grader of a lab step (`breakfix lab check`, suites/test_labs.py)."""
from __future__ import annotations

from ..labs import LabStep
from .grader import Grader


def step_grader(step: LabStep, node, kube, node_name: str, catalog, **kw) -> Grader:
    """The grader for "is this step fixed": the general health checks plus the step's criteria
    (app replicas; a new pod schedules)."""
    return Grader(node, kube, node_name, catalog, replicas=step.app_replicas, probe=step.new_pod_schedules, **kw)
