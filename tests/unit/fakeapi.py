"""A fake API and a fake control-plane node for the grader's decisions (tests/unit only): the objects
the grader reads (mirror pods, nodes, the app's Deployment) as the Kubernetes client returns them,
and the node's answers to crictl, systemctl and journalctl as structured output (JSON). Nothing
here decides anything: each test says what the cluster shows, and a real Grader judges it."""
from __future__ import annotations

import json
from types import SimpleNamespace as NS

from kubernetes.client.exceptions import ApiException

from breakfix.kube import STATIC_COMPONENTS
from breakfix.node import Result

NODE = "cp"
NOW_NS = 10_000 * 10**9          # the node's clock
LONG_AGO_NS = NOW_NS - 3600 * 10**9


# --- the API --------------------------------------------------------------------------------------
def mirror_pod(comp: str, *, ready: bool = True, waiting: str | None = None, exit_code: int | None = None,
               node: str = NODE):
    """COMP's mirror pod as the API returns it: running and Ready, or waiting with a reason (its last
    container ended with EXIT_CODE)."""
    running = waiting is None
    last = NS(terminated=NS(reason="Error", exit_code=exit_code, message=None)) if exit_code is not None else None
    st = NS(ready=ready and running, restart_count=0 if running else 5, container_id="containerd://c1",
            state=NS(running=NS() if running else None, waiting=NS(reason=waiting, message=None) if waiting else None,
                     terminated=None),
            last_state=last)
    return NS(metadata=NS(name=f"{comp}-{node}", namespace="kube-system", annotations={
        "kubernetes.io/config.hash": f"hash-{comp}"}), status=NS(container_statuses=[st]), spec=NS(node_name=node))


def node_obj(name: str = NODE, ready: bool = True):
    cond = NS(type="Ready", status="True" if ready else "False", reason="KubeletReady" if ready else "NodeStatusUnknown",
              message="" if ready else "Kubelet stopped posting node status.")
    return NS(metadata=NS(name=name), status=NS(conditions=[cond]))


class FakeApi:
    """What the grader asks the API. POD_ERRORS: {pod name: an exception pod() raises} (an
    ApiException(404) is a mirror pod the API does not have; any other exception, the API gone)."""

    def __init__(self, pods=None, nodes=None, app_replicas: tuple[int, int] | None = (2, 2), logs=None):
        self.pods_by_name = {p.metadata.name: p for p in (pods if pods is not None else
                                                          [mirror_pod(c) for c in STATIC_COMPONENTS])}
        self.nodes = nodes if nodes is not None else [node_obj()]
        self.app = app_replicas                  # (spec.replicas, ready); None: no Deployment
        self.logs_by_pod = logs or {}            # {pod name: (previous log, current log)}
        self.pod_errors: dict[str, Exception] = {}
        self.core = NS(list_node=lambda _request_timeout=None: NS(items=self.nodes))

    def pod(self, name, namespace="kube-system"):
        if name in self.pod_errors:
            raise self.pod_errors[name]
        if name not in self.pods_by_name:
            raise ApiException(status=404, reason="Not Found")
        return self.pods_by_name[name]

    def logs(self, name, namespace="kube-system", previous=False, tail=200):
        prev, cur = self.logs_by_pod.get(name, ("", ""))
        return prev if previous else cur

    def deployment(self, name, namespace="default"):
        if self.app is None:
            raise ApiException(status=404, reason="Not Found")
        spec, ready = self.app
        return NS(metadata=NS(name=name, namespace=namespace), spec=NS(replicas=spec),
                  status=NS(replicas=spec, ready_replicas=ready, available_replicas=ready))

    def pods(self, namespace, selector):
        return [NS(metadata=NS(name="app-1"), status=NS(phase="Pending"), spec=NS(node_name=None))]


# --- the node, as crictl, systemctl and journalctl show it -----------------------------------------
class GraderNode:
    """A control-plane node's answers to the grader's reads. CONTAINERS: {component: its newest
    container's state (CONTAINER_RUNNING, CONTAINER_EXITED) or None (no container)}; KUBELET: the
    unit's ActiveState; EXIT_CODES: {component: exit code of its ended container}."""
    spec = "fake://cp"

    def __init__(self, containers=None, kubelet: str = "active", exit_codes=None, logs=None):
        self.containers = containers if containers is not None else {c: "CONTAINER_RUNNING" for c in STATIC_COMPONENTS}
        self.kubelet = kubelet
        self.exit_codes = exit_codes or {}
        self.logs = logs or {}                    # {component: its container's log}
        self.calls: list[str] = []

    def _ok(self, out: str) -> Result:
        return Result(0, out, "")

    def crictl(self, args: str, timeout: float = 30) -> Result:
        self.calls.append(f"crictl {args}")
        if args.startswith("pods --name"):
            comp = next(c for c in STATIC_COMPONENTS if f"^{c}-{NODE}$" in args)
            items = [{"metadata": {"uid": f"hash-{comp}", "name": f"{comp}-{NODE}", "namespace": "kube-system"},
                      "state": "SANDBOX_READY", "createdAt": str(LONG_AGO_NS)}]
            return self._ok(json.dumps({"items": items}))
        if args.startswith("ps -a --name"):
            comp = next(c for c in STATIC_COMPONENTS if f"^{c}$" in args)
            state = self.containers.get(comp)
            cs = [] if state is None else [{"id": f"id-{comp}", "state": state, "createdAt": str(LONG_AGO_NS),
                                            "labels": {"io.kubernetes.pod.name": f"{comp}-{NODE}",
                                                       "io.kubernetes.pod.uid": f"hash-{comp}"}}]
            return self._ok(json.dumps({"containers": cs}))
        if args.startswith("inspect "):
            comp = args.split("id-", 1)[1].strip("'\"")
            return self._ok(json.dumps({"status": {"exitCode": self.exit_codes.get(comp, 1), "reason": "Error"}}))
        if args.startswith("logs "):
            comp = args.rsplit("id-", 1)[1].strip("'\"")
            return self._ok(self.logs.get(comp, ""))
        if args.startswith("images"):
            return self._ok(json.dumps({"images": [{"repoTags": ["registry.k8s.io/pause:3.10"]}]}))
        return Result(1, "", f"fake node: no answer for crictl {args}")

    def run(self, cmd: str, timeout: float | None = None) -> Result:
        self.calls.append(cmd)
        if cmd.startswith("systemctl show -p ActiveState"):
            up = "1000000" if self.kubelet == "active" else "0"
            return self._ok(f"ActiveState={self.kubelet}\nSubState={'running' if self.kubelet == 'active' else 'dead'}\n"
                            f"Result=success\nNRestarts=0\nActiveEnterTimestampMonotonic={up}\nUptime=5000.0\n")
        if cmd.startswith("systemctl show -p InvocationID"):
            return self._ok("inv-1\n" if self.kubelet == "active" else "\n")
        if cmd.startswith("journalctl"):
            return self._ok("")               # no record: no probe failed, nothing said
        return Result(1, "", f"fake node: no answer for {cmd}")

    def check(self, cmd: str, timeout: float | None = None, what: str | None = None) -> str:
        self.calls.append(cmd)
        if cmd == "date +%s%N":
            return str(NOW_NS)
        return ""

    def journal(self, unit: str, since: str | None = None, lines: int = 200) -> str:
        return ""

    def read_many(self, paths):
        return {p: None for p in paths}

    def list_files(self, directory, pattern="*"):
        return []
