"""The reference "Control Plane Failure" lab, replayed in order on one cluster:
scheduler typo -> app Pending; fix -> scheduled. Controller-manager kubeconfig -> scale to 2 does
nothing; fix -> 2. k8s-certs hostPath -> scale to 3 does nothing; fix -> 3."""
import dataclasses

import allure
import pytest

LAB = [
    # (fault id, the lab's symptom on `app`, app replicas once fixed)
    ("scheduler-command-typo", {"kind": "pod_not_scheduled", "workload": "app",
                                "description": "the app deployment's pod stays Pending with no node"}, 1),
    ("controller-manager-kubeconfig-path", {"kind": "scale_stuck", "replicas": 2,
                                            "description": "scaling app to 2 does nothing"}, 2),
    ("controller-manager-pki-hostpath", {"kind": "scale_stuck", "replicas": 3,
                                         "description": "scaling app to 3 does nothing"}, 3),
]


@pytest.mark.e2e
@pytest.mark.lab_replay
@pytest.mark.reference_lab
@allure.epic("Control plane failures")
@allure.feature("reference lab")
@allure.story("Practice Test - Control Plane Failure, replayed in order")
@allure.severity(allure.severity_level.BLOCKER)
def test_reference_lab_replay(catalog, writable_lab, restore_on_exit, request):
    lab = writable_lab
    shape = request.config._breakfix_shape.name
    off = [f for f, _, _ in LAB if shape not in catalog[f].shapes]
    if off:
        pytest.skip(f"the reference lab's faults ({', '.join(off)}) are not for cluster shape {shape}")
    lab.wait_settled("control plane Ready before the lab")
    for fault_id, app_symptom, replicas in LAB:
        base = catalog[fault_id]
        node_symptoms = tuple(s for s in base.symptoms if s["kind"] not in ("pod_not_scheduled", "scale_stuck"))
        fault = dataclasses.replace(base, symptoms=node_symptoms + (app_symptom,))
        with allure.step(f"lab step {base.reference_lab}: {fault.title}"):
            inj = lab.inject(fault, restore_on_exit)
            lab.observe(inj)
            lab.restore(inj)
            obs = lab.wait_app(replicas)
            allure.attach(obs.text(), name=f"app after fix {base.reference_lab}",
                          attachment_type=allure.attachment_type.TEXT)
            if fault_id == "scheduler-command-typo":
                pods = lab.kube.pods(lab.namespace, f"app={lab.app_name}")
                assert pods and all(p.spec.node_name for p in pods), "app pod has no node after the fix"
    lab.kube.scale(lab.app_name, 1, lab.namespace)
    lab.wait_app(1)
