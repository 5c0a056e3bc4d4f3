"""Test data shared by the unit tests: the smallest valid fault file, a kubeadm controller manager
manifest, and writing a file under tmp."""
from pathlib import Path

DEMO_FAULT = """
id: demo-fault
component: kube-scheduler
title: demo
target: {kind: manifest, path: kube-scheduler.yaml}
edits:
  - {op: set_command, value: nope}
symptoms:
  - {kind: pod_not_scheduled}
fix: put it back
remediation: read the manifest
"""

# A kubeadm-style kube-controller-manager static pod manifest (the edits and the grader read it).
KCM = """
apiVersion: v1
kind: Pod
metadata: {name: kube-controller-manager, namespace: kube-system}
spec:
  containers:
  - name: kube-controller-manager
    image: registry.k8s.io/kube-controller-manager:v1.34.4
    command:
    - kube-controller-manager
    - --kubeconfig=/etc/kubernetes/controller-manager.conf
    - --client-ca-file=/etc/kubernetes/pki/ca.crt
    - --cluster-signing-cert-file=/etc/kubernetes/pki/ca.crt
    - --requestheader-client-ca-file=/etc/kubernetes/pki/front-proxy-ca.crt
    - --bind-address=127.0.0.1
    - --leader-elect=true
    livenessProbe:
      httpGet: {host: 127.0.0.1, path: /healthz, port: 10257, scheme: HTTPS}
    volumeMounts:
    - {mountPath: /etc/ssl/certs, name: ca-certs, readOnly: true}
    - {mountPath: /etc/kubernetes/pki, name: k8s-certs, readOnly: true}
    - {mountPath: /etc/kubernetes/controller-manager.conf, name: kubeconfig, readOnly: true}
  volumes:
  - {name: ca-certs, hostPath: {path: /etc/ssl/certs, type: DirectoryOrCreate}}
  - {name: k8s-certs, hostPath: {path: /etc/kubernetes/pki, type: DirectoryOrCreate}}
  - {name: kubeconfig, hostPath: {path: /etc/kubernetes/controller-manager.conf, type: FileOrCreate}}
"""


def write(tmp_path: Path, text: str, name: str = "demo-fault.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p
