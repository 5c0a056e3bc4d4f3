"""breakfix/restarts.py: a node container's restart told from `docker inspect`'s JSON (a fake
`docker` here; tests/e2e/test_node_restart.py restarts a real kind node under a running suite)."""
from __future__ import annotations

import json
import subprocess

from breakfix.restarts import ZERO_TIME, Boot, NodeWatch, changed, inspect
from breakfix.waits import wait_until

NODE = "c-control-plane"


def doc(started="2026-12-07T16:00:00.123456789Z", finished=ZERO_TIME, running=True, count=0, name=NODE):
    return {"Name": f"/{name}", "RestartCount": count,
            "State": {"StartedAt": started, "FinishedAt": finished, "Running": running}}


class FakeDocker:
    """Answers `docker inspect` with the next of ANSWERS: a list of documents, or None (no answer)."""

    def __init__(self, *answers):
        self.answers, self.calls = list(answers), []

    def __call__(self, argv, **kw):
        self.calls.append(argv)
        ans = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if ans is None:
            return subprocess.CompletedProcess(argv, 1, "", "Cannot connect to the Docker daemon")
        return subprocess.CompletedProcess(argv, 0, json.dumps(ans), "")


def no_wait(probe, what, deadline, interval=1.0):
    return wait_until(probe, what, 0.0, interval=0.0, pause=lambda s: None)


def test_inspect_reads_the_state_fields_and_nothing_else():
    run = FakeDocker([doc(count=2)])
    boots = inspect([NODE], run)
    assert boots == {NODE: Boot(NODE, "2026-12-07T16:00:00.123456789Z", ZERO_TIME, True, 2)}
    assert run.calls == [["docker", "inspect", "--type", "container", NODE]]


def test_no_answer_or_not_json_proves_nothing():
    assert inspect([NODE], FakeDocker(None)) is None
    assert inspect([NODE], lambda argv, **kw: subprocess.CompletedProcess(argv, 0, "not json", "")) is None


def test_the_same_container_is_no_restart():
    watch = NodeWatch.start("c", [NODE], FakeDocker([doc()]))
    assert watch.restarts(FakeDocker([doc()]), wait=no_wait) == []


def test_docker_restart_gives_one_line_naming_node_time_fault_and_the_undo():
    watch = NodeWatch.start("c", [NODE], FakeDocker([doc()]))
    later = doc(started="2026-12-07T16:05:09.5Z", finished="2026-12-07T16:05:08.9Z")
    [r] = watch.restarts(FakeDocker([later]), wait=no_wait)
    line = r.line("scheduler-command-typo", "c")
    assert "\n" not in line
    assert line == ("kube-breakfix: node c-control-plane restarted at 2026-12-07T16:05:09Z while "
                    "scheduler-command-typo was in place (Docker: started 2026-12-07T16:05:09Z, was "
                    "2026-12-07T16:00:00Z; restart count 0 -> 0); what is not put back yet stays in the node's "
                    "journal: the next run or `breakfix restore --cluster c` puts it back")


def test_a_stopped_node_and_a_restart_by_the_policy_count_too():
    before = Boot.from_inspect(doc())
    assert changed(before, Boot.from_inspect(doc(running=False, finished="2026-12-07T16:01:00Z")))
    assert changed(before, Boot.from_inspect(doc(count=1)))
    r = NodeWatch("c", {NODE: before}).restarts(FakeDocker([doc(running=False, finished="2026-12-07T16:01:00Z")]),
                                                wait=no_wait)
    assert r[0].what() == "stopped at 2026-12-07T16:01:00Z (Docker: not running)"


def test_docker_that_never_answers_counts_the_node_gone():
    watch = NodeWatch("c", {NODE: Boot.from_inspect(doc())})
    [r] = watch.restarts(FakeDocker(None), wait=no_wait)
    assert r.what() == "went away (Docker gave no answer about it)"


def test_docker_answering_late_is_waited_for():
    watch = NodeWatch("c", {NODE: Boot.from_inspect(doc())})
    seen = FakeDocker(None, None, [doc()])
    assert watch.restarts(seen, wait=lambda p, w, d, interval: wait_until(p, w, 5, interval=0,
                                                                           pause=lambda s: None)) == []
    assert len(seen.calls) == 3


def test_no_watch_when_a_node_is_not_running_at_the_start():
    assert NodeWatch.start("c", [NODE], FakeDocker([doc(running=False)])) is None
    assert NodeWatch.start("c", [NODE], FakeDocker(None)) is None
