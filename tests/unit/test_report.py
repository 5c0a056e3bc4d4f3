import json

import pytest

import io

from breakfix.report import Reporter, TextReporter, redact, write_environment, write_timings


def test_redact_removes_keys_and_tokens():
    text = ("client-key-data: LS0tLS1CRUdJTg==\ntoken: abc.def\n"
            "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\nAuthorization: Bearer xyz")
    out = redact(text)
    for secret in ("LS0tLS1CRUdJTg==", "abc.def", "MIIE", "xyz"):
        assert secret not in out


@pytest.mark.parametrize("text,secret", [
    ("-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIKEYMATERIAL\nAwEHoUQDQgAE", "KEYMATERIAL"),      # cut before END
    ("log tail: ...-----BEGIN CERTIFICATE-----\nMIIC5zCCAc+gAwIBAgIIQ2", "MIIC5zCCAc"),
    ("GET /api Authorization: Basic YWRtaW46c2VjcmV0", "YWRtaW46c2VjcmV0"),
    ("authorization: basic dXNlcjpwYXNz\n", "dXNlcjpwYXNz"),
    ("users:\n- name: admin\n  user:\n    client-key-data: |\n      LS0tLS1CRUdJTiBSU0\n      QSBQUklWQVRFIEtF\n"
     "    client-certificate-data: >-\n      Q0VSVERBVEE=\nclusters: []\n", "QSBQUklWQVRFIEtF"),
    ("    client-certificate-data: >-\n      Q0VSVERBVEE=\n", "Q0VSVERBVEE="),
    ('{"token": "eyJhbGciOiJSUzI1NiJ9.payload.sig"}', "eyJhbGciOiJSUzI1NiJ9"),
    ("kube-apiserver --token=abc123secret --v=2", "abc123secret"),
])
def test_redact_covers_cut_blocks_basic_auth_and_block_scalars(text, secret):
    out = redact(text)
    assert secret not in out, out
    assert "<redacted" in out


def test_redact_keeps_what_is_not_secret():
    text = "clusters:\n- cluster:\n    server: https://127.0.0.1:6443\n  name: kind\nkind: Config\n"
    assert redact(text) == text


def test_timings_and_environment(tmp_path):
    r = Reporter()
    with r.timed("phase", fault="f"):
        pass
    write_timings(tmp_path / "t.json", r.timings)
    rows = json.loads((tmp_path / "t.json").read_text())["phases"]
    assert rows[0]["name"] == "phase" and rows[0]["fault"] == "f"
    write_environment(tmp_path / "res", {"Kubernetes": "v1.34.4", "Multi": "a\nb"})
    assert (tmp_path / "res" / "environment.properties").read_text() == "Kubernetes=v1.34.4\nMulti=a b\n"


def test_allure_reporter_outlives_the_test_it_reported_on(monkeypatch, capsys):
    """After Ctrl-C, pytest runs the restores at session end where allure-pytest has no test open
    (attach raises KeyError): the restore must not die on its own report line."""
    from breakfix.report import AllureReporter
    r = AllureReporter()

    def closed(*a, **k):
        raise KeyError(None)
    monkeypatch.setattr(r.allure, "attach", closed)
    with r.timed("fix->recovered"):
        r.attach("control plane after the fix", "ok")
    assert "control plane after the fix" in capsys.readouterr().err


def test_text_reporter_prints_each_step_with_its_time():
    out = io.StringIO()
    r = TextReporter(out)
    with r.step("break: the scheduler's command typo"):
        with r.step("wait: kube-scheduler shows the fault"):
            pass
    lines = out.getvalue().splitlines()
    assert lines[0] == "- break: the scheduler's command typo"
    assert lines[1] == "  - wait: kube-scheduler shows the fault"
    assert lines[2].startswith("    wait ") and lines[2].endswith(" s")
    assert lines[3].startswith("  break ") and lines[3].endswith(" s")
