import pytest
import yaml

from breakfix import edits
from breakfix.edits import EditError

from .samples import KCM

MANIFEST = yaml.safe_load(KCM)


def cmd(doc):
    return doc["spec"]["containers"][0]["command"]


def test_set_command_replaces_only_the_binary():
    out = edits.set_command(MANIFEST, "kube-controller-managerrr")
    assert cmd(out)[0] == "kube-controller-managerrr"
    assert cmd(out)[1:] == cmd(MANIFEST)[1:]
    assert cmd(MANIFEST)[0] == "kube-controller-manager", "input must not be mutated"


def test_set_flag_replaces_existing_flag_in_place():
    out = edits.set_flag(MANIFEST, "--kubeconfig", "/etc/kubernetes/controller-manager-XXXX.conf")
    assert cmd(out)[1] == "--kubeconfig=/etc/kubernetes/controller-manager-XXXX.conf"
    assert len(cmd(out)) == len(cmd(MANIFEST))


def test_set_flag_appends_new_flag_and_does_not_match_prefixes():
    out = edits.set_flag(MANIFEST, "--leader", "x")
    assert cmd(out)[-1] == "--leader=x"
    assert "--leader-elect=true" in cmd(out)


def test_get_and_remove_flag():
    assert edits.get_flag(MANIFEST, "--kubeconfig") == "/etc/kubernetes/controller-manager.conf"
    out = edits.remove_flag(MANIFEST, "--leader-elect")
    assert edits.get_flag(out, "--leader-elect") is None
    with pytest.raises(EditError):
        edits.remove_flag(out, "--leader-elect")


def test_set_host_path_and_type():
    out = edits.set_host_path(MANIFEST, "k8s-certs", "/etc/kubernetes/WRONG-PKI-DIRECTORY", type="Directory")
    [v] = [vol["hostPath"] for vol in out["spec"]["volumes"] if vol["name"] == "k8s-certs"]
    assert v == {"path": "/etc/kubernetes/WRONG-PKI-DIRECTORY", "type": "Directory"}
    with pytest.raises(EditError, match="no volume named"):
        edits.set_host_path(MANIFEST, "nope", "/x")


def test_set_image_and_pull_policy():
    out = edits.set_image(MANIFEST, "127.0.0.1:5999/x:y", pull_policy="Always")
    c = out["spec"]["containers"][0]
    assert (c["image"], c["imagePullPolicy"]) == ("127.0.0.1:5999/x:y", "Always")


def test_set_probe_port():
    out = edits.set_probe_port(MANIFEST, 10299)
    assert out["spec"]["containers"][0]["livenessProbe"]["httpGet"]["port"] == 10299
    with pytest.raises(EditError):
        edits.set_probe_port(MANIFEST, 1, probe="readinessProbe")


def test_set_field_dotted_and_indexed():
    cfg = {"authentication": {"x509": {"clientCAFile": "/etc/kubernetes/pki/ca.crt"}}}
    out = edits.set_field(cfg, "authentication.x509.clientCAFile", "/x")
    assert out["authentication"]["x509"]["clientCAFile"] == "/x"
    kc = {"clusters": [{"cluster": {"server": "https://dev-control-plane:6443"}, "name": "dev"}]}
    assert edits.get_field(edits.set_field(kc, "clusters[0].name", "n"), "clusters[0].name") == "n"


def test_set_url_port_keeps_scheme_and_host():
    kc = {"clusters": [{"cluster": {"server": "https://dev-control-plane:6443"}}]}
    out = edits.set_url_port(kc, "clusters[0].cluster.server", 6553)
    assert out["clusters"][0]["cluster"]["server"] == "https://dev-control-plane:6553"
    v6 = {"s": "https://[fd00::1]:6443"}
    assert edits.set_url_port(v6, "s", 1)["s"] == "https://[fd00::1]:1"


def test_apply_edits_in_order_and_diff():
    out = edits.apply_edits(MANIFEST, [{"op": "set_command", "value": "a"}, {"op": "set_command", "value": "b"}])
    assert cmd(out)[0] == "b"
    d = edits.diff_text(yaml.safe_dump(MANIFEST), yaml.safe_dump(out), "m.yaml")
    assert "-    - kube-controller-manager" in d and "+    - b" in d


def test_every_edit_op_declares_a_type_for_each_parameter_of_its_function():
    import inspect

    from breakfix.edits import EDIT_OPS
    from breakfix.params import Param
    for op, (fn, required, optional) in EDIT_OPS.items():
        sig = inspect.signature(fn).parameters
        assert set(required) | set(optional) == set(sig) - {"doc"}, op
        assert {n for n, p in sig.items() if p.default is inspect.Parameter.empty} - {"doc"} == set(required), op
        assert all(isinstance(t, Param) for t in (*required.values(), *optional.values())), op


@pytest.mark.parametrize("op,param,good,bad", [
    ("set_url_port", "value", 6553, "abc"),
    ("set_url_port", "value", 65535, 70000),
    ("set_url_port", "value", 1, True),
    ("set_flag", "flag", "--kubeconfig", 5),
    ("set_flag", "flag", "--x", "kubeconfig"),
    ("set_flag", "value", "NodeRestriction", ["a"]),
    ("set_host_path", "value", "/var/lib/etcd", "var/lib/etcd"),
    ("set_host_path", "type", "Directory", "Folder"),
    ("set_probe_port", "value", 10257, "10257"),
    ("set_command", "value", "kube-schedulerrrr", ""),
])
def test_edit_param_types(op, param, good, bad):
    from breakfix.edits import EDIT_OPS
    _, required, optional = EDIT_OPS[op]
    t = {**required, **optional}[param]
    assert t.problem(good) is None
    assert t.problem(bad).startswith(f"must be {t.what}, got ")
