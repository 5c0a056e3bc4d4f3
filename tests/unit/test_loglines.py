"""The kubelet's journal read as fields: klog structured lines and its failing probes."""
from __future__ import annotations

import json
from types import SimpleNamespace

from breakfix.loglines import KLOG_ERR, klog_fields
from breakfix.view import probe_failures

PROBE = ('I1126 09:49:30.352084    9086 prober.go:107] "Probe failed" probeType="Readiness" '
         'pod="kube-system/kube-apiserver-c-control-plane" podUID="0f3a" containerName="kube-apiserver" '
         'probeResult="failure" output="HTTP probe failed with statuscode: 500 \\"etcd\\""')


def test_klog_fields_of_a_structured_line():
    f = klog_fields(PROBE)
    assert f["msg"] == "Probe failed" and f["probeType"] == "Readiness"
    assert f["pod"] == "kube-system/kube-apiserver-c-control-plane"
    assert f["output"] == 'HTTP probe failed with statuscode: 500 "etcd"'


def test_klog_fields_of_a_multi_line_value_and_of_other_lines():
    f = klog_fields('E1126 09:49:30.352084 9086 pod_workers.go:1] "Error syncing pod, skipping" err=<\n'
                    '\tfirst\n\tsecond\n >\n pod="kube-system/etcd-c-control-plane"')
    assert f["msg"] == "Error syncing pod, skipping" and f["pod"] == "kube-system/etcd-c-control-plane"
    assert klog_fields("Started kubelet: The Kubernetes Node Agent.") is None
    assert klog_fields("I1126 09:49:30.352084 9086 x.go:1] unquoted message") is None


def test_klog_error_header():
    assert KLOG_ERR.search("E1126 09:49:30.352084 9086 x.go:1] boom")
    assert not KLOG_ERR.search(PROBE)


class JournalNode:
    def __init__(self, messages):
        self.messages, self.commands = messages, []

    def run(self, cmd, **kw):
        self.commands.append(cmd)
        lines = [json.dumps({"MESSAGE": m, "_SYSTEMD_UNIT": "kubelet.service"}) for m in self.messages]
        return SimpleNamespace(ok=True, stdout="\n".join(lines + ["not json"]), stderr="")


def test_probe_failures_match_the_fields_not_the_text():
    other = PROBE.replace("kube-apiserver-c-control-plane", "kube-apiserver-c-control-plane2")
    says = ('I1126 09:49:31.000000 9086 kubelet.go:1] "SyncLoop (probe)" probe="readiness" status="" '
            'pod="kube-system/kube-apiserver-c-control-plane" note="Probe failed"')
    node = JournalNode([PROBE, other, says, "Probe failed kube-apiserver-c-control-plane", PROBE])
    assert probe_failures(node, "kube-apiserver-c-control-plane") == [PROBE, PROBE]
    assert "journalctl -u kubelet" in node.commands[0] and "-o json" in node.commands[0]
    assert "--since -30s" in node.commands[0]
    assert probe_failures(JournalNode([says]), "kube-apiserver-c-control-plane") == []
