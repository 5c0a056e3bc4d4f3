"""Every lab of labs/ (ids = lab ids), replayed step by step in order on one cluster, each step
through the scenario runner (breakfix/runner.py): break the step's fault, observe what the learner
sees, fix it (the same restore, registered before the change,
that runs on pass, fail, error and Ctrl-C), then prove the step's "fixed" criteria and grade the step
with the grader `breakfix lab check` runs."""
import allure
import pytest

from breakfix.grading import step_grader
from breakfix.grading.render import to_text
from breakfix.report import Shown, markdown_text
from breakfix.runner import by_teardown, run_cycle
from fixtures.lab import labs_on


@pytest.mark.e2e
@pytest.mark.lab_replay
def test_lab(lab_def, catalog, phase_picture, replay_lab, restore_on_exit, request):
    # on a cluster of the lab's shape (fixtures/lab.py replay_lab), `app` placed where the lab says
    lab = replay_lab
    # A step that fails after redeploying `app` (the learner's story) must not leave the next test on
    # this cluster without it: `app` back at one replica whatever happened (a finalizer registered
    # first runs last, after the step's own restore).
    restore_on_exit(lambda: lab.ensure_app(1))
    allure.dynamic.title(lab_def.title)
    allure.dynamic.epic("Control plane failures")
    allure.dynamic.feature("labs")
    allure.dynamic.suite("labs")
    allure.dynamic.story(lab_def.title)
    allure.dynamic.severity(allure.severity_level.BLOCKER)
    allure.dynamic.tag(lab_def.id)
    allure.dynamic.parameter("lab_def", Shown(lab_def.id))
    allure.dynamic.parameter("steps", Shown(" -> ".join(s.fault.id for s in lab_def.steps)))
    allure.dynamic.description("\n\n".join(
        [markdown_text(lab_def.description)] + [f"**Step {s.number}: {s.title}** (`{s.fault.id}`, "
                                                f"{s.fault.component})  \n{markdown_text(s.fault.remediation)}"
                                 for s in lab_def.steps]))
    lab.wait_settled("control plane Ready before the lab")
    lab.ensure_app(lab_def.app_replicas)
    for step in lab_def.steps:
        with allure.step(f"lab {lab_def.id} {step.full_title} ({step.fault.id})"):
            # the suite's cycle (one look when nothing changed since the last settle, the window after
            # the fix overlapped with the step's "fixed" checks where that is safe), verified by the
            # step's own "fixed" criteria
            run_cycle(labs_on(step.fault, lab), step.fault, restore_on_exit, cleanup=by_teardown,
                      verify=lambda c, step=step: fixed(c, step))
            with allure.step(f"grade step {step.number} (breakfix lab check {lab_def.id} --step {step.number})"):
                grader = step_grader(step, lab.node, lab.kube, lab.node_name, catalog, app_name=lab.app_name,
                                     namespace=lab.namespace, probe_image=lab.probe_image)
                report = grader.run()
                allure.attach(to_text(report), name=f"grade of step {step.number}",
                              attachment_type=allure.attachment_type.TEXT)
                assert report.verdict == "pass", f"step {step.number} grades {report.verdict}: {report.to_dict()['failed']}"
    lab.kube.scale(lab.app_name, 1, lab.namespace)
    lab.wait_app(1)
    phase_picture.attach()


def fixed(c, step) -> None:
    """A lab step's "fixed" criteria: `app` at the step's replica count, and a new pod schedules
    where the step asks it; then the stability window the fix started."""
    lab = c.lab
    with allure.step(f"fixed: app at {step.app_replicas} Ready replicas"
                     + (", a new pod schedules" if step.new_pod_schedules else "")):
        lab.kube.scale(lab.app_name, step.app_replicas, lab.namespace)
        obs = lab.wait_app(step.app_replicas)
        allure.attach(obs.text(), name=f"app after step {step.number}", attachment_type=allure.attachment_type.TEXT)
        if step.new_pod_schedules:   # on the fault's node where a pod elsewhere proves nothing about it
            on = lab.node_name if step.fault.verify_on_node else None
            allure.attach(lab.schedule_probe(on), name="a new pod scheduled" + (f" on {on}" if on else ""),
                          attachment_type=allure.attachment_type.TEXT)
        lab.confirm_stable()
