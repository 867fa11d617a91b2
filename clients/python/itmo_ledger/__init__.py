"""itmo_ledger: a Python client of the itmo-ledger integrator API (docs/integrators.md)."""
from . import errors, proofs
from ._proto import consensus_pb2, genesis_pb2, ledger_pb2, ledger_service_pb2, tx_pb2, types_pb2
from .client import Client, load_genesis, now_ms
from .errors import (AlreadyExists, InvalidArgument, LedgerError, NotFound, PermissionDenied, ProofError,
                     ResourceExhausted, TransactionExpired, TransactionRejected, Unavailable, WaitTimeout)
from .signing import KeyPair, signing_bytes, tx_id

__all__ = [
    "AlreadyExists", "Client", "InvalidArgument", "KeyPair", "LedgerError", "NotFound", "PermissionDenied",
    "ProofError", "ResourceExhausted", "TransactionExpired", "TransactionRejected", "Unavailable",
    "WaitTimeout", "consensus_pb2", "errors", "genesis_pb2", "ledger_pb2", "ledger_service_pb2",
    "load_genesis", "now_ms", "proofs", "signing_bytes", "tx_id", "tx_pb2", "types_pb2",
]
