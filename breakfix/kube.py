"""A thin, time-bounded view of the API server (official kubernetes client)."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from .errors import BadInput, ClusterUnavailable

REQUEST_TIMEOUT = 10
STATIC_COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
# Those that lead by a Lease in kube-system named after them, and do their job only while they lead.
LEADER_ELECTED = ("kube-scheduler", "kube-controller-manager")


def check_kubeconfig(path: str | Path, label: str = "kubeconfig") -> Path:
    """PATH is a readable YAML kubeconfig with clusters, else BadInput naming LABEL (one line). A
    cheap look before anything connects; the kubernetes client checks the rest."""
    import yaml

    p = Path(path)
    where = f"{label} {path}"
    if not p.exists():
        raise BadInput(f"{where} not found")   # wording kept: tests/e2e/test_grader.py
    if not p.is_file():
        raise BadInput(f"{where}: not a file")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise BadInput(f"{where}: not UTF-8 text, not a kubeconfig") from None
    except OSError as exc:
        raise BadInput(f"{where}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark else ""
        raise BadInput(f"{where}: not valid YAML{at}, not a kubeconfig") from None
    if not isinstance(data, dict):
        raise BadInput(f"{where}: not a kubeconfig ({'empty' if data is None else f'a YAML {type(data).__name__}'})")
    if not isinstance(data.get("clusters"), list) or not data["clusters"]:
        raise BadInput(f"{where}: not a kubeconfig (no clusters)")
    return p


def node_affinity(node: str):
    """A required node affinity on the node's name (metadata.name): only NODE, as the scheduler decides
    (never nodeName, which would bypass it)."""
    client, _ = _client_modules()
    term = client.V1NodeSelectorTerm(match_fields=[client.V1NodeSelectorRequirement(
        key="metadata.name", operator="In", values=[node])])
    return client.V1Affinity(node_affinity=client.V1NodeAffinity(
        required_during_scheduling_ignored_during_execution=client.V1NodeSelector(node_selector_terms=[term])))


def _client_modules():
    from kubernetes import client, config  # heavy import, kept out of module import time
    return client, config


class Kube:
    def __init__(self, kubeconfig: str | Path, context: str | None = None):
        client, config = _client_modules()
        path = Path(kubeconfig)
        if not path.is_file():
            raise ClusterUnavailable(f"kubeconfig {path} not found")
        try:
            self.api_client = config.new_client_from_config(config_file=str(path), context=context)
        except Exception as exc:  # noqa: BLE001 - malformed file, unknown context
            raise ClusterUnavailable(f"kubeconfig {path}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}") from None
        self.kubeconfig = path
        self.core = client.CoreV1Api(self.api_client)
        self.apps = client.AppsV1Api(self.api_client)
        self.version_api = client.VersionApi(self.api_client)

    # --- reachability ------------------------------------------------------------------------
    def readyz(self) -> tuple[bool, str]:
        """(ready, what was seen). Any HTTP status but 200, a refused connection or a timeout is
        "not ready"."""
        try:
            method, url, headers, body, post = self.api_client.param_serialize(
                "GET", "/readyz", auth_settings=["BearerToken"])
            resp = self.api_client.call_api(method, url, headers, body, post, _request_timeout=5)
            data = resp.read()
            text = data.decode(errors="replace") if isinstance(data, bytes) else str(data or "")
            return resp.status == 200, f"/readyz {resp.status}: {text.strip()[:100]}"
        except Exception as exc:  # noqa: BLE001
            return False, "/readyz: " + _exc_line(exc)

    def server_version(self) -> str:
        return self.version_api.get_code(_request_timeout=REQUEST_TIMEOUT).git_version

    def check_reachable(self) -> None:
        try:
            self.server_version()
        except Exception as exc:  # noqa: BLE001
            raise ClusterUnavailable(f"API server of {self.kubeconfig} not reachable: {_exc_line(exc)}") from None

    # --- reads -------------------------------------------------------------------------------
    def node_names(self) -> list[str]:
        return [n.metadata.name for n in self.core.list_node(_request_timeout=REQUEST_TIMEOUT).items]

    def node(self, name: str):
        return self.core.read_node(name, _request_timeout=REQUEST_TIMEOUT)

    def node_ready(self, name: str) -> tuple[bool, str]:
        n = self.node(name)
        for c in n.status.conditions or []:
            if c.type == "Ready":
                return c.status == "True", f"node {name} Ready={c.status} ({c.reason}: {c.message})"
        return False, f"node {name} has no Ready condition"

    def pod(self, name: str, namespace: str = "kube-system"):
        return self.core.read_namespaced_pod(name, namespace, _request_timeout=REQUEST_TIMEOUT)

    def pods(self, namespace: str | None = None, selector: str | None = None):
        if namespace:
            return self.core.list_namespaced_pod(namespace, label_selector=selector,
                                                 _request_timeout=REQUEST_TIMEOUT).items
        return self.core.list_pod_for_all_namespaces(label_selector=selector,
                                                     _request_timeout=REQUEST_TIMEOUT).items

    def logs(self, pod: str, namespace: str = "kube-system", container: str | None = None,
             previous: bool = False, tail: int = 200) -> str:
        return self.core.read_namespaced_pod_log(pod, namespace, container=container, previous=previous,
                                                 tail_lines=tail, _request_timeout=REQUEST_TIMEOUT)

    def events_for(self, name: str, namespace: str) -> list:
        evs = self.core.list_namespaced_event(namespace, field_selector=f"involvedObject.name={name}",
                                              _request_timeout=REQUEST_TIMEOUT).items
        return sorted(evs, key=event_time)

    # --- writes ------------------------------------------------------------------------------
    def scale(self, deployment: str, replicas: int, namespace: str = "default") -> None:
        self.apps.patch_namespaced_deployment_scale(deployment, namespace, {"spec": {"replicas": replicas}},
                                                    _request_timeout=REQUEST_TIMEOUT)

    def deployment(self, name: str, namespace: str = "default"):
        return self.apps.read_namespaced_deployment(name, namespace, _request_timeout=REQUEST_TIMEOUT)

    def deployment_gone(self, name: str, namespace: str = "default") -> bool:
        """True only on the API's 404: a deployment being deleted in the foreground stays (with a
        deletionTimestamp) until the garbage collector has removed its pods and ReplicaSets. Any
        other failure to read it is raised, not taken for "gone"."""
        from kubernetes.client.exceptions import ApiException
        try:
            self.deployment(name, namespace)
        except ApiException as exc:
            if exc.status == 404:
                return True
            raise
        return False

    def ensure_deployment(self, name: str, image: str, replicas: int, namespace: str = "default",
                          node: str | None = None) -> None:
        """The Deployment NAME at REPLICAS; NODE: its pods may only run on that node (a node affinity
        on its name, which the scheduler decides; an existing Deployment gets it too)."""
        client, _ = _client_modules()
        from kubernetes.client.exceptions import ApiException
        labels = {"app": name}
        affinity = node_affinity(node) if node else None
        body = client.V1Deployment(
            metadata=client.V1ObjectMeta(name=name, labels=labels),
            spec=client.V1DeploymentSpec(
                replicas=replicas,
                selector=client.V1LabelSelector(match_labels=labels),
                template=client.V1PodTemplateSpec(
                    metadata=client.V1ObjectMeta(labels=labels),
                    spec=client.V1PodSpec(
                        termination_grace_period_seconds=2, affinity=affinity,
                        containers=[client.V1Container(
                            name=name, image=image, image_pull_policy="IfNotPresent",
                            readiness_probe=client.V1Probe(
                                http_get=client.V1HTTPGetAction(path="/healthz", port=8080),
                                period_seconds=2) if "breakfix" in image else None,
                        )]))))
        try:
            self.apps.create_namespaced_deployment(namespace, body, _request_timeout=REQUEST_TIMEOUT)
        except ApiException as exc:
            if exc.status != 409:
                raise
            if affinity is not None:
                have = self.apps.read_namespaced_deployment(name, namespace, _request_timeout=REQUEST_TIMEOUT)
                if have.spec.template.spec.affinity != affinity:
                    self.apps.patch_namespaced_deployment(name, namespace, {"spec": {"template": {"spec": {
                        "affinity": self.api_client.sanitize_for_serialization(affinity)}}}},
                        _request_timeout=REQUEST_TIMEOUT)
            self.scale(name, replicas, namespace)

    def delete_deployment(self, name: str, namespace: str = "default") -> None:
        from kubernetes.client.exceptions import ApiException
        try:
            self.apps.delete_namespaced_deployment(name, namespace, propagation_policy="Foreground",
                                                   grace_period_seconds=0, _request_timeout=REQUEST_TIMEOUT)
        except ApiException as exc:
            if exc.status != 404:
                raise

    def create_probe_pod(self, image: str, namespace: str = "default", node: str | None = None) -> str:
        """A pod that only has to run. NODE: it may only run there (a node affinity on the node's
        name, which the scheduler still decides, with the control-plane taint tolerated), for what
        a fault breaks on one node."""
        client, _ = _client_modules()
        name = f"breakfix-probe-{secrets.token_hex(3)}"
        placement = {}
        if node:
            placement = {"affinity": node_affinity(node),
                "tolerations": [client.V1Toleration(key="node-role.kubernetes.io/control-plane",
                                                    operator="Exists", effect="NoSchedule")]}
        body = client.V1Pod(
            metadata=client.V1ObjectMeta(name=name, labels={"app.kubernetes.io/managed-by": "kube-breakfix",
                                                             "kube-breakfix/probe": "true"}),
            spec=client.V1PodSpec(termination_grace_period_seconds=1, restart_policy="Never",
                                  containers=[client.V1Container(name="probe", image=image,
                                                                 image_pull_policy="IfNotPresent")],
                                  **placement))
        self.core.create_namespaced_pod(namespace, body, _request_timeout=REQUEST_TIMEOUT)
        return name

    def annotate_pod(self, name: str, namespace: str, key: str, value: str) -> None:
        """Set one annotation of pod NAME (a merge patch; raises when the API refuses or is away)."""
        self.core.patch_namespaced_pod(name, namespace, {"metadata": {"annotations": {key: value}}},
                                       _request_timeout=REQUEST_TIMEOUT)

    def delete_lease(self, name: str, namespace: str, resource_version: str) -> None:
        """Delete Lease NAME on the condition that it is still at RESOURCE_VERSION (a holder that
        renewed it meanwhile wins: the API answers 409 Conflict, raised)."""
        from kubernetes import client
        client.CoordinationV1Api(self.api_client).delete_namespaced_lease(
            name, namespace, _request_timeout=REQUEST_TIMEOUT,
            body=client.V1DeleteOptions(preconditions=client.V1Preconditions(resource_version=resource_version)))

    def delete_pod(self, name: str, namespace: str = "default") -> None:
        from kubernetes.client.exceptions import ApiException
        try:
            self.core.delete_namespaced_pod(name, namespace, grace_period_seconds=0, _request_timeout=REQUEST_TIMEOUT)
        except ApiException as exc:
            if exc.status != 404:
                raise

    def create_probe_service(self, selector: dict, port: int, namespace: str = "default") -> str:
        """A fresh ClusterIP Service in front of SELECTOR's pods (its rules on the node are new)."""
        client, _ = _client_modules()
        name = f"breakfix-probe-{secrets.token_hex(3)}"
        body = client.V1Service(
            metadata=client.V1ObjectMeta(name=name, labels={"app.kubernetes.io/managed-by": "kube-breakfix",
                                                             "kube-breakfix/probe": "true"}),
            spec=client.V1ServiceSpec(selector=selector, ports=[client.V1ServicePort(port=port, target_port=port)]))
        self.core.create_namespaced_service(namespace, body, _request_timeout=REQUEST_TIMEOUT)
        return name

    def service(self, name: str, namespace: str = "default"):
        return self.core.read_namespaced_service(name, namespace, _request_timeout=REQUEST_TIMEOUT)

    def delete_service(self, name: str, namespace: str = "default") -> None:
        from kubernetes.client.exceptions import ApiException
        try:
            self.core.delete_namespaced_service(name, namespace, _request_timeout=REQUEST_TIMEOUT)
        except ApiException as exc:
            if exc.status != 404:
                raise

    def delete_probe_pods(self, namespace: str = "default") -> None:
        for p in self.pods(namespace, "kube-breakfix/probe=true"):
            self.delete_pod(p.metadata.name, namespace)


def event_time(ev) -> str:
    t = ev.last_timestamp or ev.event_time or ev.metadata.creation_timestamp
    return t.isoformat() if t else ""


def _exc_line(exc: Exception) -> str:
    status = getattr(exc, "status", None)
    reason = getattr(exc, "reason", None)
    if status:
        return f"HTTP {status} {reason}"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[-1][:200] if text else ''}"


@dataclass
class ContainerView:
    """What matters of a static pod's container status, as plain data (printable evidence)."""
    pod: str
    ready: bool
    restarts: int
    config_hash: str | None
    waiting_reason: str | None
    waiting_message: str | None
    running: bool
    last_reason: str | None
    last_exit_code: int | None
    last_message: str | None
    container_id: str | None
    started_at: float | None = None       # the running container's start (epoch seconds)

    def line(self) -> str:
        parts = [f"{self.pod}: ready={self.ready} restarts={self.restarts}"]
        if self.running:
            parts.append("running")
        if self.waiting_reason:
            parts.append(f"waiting={self.waiting_reason}")
        if self.last_reason or self.last_exit_code is not None:
            parts.append(f"last terminated reason={self.last_reason} exit={self.last_exit_code}")
        if self.last_message:
            parts.append(f"message={self.last_message.strip()[:300]!r}")
        return " ".join(parts)


def container_view(pod) -> ContainerView:
    st = (pod.status.container_statuses or [None])[0]
    ann = pod.metadata.annotations or {}
    if st is None:
        return ContainerView(pod.metadata.name, False, 0, ann.get("kubernetes.io/config.hash"),
                             None, None, False, None, None, None, None)
    waiting = st.state.waiting if st.state else None
    term = st.last_state.terminated if st.last_state else None
    cur_term = st.state.terminated if st.state else None
    term = term or cur_term
    return ContainerView(
        pod=pod.metadata.name, ready=bool(st.ready), restarts=st.restart_count or 0,
        config_hash=ann.get("kubernetes.io/config.hash"),
        waiting_reason=waiting.reason if waiting else None,
        waiting_message=waiting.message if waiting else None,
        running=bool(st.state and st.state.running),
        last_reason=term.reason if term else None,
        last_exit_code=term.exit_code if term else None,
        last_message=term.message if term else None,
        container_id=st.container_id,
        started_at=(getattr(st.state.running, "started_at", None).timestamp()
                    if st.state and getattr(st.state.running, "started_at", None) else None),
    )
