"""Lines of a component's log or of a unit's journal, as text the components wrote: the line that
proves what is wrong (clip, error_line, cause_line), klog's error header, and the fields of a klog
structured line. Pure functions: no node, no API."""
from __future__ import annotations

import json
import re

COBRA = re.compile(r"^\s*(?:Error|error): \S")
KLOG = re.compile(r"^[EF]\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ \S+\] ")
WORDS = re.compile(r"\b(error|failed|fatal|invalid|unable|cannot|no such file|refused|denied|not found)\b", re.I)
# journalctl's short format puts "Nov 26 09:49:30.352084 host kubelet[9086]: " before the line itself.
JOURNALD = re.compile(r"^[A-Z][a-z]{2} +\d+ [\d:.]+ \S+ [\w.@-]+\[\d+\]: ")
# The words that end a concrete reason (where a line may be cut after it).
REASON = re.compile(r"no such file or directory|connection refused|permission denied|no such host|i/o timeout|"
                     r"certificate signed by unknown authority|(?:x509|tls): [^\"\\\n]*")


def clip(line: str, limit: int = 400) -> str:
    """LINE in at most LIMIT characters: its head, as the component wrote it. When the line's concrete
    reason (a dial, a missing file, a bad certificate) ends past the head, the head is shortened and
    the part that ends with that reason follows it: a Go error chain says it last
    ("...: dial unix /x.sock: connect: no such file or directory"), while etcd's JSON line says it
    early and then carries a stack trace."""
    if len(line) <= limit:
        return line
    m = REASON.search(line)
    if m is None or m.end() <= limit:
        return line[:limit]
    tail = min(120, limit // 3)     # enough for "dial unix <path>: connect: <reason>"
    return f"{line[:limit - 5 - tail]} ... {line[m.end() - tail:m.end()]}"


def error_line(log: str) -> str | None:
    """The component's own error line in its log: the first cobra `Error: ...` line (a bad flag,
    printed before pages of --help), else the last klog error/fatal line, else the last line that
    says it failed. A journal's lines are taken without journald's prefix, so that the kubelet's own
    klog line wins over systemd's "Failed with result" whichever of the two was written last.
    None for a log without one."""
    lines = [JOURNALD.sub("", ln.strip()) for ln in (log or "").splitlines() if ln.strip()]
    for ln in lines:
        if COBRA.match(ln):
            return clip(ln)
    klog = [ln for ln in lines if KLOG.match(ln)]
    if klog:
        return clip(klog[-1])
    hits = [ln for ln in lines if WORDS.search(ln)]
    return clip(hits[-1]) if hits else None


# An error that says only that time ran out; the line that says why is earlier in the log.
NO_REASON = re.compile(r"context deadline exceeded|timed out|timeout expired|deadline exceeded", re.I)
# What Go's libraries print when the reason is concrete: a dial, a file, a certificate, a name.
CONCRETE = re.compile(r"dial (?:tcp|udp|unix) \S+: .*|connect: connection refused|no such file or directory|"
                       r"x509: .*|tls: .*|permission denied|no such host|certificate signed by unknown authority",
                       re.I)

def cause_line(log: str, error: str | None) -> str | None:
    """When ERROR (the component's error line) only says a deadline passed, the line of LOG that
    says why: the last one naming a concrete failure (a dial refused, a missing file, a bad
    certificate), whatever its level (gRPC logs its dial errors as warnings). None otherwise."""
    if not error or not NO_REASON.search(error) or CONCRETE.search(error):
        return None
    hits = [ln.strip() for ln in (log or "").splitlines() if CONCRETE.search(ln) and ln.strip() != error]
    return clip(hits[-1]) if hits else None


# A klog error or fatal header anywhere in a line ("E1126 09:49:30"): the kubelet's errors in its journal.
KLOG_ERR = re.compile(r"\b[EF]\d{4} \d\d:\d\d:\d\d")

# klog's header of any level, then a structured line: "msg" key="value" key=value ...
_KLOG_HEAD = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ \S+\] ")
_QUOTED = r'"(?:[^"\\]|\\.)*"'
_KEY_VALUE = re.compile(r"\s*([\w.-]+)=(" + _QUOTED + r"|<\n.*?\n\s*>|[^\s\"]\S*)", re.S)


def _unquote(text: str) -> str:
    if not text.startswith('"'):
        return text
    try:
        return str(json.loads(text))
    except ValueError:   # a Go escape JSON does not know (\x..): the text between the quotes
        return text[1:-1]


def klog_fields(line: str) -> dict[str, str] | None:
    """The message ("msg") and the key=value fields of a klog structured line (klog.InfoS/ErrorS:
    `I1126 09:49:30.352084 9086 prober.go:107] "Probe failed" probeType="Readiness" pod="ns/name"`),
    values unquoted; None for a line that is not one. Parsing stops at the first part that is not
    key=value."""
    head = _KLOG_HEAD.match(line.strip())
    if head is None:
        return None
    rest = line.strip()[head.end():]
    msg = re.match(_QUOTED, rest)
    if msg is None:
        return None
    fields = {"msg": _unquote(msg.group(0))}
    pos = msg.end()
    while pos < len(rest):
        kv = _KEY_VALUE.match(rest, pos)
        if kv is None:
            break
        fields.setdefault(kv.group(1), _unquote(kv.group(2)))
        pos = kv.end()
    return fields
