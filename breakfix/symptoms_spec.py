"""The symptom kinds a fault file may use, with their parameters. The checks themselves live in
symptoms.py; this table is what the catalog validates against (no cluster needed)."""
from __future__ import annotations

from dataclasses import dataclass, field

from .params import HOLD, TEXT, seconds


@dataclass(frozen=True)
class SymptomSpec:
    summary: str
    required: frozenset = frozenset()
    optional: dict = field(default_factory=dict)   # name -> default
    types: dict = field(default_factory=dict)      # name -> type, tuple of types or params.Param


SYMPTOM_KINDS: dict[str, SymptomSpec] = {
    "container_not_running": SymptomSpec(
        "the component's static pod container is not running (back-off), per the API",
        optional={"reason_any": None, "terminated_reason_any": None, "exit_code": None, "message_contains": None},
        types={"reason_any": list, "terminated_reason_any": list, "exit_code": int, "message_contains": str}),
    "previous_log_contains": SymptomSpec(
        "the previous log of the component's container contains a text",
        required=frozenset({"text"}), types={"text": str}),
    "container_waiting": SymptomSpec(
        "the component's container waits with one of the given reasons (e.g. ImagePullBackOff)",
        required=frozenset({"reason_any"}), types={"reason_any": list}),
    "component_ready": SymptomSpec(
        "the component itself stays Ready (the fault is in what it does, not whether it runs)",
        optional={"hold": None}, types={"hold": HOLD}),
    "pod_not_scheduled": SymptomSpec(
        "a new pod stays Pending with no node for a while",
        optional={"workload": "probe", "hold": None}, types={"workload": str, "hold": HOLD}),
    "scale_stuck": SymptomSpec(
        "scaling `app` up does not create pods for a while",
        optional={"add": 1, "replicas": None, "hold": None},
        types={"add": int, "replicas": int, "hold": HOLD}),
    "api_unreachable": SymptomSpec("the API server does not answer /readyz"),
    "node_container_exited": SymptomSpec(
        "on the node (crictl), the component's newest container exited, optionally with a code and log text",
        optional={"container": None, "exit_code": None, "log_contains": None, "exited": True},
        types={"container": str, "exit_code": int, "log_contains": str, "exited": bool}),
    "node_not_ready": SymptomSpec("the node's Ready condition is not True"),
    "unit_state": SymptomSpec(
        "a systemd unit on the node is in one of the given states",
        required=frozenset({"unit", "state_any"}), types={"unit": str, "state_any": list}),
    "journal_contains": SymptomSpec(
        "the unit's journal since the fault contains a text",
        required=frozenset({"unit", "text"}), types={"unit": str, "text": str}),
    # More than one control plane (clusters/ha.yaml): measured, with the timings in the report.
    "api_available": SymptomSpec(
        "the API keeps answering through the cluster's endpoint (kind's load balancer on ha), a fresh "
        "connection per probe from just before the change to `hold` seconds after it took effect (with write: a "
        "ConfigMap created and deleted each probe); "
        "the error window (first failed probe to the next good one) is reported and at most max_error_window",
        optional={"hold": 30, "write": False, "max_error_window": 20},
        types={"hold": HOLD, "write": bool, "max_error_window": seconds(0)}),
    "lease_moved": SymptomSpec(
        "the leader lease passes from the target node to another one; the hand-over (from the change to "
        "the new holder) is reported next to the lease's duration and is at most max_lease_durations of it",
        required=frozenset({"lease"}), optional={"max_lease_durations": 4},
        types={"lease": TEXT, "max_lease_durations": seconds(1)}),
}
