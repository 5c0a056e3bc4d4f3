import json

from breakfix.report import Reporter, redact, write_environment, write_timings


def test_redact_removes_keys_and_tokens():
    text = ("client-key-data: LS0tLS1CRUdJTg==\ntoken: abc.def\n"
            "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\nAuthorization: Bearer xyz")
    out = redact(text)
    for secret in ("LS0tLS1CRUdJTg==", "abc.def", "MIIE", "xyz"):
        assert secret not in out


def test_timings_and_environment(tmp_path):
    r = Reporter()
    with r.timed("phase", fault="f"):
        pass
    write_timings(tmp_path / "t.json", r.timings)
    rows = json.loads((tmp_path / "t.json").read_text())["phases"]
    assert rows[0]["name"] == "phase" and rows[0]["fault"] == "f"
    write_environment(tmp_path / "res", {"Kubernetes": "v1.34.4", "Multi": "a\nb"})
    assert (tmp_path / "res" / "environment.properties").read_text() == "Kubernetes=v1.34.4\nMulti=a b\n"
