"""Whether a kind node's container restarted, from Docker's own state of it: `docker inspect`'s JSON
(State.StartedAt, State.FinishedAt, State.Running, RestartCount), read when the suite starts and
compared after each test. A `docker restart` of the node, Docker's restart policy (kind gives its
nodes on-failure:1) and a Docker daemon restart (the daemon stops its containers when it stops and
starts those with a restart policy again when it starts) each leave a new StartedAt, or a FinishedAt
after the one seen, or a container not running. The node's files, backups and journal survive
(they are on the container's disk): the fault is still in place, and the next run or `breakfix
restore --cluster NAME` puts it back."""
from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

from .waits import Observation, WaitTimeout, wait_until

ZERO_TIME = "0001-01-01T00:00:00Z"    # Docker's FinishedAt of a container that never stopped


@dataclass(frozen=True)
class Boot:
    """One look at a node container's life, as Docker keeps it."""
    container: str
    started_at: str
    finished_at: str
    running: bool
    restart_count: int

    @classmethod
    def from_inspect(cls, doc: dict) -> "Boot":
        st = doc.get("State") or {}
        return cls(container=(doc.get("Name") or "").lstrip("/"), started_at=st.get("StartedAt") or "",
                   finished_at=st.get("FinishedAt") or ZERO_TIME, running=bool(st.get("Running")),
                   restart_count=int(doc.get("RestartCount") or 0))


def inspect(containers: list[str], run=subprocess.run) -> dict[str, Boot] | None:
    """Each container's Boot; None when Docker could not say (no answer, a container it does not
    know): that proves nothing either way."""
    try:
        r = run(["docker", "inspect", "--type", "container", *containers], capture_output=True, text=True,
                timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if r.returncode != 0:
        return None
    try:
        boots = [Boot.from_inspect(d) for d in json.loads(r.stdout)]
    except (ValueError, TypeError, AttributeError):
        return None
    return {b.container: b for b in boots}


def _t(stamp: str) -> str:
    """An RFC 3339 stamp cut to seconds, as the one line shows it."""
    return stamp[:19] + "Z" if len(stamp) >= 19 else stamp


@dataclass(frozen=True)
class Restart:
    before: Boot
    now: Boot

    def what(self) -> str:
        if not self.now.running and self.now.finished_at == ZERO_TIME:
            return "went away (Docker gave no answer about it)"
        if not self.now.running:
            return f"stopped at {_t(self.now.finished_at)} (Docker: not running)"
        return f"restarted at {_t(self.now.started_at)}"

    def line(self, fault: str | None, cluster: str | None) -> str:
        where = f" while {fault} was in place" if fault else ""
        undo = f"`breakfix restore --cluster {cluster}`" if cluster else "`breakfix restore`"
        return (f"kube-breakfix: node {self.now.container} {self.what()}{where} (Docker: started "
                f"{_t(self.now.started_at)}, was {_t(self.before.started_at)}; restart count "
                f"{self.before.restart_count} -> {self.now.restart_count}); what is not put back yet stays in the "
                f"node's journal: the next run or {undo} puts it back")


def changed(before: Boot, now: Boot) -> bool:
    return (now.started_at != before.started_at or now.finished_at != before.finished_at
            or now.restart_count != before.restart_count or not now.running)


@dataclass
class NodeWatch:
    """The node containers of a kind cluster as they were when the run started."""
    cluster: str
    before: dict[str, Boot]

    @classmethod
    def start(cls, cluster: str, containers: list[str], run=subprocess.run) -> "NodeWatch | None":
        boots = inspect(containers, run)
        return cls(cluster, boots) if boots and all(b.running for b in boots.values()) else None

    def restarts(self, run=subprocess.run, answer_within: float = 60.0,
                 wait: Callable = wait_until) -> list[Restart]:
        """The nodes whose container is not the one seen at the start. Docker not answering (its
        daemon restarting) is waited for, up to ANSWER_WITHIN seconds; still no answer: the node is
        taken as gone too (its StartedAt unknown), since nothing on it can be reached."""
        def read() -> Observation:
            boots = inspect(list(self.before), run)
            return Observation(boots is not None, boots if boots is not None else "docker inspect gave no answer")
        try:
            now = wait(read, "Docker answers about the nodes", answer_within, interval=1.0).seen
        except WaitTimeout:
            now = {n: Boot(n, "(unknown: Docker gave no answer)", ZERO_TIME, False, b.restart_count)
                   for n, b in self.before.items()}
        return [Restart(b, now[n]) for n, b in self.before.items() if n in now and changed(b, now[n])]
