"""Typed errors. Every error the node gives a ledger ReasonCode carries it (trailing metadata
`itmo-reason-code` / `itmo-reason-name`, docs/integrators.md section 3)."""
import grpc


class LedgerError(Exception):
    """A refusal by the node. code: grpc.StatusCode; reason_code: int (0 when none); reason_name."""

    def __init__(self, message, code=None, reason_code=0, reason_name=""):
        super().__init__(message)
        self.code = code
        self.reason_code = reason_code
        self.reason_name = reason_name

    def __str__(self):
        parts = [super().__str__()]
        if self.code is not None:
            parts.append("grpc %s" % self.code.name)
        if self.reason_code:
            parts.append("%s (%d)" % (self.reason_name, self.reason_code))
        return "; ".join(parts)


class InvalidArgument(LedgerError):
    """Malformed, badly signed, wrong chain, too large: never retry as is."""


class PermissionDenied(LedgerError):
    """Unknown submitter, or the submitter's key did not sign."""


class AlreadyExists(LedgerError):
    """Same tx id or (submitter, client_tx_id): look the transaction up instead."""


class NotFound(LedgerError):
    pass


class ResourceExhausted(LedgerError):
    """Mempool or per-submitter share full (retry the same bytes later), or above 4 MiB (never)."""


class Unavailable(LedgerError):
    """Node starting, stopping or unreachable: retry the same bytes, here or elsewhere."""


class TransactionRejected(LedgerError):
    """Committed with TX_REJECTED: the ledger recorded it and changed nothing. outcome: the
    TransactionOutcome."""

    def __init__(self, outcome):
        super().__init__(outcome.message or "transaction rejected", None, int(outcome.code),
                         _reason_name(outcome.code))
        self.outcome = outcome


class TransactionExpired(LedgerError):
    """Final: never committed before its valid_until_ms. Resubmit with the same client_tx_id."""


class WaitTimeout(LedgerError):
    """The outcome was not known within the wait; the transaction may still commit."""


class ProofError(LedgerError):
    """A proof did not verify."""


_BY_CODE = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
}


def _reason_name(code):
    from ._proto import tx_pb2
    try:
        return tx_pb2.ReasonCode.Name(int(code))
    except ValueError:
        return ""


def from_rpc_error(error):
    """The typed LedgerError of a grpc.RpcError, with the reason from its trailing metadata."""
    reason_code, reason_name = 0, ""
    trailing = error.trailing_metadata() if hasattr(error, "trailing_metadata") else None
    for key, value in trailing or ():
        if key == "itmo-reason-code":
            reason_code = int(value)
        elif key == "itmo-reason-name":
            reason_name = value
    code = error.code() if hasattr(error, "code") else None
    details = error.details() if hasattr(error, "details") else str(error)
    cls = _BY_CODE.get(code, LedgerError)
    return cls(details or "", code, reason_code, reason_name)
