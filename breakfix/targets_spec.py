"""The target kinds a fault file may name (`target.kind`), with their fields. This is a table, no
cluster needed: the catalog and the fault model (models.py) validate against it, the engine implements each kind
(targets.py). A target kind added here is in the schema at once.

Each kind says which `target` fields it takes (required and optional, each with its type), whether
the fault lists `edits` (required, allowed or refused), and its cross-field rule (`check`): given the
target and the whole fault file, None or (field, reason) for the one-line error."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from .params import ABS_PATH, TEXT, Param, choice

MANIFEST_DIR = "/etc/kubernetes/manifests"


@dataclass(frozen=True)
class Workload:
    """A Deployment or DaemonSet whose status is a component's health."""
    kind: str          # deployment | daemonset
    namespace: str
    name: str

    @property
    def ref(self) -> str:
        """`KIND/NS/NAME`, as a fault file names a workload (symptoms.workload_status reads it)."""
        return f"{self.kind}/{self.namespace}/{self.name}"


# How a component's health is seen (Lab.component_ready): a static pod of the control plane, the node's
# Ready condition, the API's /readyz, or a workload's status (`workload`: WORKLOADS[component], every pod
# updated, ready and available).
COMPONENTS = {
    "etcd": "static_pod",
    "kube-apiserver": "static_pod",
    "kube-controller-manager": "static_pod",
    "kube-scheduler": "static_pod",
    "kubelet": "node",
    "pki": "api",                                    # the cluster's certificates: the API answers, verified
    "kube-proxy": "workload",
    "coredns": "workload",
    "cni": "node",                                   # the node's network plugin: Ready, pods get sandboxes
    "container-runtime": "node",                     # containerd: the node Ready
    "static-pod-dir": "node",                        # /etc/kubernetes/manifests as the kubelet reads it
    "load-balancer": "api",                          # kind's external load balancer (ha): the API answers
}
WORKLOADS = {"kube-proxy": Workload("daemonset", "kube-system", "kube-proxy"),
             "coredns": Workload("deployment", "kube-system", "coredns")}
SERVICE_ACTIONS = ("stop",)
# The kinds whose change is on the host, no node's (kind's load balancer): journaled in the host's store.
HOST_KINDS = ("host_container",)

# --- what each kind's journal entry holds -------------------------------------------------------------
class JournalRecord:
    """A target kind's part of a journal entry: the arguments its undo needs (targets.py's undo of the
    kind reads them; journal.py writes and parses them, dispatching on the entry's `kind` to
    TARGET_KINDS[kind].journal). Each is a dataclass of optional fields (a journal read from disk may
    lack any of them); `problem` says what a complete one needs."""
    backup: str | None = None      # a copy of the node file to put back (the journal makes it): node files only

    def backs_up(self) -> str | None:
        """The node file the journal copies (verified by sha256) before the change, or None."""
        return None

    def owned_by(self, owner: str) -> bool:
        """Whether the entry is of OWNER (a kind cluster's name), in a store shared by clusters (the host's)."""
        return False

    def problem(self) -> str | None:
        """None, or why an entry holding this cannot be replayed (the JournalError's reason)."""
        raise NotImplementedError

    def what(self) -> str:
        """Its undo in a few words (`breakfix restore` prints it)."""
        raise NotImplementedError


@dataclass
class NodeFileRecord(JournalRecord):
    """A node file changed or removed: its backup and the sha256 of its original bytes, its mode;
    after the bytes are back, `restart_unit` restarted or the container of `restart_static_pod`
    stopped (the kubelet starts it again)."""
    path: str | None = None
    backup: str | None = None                # outside the manifests directory
    sha256: str | None = None                # of the original bytes
    mode: str | None = None                  # of the original file
    restart_unit: str | None = None
    restart_static_pod: str | None = None

    def backs_up(self) -> str | None:
        return self.path

    def problem(self) -> str | None:
        if not (self.path and self.backup and self.sha256):
            return "a changed file needs path, backup and sha256 together"
        return None

    def what(self) -> str:
        return self.path


@dataclass
class CreatedFileRecord(JournalRecord):
    """A node file that did not exist, made by the fault: `created` is the sha256 of what it made."""
    path: str | None = None
    created: str | None = None

    def problem(self) -> str | None:
        if not (self.path and self.created):
            return "a created file needs path and created (its sha256), no backup"
        return None

    def what(self) -> str:
        return f"remove {self.path}"


@dataclass
class ServiceRecord(JournalRecord):
    """A systemd unit stopped: `start_unit` is started again."""
    start_unit: str | None = None

    def problem(self) -> str | None:
        return None if self.start_unit else "a service entry needs start_unit"

    def what(self) -> str:
        return f"systemctl start {self.start_unit}"


@dataclass
class ApiObjectRecord(JournalRecord):
    """API objects patched: {object ref: {JSON pointer: original value (None: absent)}}."""
    objects: dict | None = None

    def problem(self) -> str | None:
        return None if self.objects else "an API object entry needs objects (the original fields)"

    def what(self) -> str:
        return "put back " + ", ".join(self.objects)


@dataclass
class HostContainerRecord(JournalRecord):
    """A container on the host stopped: `container` (its full name) is started again."""
    container: str | None = None

    def owned_by(self, owner: str) -> bool:
        return (self.container or "").startswith(owner + "-")

    def problem(self) -> str | None:
        return None if self.container else "a host container entry needs container"

    def what(self) -> str:
        return f"docker start {self.container}"


Check = Callable[[dict, dict], "tuple[str, str] | None"]


@dataclass(frozen=True)
class TargetSpec:
    summary: str
    required: dict = field(default_factory=dict)   # field -> params.Param
    optional: dict = field(default_factory=dict)   # field -> params.Param
    defaults: dict = field(default_factory=dict)   # optional field -> its value when the file leaves it out
    edits: str = "required"                        # required | allowed | refused
    check: Check | None = None
    journal: type[JournalRecord] | None = None     # what its journal entry holds (a JournalRecord dataclass)


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
    if (target.get("unit") is None) == (target.get("static_pod") is None):
        return "target.unit", "give exactly one of unit (a systemd unit to restart) and static_pod (a static pod to restart)"
    return _node_path_rule(target, fault)


def _node_path_rule(target: dict, fault: dict) -> tuple[str, str] | None:
    pod = target.get("static_pod")
    if pod is not None and COMPONENTS.get(pod) != "static_pod":
        return "target.static_pod", f"must be a control-plane static pod ({', '.join(_static_pods())}), got {pod}"
    return None


def _created_rule(target: dict, fault: dict) -> tuple[str, str] | None:
    why = _node_path_rule(target, fault)
    if why:
        return why
    name = target["path"].rsplit("/", 1)[-1]
    if target["path"] == target["source"]:
        return "target.path", "must differ from target.source (the file is created, it did not exist)"
    if name.startswith("."):
        return "target.path", "a dot-file is ignored by the kubelet and by the byte-identity check: name it as a person would"
    return None


def _static_pods() -> list[str]:
    return [c for c, h in COMPONENTS.items() if h == "static_pod"]


def _object_rule(target: dict, fault: dict) -> tuple[str, str] | None:
    for e in fault.get("edits") or []:
        if isinstance(e, dict) and e.get("op") not in ("set_field", "replace_text"):
            return "edits", f"an api_object target takes set_field and replace_text edits, got {e.get('op')}"
    return None


OBJECT_REF = Param("resource/namespace/name, resource one of configmap, deployment, daemonset (e.g. "
                   "configmap/kube-system/coredns)",
                   lambda v: isinstance(v, str) and len(v.split("/")) == 3 and all(v.split("/"))
                   and v.split("/")[0] in ("configmap", "deployment", "daemonset"),
                   {"type": "string", "pattern": "^(configmap|deployment|daemonset)/[^/]+/[^/]+$"})
WORKLOAD_REF = Param("deployment/namespace/name or daemonset/namespace/name",
                     lambda v: isinstance(v, str) and len(v.split("/")) == 3 and all(v.split("/"))
                     and v.split("/")[0] in ("deployment", "daemonset"),
                     {"type": "string", "pattern": "^(deployment|daemonset)/[^/]+/[^/]+$"})
STATIC_POD = Param("a control-plane static pod: etcd, kube-apiserver, kube-controller-manager, kube-scheduler",
                   lambda v: isinstance(v, str) and v in ("etcd", "kube-apiserver", "kube-controller-manager",
                                                          "kube-scheduler"),
                   {"type": "string", "enum": ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"]})
DAYS = Param("a whole number of days >= 1", lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1,
             {"type": "integer", "minimum": 1})
FLAG_BOOL = Param("true or false", lambda v: isinstance(v, bool), {"type": "boolean"})
CONTAINER = Param("a container name suffix (the host's container is <cluster>-<this>)",
                  lambda v: isinstance(v, str) and v.strip() != "" and "/" not in v,
                  {"type": "string", "minLength": 1, "pattern": "^[^/]+$"})

UNIT = Param("a systemd unit name (e.g. kubelet)", lambda v: isinstance(v, str) and v.strip() != "" and "/" not in v,
             {"type": "string", "minLength": 1, "pattern": "^[^/]+$"})

TARGET_KINDS: dict[str, TargetSpec] = {
    "manifest": TargetSpec(
        "a static pod manifest in /etc/kubernetes/manifests (the component's own), changed by `edits`; "
        "the kubelet runs the edited pod",
        required={"path": TEXT}, check=_manifest_rule, journal=NodeFileRecord),
    "file": TargetSpec(
        "a node file (YAML: kubelet config, kubeconfig) changed by `edits`, then read again: `unit` (a systemd "
        "unit) restarted, or the container of `static_pod` stopped gracefully so that the kubelet starts it "
        "again (a component's kubeconfig); the undo puts the bytes back and restarts the same way",
        required={"path": ABS_PATH}, optional={"unit": UNIT, "static_pod": STATIC_POD}, check=_file_rule,
        journal=NodeFileRecord),
    "service": TargetSpec(
        "a systemd unit on the node, given an `action` (stop); undone by starting it",
        required={"unit": UNIT, "action": choice(*SERVICE_ACTIONS)}, edits="refused", journal=ServiceRecord),
    "file_removed": TargetSpec(
        "a node file removed (a static pod manifest moved out of the manifests directory, a CNI plugin binary "
        "gone); backed up first, undone by putting the original bytes and mode back. `static_pod`: the static "
        "pod whose sandbox proves the kubelet acted (else the file being gone is the proof)",
        required={"path": ABS_PATH}, optional={"static_pod": STATIC_POD}, edits="refused", check=_node_path_rule,
        journal=NodeFileRecord),
    "file_created": TargetSpec(
        "a node file that did not exist, created as a copy of `source` with the fault's `edits` applied if it "
        "has any (a stale backup left in the manifests directory); the journal records that it did not exist, "
        "the undo deletes it. `static_pod`: the static pod whose new sandbox proves the kubelet runs the copy",
        required={"path": ABS_PATH, "source": ABS_PATH}, optional={"static_pod": STATIC_POD}, edits="allowed",
        check=_created_rule, journal=CreatedFileRecord),
    "certificate": TargetSpec(
        "a certificate on the node re-issued from its CA (`ca`, key `ca_key`, default the CA's path with .key) "
        "for the same key and names, expired `expired_days` ago (generated on the host); undone by putting the "
        "original bytes back. `served`: the cluster endpoint serving the new certificate is the proof",
        required={"path": ABS_PATH, "ca": ABS_PATH},
        optional={"ca_key": ABS_PATH, "expired_days": DAYS, "served": FLAG_BOOL},
        defaults={"expired_days": 1, "served": False}, edits="refused", journal=NodeFileRecord),
    "api_object": TargetSpec(
        "a Kubernetes API object (`object`: configmap|deployment|daemonset/NAMESPACE/NAME) patched by `edits` "
        "(set_field, replace_text on the object as the API returns it); the journal on the node keeps the "
        "original fields, the undo puts them back. `rollout`: a workload restarted with it (its pods read the "
        "config only at start) and put back to its original template",
        required={"object": OBJECT_REF}, optional={"rollout": WORKLOAD_REF}, check=_object_rule,
        journal=ApiObjectRecord),
    "host_container": TargetSpec(
        "a container on the host, no node (kind's load balancer: `container: external-load-balancer` is "
        "<cluster>-external-load-balancer), stopped with docker stop; the journal is on the host, the undo "
        "is docker start",
        required={"container": CONTAINER}, edits="refused", journal=HostContainerRecord),
}
assert all(spec.journal for spec in TARGET_KINDS.values()), "every target kind says what its journal entry holds"
