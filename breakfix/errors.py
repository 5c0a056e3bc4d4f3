"""Every error the engine raises on purpose: one line, saying what and where."""


class BreakfixError(Exception):
    """Base class. str(error) is a single line meant for a human."""

    def __str__(self) -> str:  # keep messages on one line
        return " ".join(str(self.args[0] if self.args else self.__class__.__name__).split())


class FaultFileError(BreakfixError):
    def __init__(self, path, field: str, reason: str):
        self.path, self.field, self.reason = str(path), field, reason
        super().__init__(f"{self.path}: field '{field}': {reason}")


class UnknownFault(BreakfixError):
    pass


class BadInput(BreakfixError):
    """An option, environment variable or input file the user can fix; refused before anything
    changes on a cluster."""


class InfrastructureError(BreakfixError):
    """The cluster, Docker or the node is not usable: not a verdict on the fault."""


class NodeUnreachable(InfrastructureError):
    pass


class ClusterUnavailable(InfrastructureError):
    pass


class WaitTimeout(BreakfixError):
    def __init__(self, what: str, timeout: float, last_seen: str):
        self.what, self.timeout, self.last_seen = what, timeout, last_seen
        super().__init__(f"WaitTimeout: {what} not reached within {timeout:.0f}s; last seen: {last_seen}")


class Verdict(BreakfixError, AssertionError):
    """The suite's verdict on a fault: it did not do what its file says (no symptom, no effect, no
    recovery). An AssertionError, so that the report files it as Failed, apart from the Broken
    tests whose cluster, Docker, node or harness failed them (InfrastructureError and the rest)."""


class SymptomNotObserved(Verdict):
    def __init__(self, symptom: str, detail: str):
        self.symptom, self.detail = symptom, detail
        super().__init__(f"SymptomNotObserved: {symptom}: {detail}")


class NoEffect(Verdict):
    """The change was made, but what proves it in force (its target kind's proof) never showed."""

    def __init__(self, what: str, detail: str):
        self.what, self.detail = what, detail
        super().__init__(f"NoEffect: {what}: {detail}")


class NotRecovered(Verdict):
    def __init__(self, what: str, detail: str):
        self.what, self.detail = what, detail
        super().__init__(f"NotRecovered: {what}: {detail}")
