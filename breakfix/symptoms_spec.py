"""The symptom kinds a fault file may use, with their parameters. The checks themselves live in
symptoms.py; this table is what the catalog validates against (no cluster needed)."""
from __future__ import annotations

from dataclasses import dataclass, field

from .params import HOLD, TEXT, Param, choice, seconds

WORKLOAD = Param("deployment/NAMESPACE/NAME or daemonset/NAMESPACE/NAME",
                 lambda v: isinstance(v, str) and len(v.split("/")) == 3 and all(v.split("/"))
                 and v.split("/")[0] in ("deployment", "daemonset"),
                 {"type": "string", "pattern": "^(deployment|daemonset)/[^/]+/[^/]+$"})
INTS = Param("a non-empty list of integers", lambda v: isinstance(v, list) and bool(v) and all(
    isinstance(x, int) and not isinstance(x, bool) for x in v), {"type": "array", "items": {"type": "integer"},
                                                               "minItems": 1})
STREAK = Param("an integer 1-20 (failed probes in a row)", lambda v: isinstance(v, int) and not isinstance(v, bool)
               and 1 <= v <= 20, {"type": "integer", "minimum": 1, "maximum": 20})
PORT = Param("an integer 1-65535", lambda v: isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 65535,
             {"type": "integer", "minimum": 1, "maximum": 65535})


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
    "members_ready": SymptomSpec(
        "every control-plane member's own API server answers GET /readyz with HTTP 200 at its address while "
        "the cluster endpoint does not: members and InternalIPs read from the Node objects just before the "
        "change (port: kubeadm's advertise-address annotation of the member's kube-apiserver pod, else 6443), "
        "asked with the kubeconfig's own credentials and CA, TLS verified; a probe that did not run is not ready"),
    # Add-ons, network and certificates: decided from statuses, codes and counts, never from text.
    "workload_failing": SymptomSpec(
        "pods of a Deployment or DaemonSet started after the change do not run (a container waiting with one "
        "of `reason_any`, default the back-off reasons) and the workload is not healthy",
        required=frozenset({"workload"}), optional={"reason_any": None},
        types={"workload": WORKLOAD, "reason_any": list}),
    "service_unreachable": SymptomSpec(
        "a fresh ClusterIP Service in front of `app`: from the node GET `path` on an app pod's IP answers HTTP "
        "200, the same through the Service's ClusterIP does not (no connect, no answer, or not 200), `streak` "
        "times in a row; with `workload` (the proxy's), the Service is created once no pod of it runs",
        optional={"port": 8080, "path": "/healthz", "streak": 3, "workload": None},
        types={"port": PORT, "path": TEXT, "streak": STREAK, "workload": WORKLOAD}),
    "dns_unanswered": SymptomSpec(
        "from the node, a DNS query over TCP to the kube-dns Service's ClusterIP gets no answer (no connect or "
        "nothing back), `streak` times in a row; any answer resets the count",
        optional={"name": "kubernetes.default.svc.cluster.local", "streak": 3},
        types={"name": TEXT, "streak": STREAK}),
    "tls_verify_error": SymptomSpec(
        "a TLS handshake with the cluster endpoint, verified with the kubeconfig's CA, fails with one of the "
        "X.509 verify codes `code_any` (default 10, certificate has expired)",
        optional={"code_any": [10]}, types={"code_any": INTS}),
    "api_status": SymptomSpec(
        "GET `path` (default /api) with the kubeconfig's own credentials answers one of the HTTP statuses "
        "`status_any`, `streak` times in a row",
        required=frozenset({"status_any"}), optional={"path": "/api", "streak": 3},
        types={"status_any": INTS, "path": TEXT, "streak": STREAK}),
    "pod_events": SymptomSpec(
        "events with one of `reason_any` since the change: on a fresh probe pod that does not reach Running "
        "(`object: probe`), or on the component's mirror pod (`object: component`)",
        required=frozenset({"reason_any"}), optional={"object": "probe"},
        types={"reason_any": list, "object": choice("probe", "component")}),
}
