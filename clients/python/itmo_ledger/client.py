"""A client of the itmo.v1.Ledger gRPC service (docs/integrators.md).

    from itmo_ledger import Client, KeyPair
    client = Client("127.0.0.1:7100", genesis="localnet/genesis.json")
    key = KeyPair.load("localnet/keys/CHE-NR.key")
    body = client.body("SUBMITTER_REGISTRY", "CHE-NR", "CHE-2026-000123", transfer=Transfer(...))
    result = client.submit_and_wait(client.sign(body, [key]))   # COMMITTED: result.outcome
    for commit in client.subscribe(from_height=last + 1):        # survives restarts
        ...
"""
import json
import time

import grpc
from google.protobuf import json_format

from . import errors
from . import proofs
from ._proto import consensus_pb2, genesis_pb2, ledger_service_pb2 as ls, ledger_service_pb2_grpc, tx_pb2
from .signing import CONTEXT_TRANSACTION, tx_id as compute_tx_id

DEFAULT_LIFETIME_MS = 120_000
_RETRYABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED,
              grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED, grpc.StatusCode.INTERNAL,
              grpc.StatusCode.UNKNOWN)


def load_genesis(path):
    """genesis.json (protobuf JSON of itmo.v1.Genesis) as a Genesis message."""
    with open(path) as f:
        return json_format.Parse(f.read(), genesis_pb2.Genesis(), ignore_unknown_fields=True)


def now_ms():
    return int(time.time() * 1000)


class Client:
    """targets: one "host:port" or a list (subscriptions fail over in order). genesis: a path or
    a Genesis message; gives chain_id and the validator keys for proofs. chain_id: else read from
    GetStatus."""

    def __init__(self, targets, genesis=None, chain_id=None, timeout_s=10.0):
        self.targets = [targets] if isinstance(targets, str) else list(targets)
        if not self.targets:
            raise ValueError("no target")
        self.genesis = load_genesis(genesis) if isinstance(genesis, str) else genesis
        self.timeout_s = timeout_s
        self._channels = {}
        self._chain_id = chain_id or (self.genesis.chain_id if self.genesis else None)

    # --- plumbing
    def _stub(self, target=None):
        target = target or self.targets[0]
        if target not in self._channels:
            # Short reconnect backoff: after a node restart the channel is usable again within
            # about a second instead of gRPC's default (up to 120 s).
            self._channels[target] = grpc.insecure_channel(target, options=[
                ("grpc.max_receive_message_length", 64 << 20),
                ("grpc.initial_reconnect_backoff_ms", 200),
                ("grpc.min_reconnect_backoff_ms", 200),
                ("grpc.max_reconnect_backoff_ms", 2000)])
        return ledger_service_pb2_grpc.LedgerStub(self._channels[target])

    def _call(self, method, request, timeout_s=None):
        try:
            return getattr(self._stub(), method)(request, timeout=timeout_s or self.timeout_s)
        except grpc.RpcError as e:
            raise errors.from_rpc_error(e) from None

    def close(self):
        for channel in self._channels.values():
            channel.close()
        self._channels.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def chain_id(self):
        if self._chain_id is None:
            self._chain_id = self.status().chain_id
        return self._chain_id

    @property
    def validator_keys(self):
        if self.genesis is None:
            raise ValueError("proof verification needs the genesis (validator keys)")
        return [bytes(v.consensus_key) for v in self.genesis.validators]

    # --- reads
    def status(self):
        return self._call("GetStatus", ls.GetStatusRequest())

    def get_transaction(self, tx_id=None, submitter=None, client_tx_id=None):
        if tx_id is not None:
            request = ls.GetTransactionRequest(tx_id=tx_id)
        else:
            request = ls.GetTransactionRequest(
                client=ls.GetTransactionRequest.ByClientId(submitter=submitter, client_tx_id=client_tx_id))
        return self._call("GetTransaction", request)

    def holdings(self, registry_id, account_id):
        from ._proto import types_pb2
        return self._call("GetHoldings", ls.GetHoldingsRequest(
            account=types_pb2.AccountRef(registry_id=registry_id, account_id=account_id)))

    def unit_history(self, originating_registry, serial):
        return self._call("GetUnitHistory", ls.GetUnitHistoryRequest(
            originating_registry=originating_registry, serial=serial))

    def adjustments(self, party, year_first=0, year_last=0):
        return self._call("GetAdjustments", ls.GetAdjustmentsRequest(
            party=party, year_first=year_first, year_last=year_last))

    # --- building and signing
    def body(self, submitter_kind, submitter, client_tx_id, lifetime_ms=DEFAULT_LIFETIME_MS, **action):
        """A TransactionBody with exactly one action, e.g. issue=tx_pb2.Issue(...) or
        transfer={"from": ..., "to": ..., "ranges": [...]} (protobuf JSON of the action)."""
        if len(action) != 1:
            raise ValueError("exactly one action, got %s" % sorted(action))
        (name, value), = action.items()
        body = tx_pb2.TransactionBody(
            chain_id=self.chain_id,
            submitter_kind=tx_pb2.SubmitterKind.Value(submitter_kind)
            if isinstance(submitter_kind, str) else submitter_kind,
            submitter=submitter, client_tx_id=client_tx_id, valid_until_ms=now_ms() + lifetime_ms)
        field = getattr(body, name)
        if isinstance(value, dict):
            json_format.ParseDict(value, field)
        else:
            field.CopyFrom(value)
        return body

    def sign(self, body, keys):
        """SignedTransaction over the body's bytes, serialized once (body: message or bytes)."""
        body_bytes = body if isinstance(body, bytes) else body.SerializeToString()
        chain = self.chain_id
        signed = tx_pb2.SignedTransaction(body=body_bytes)
        for key in keys:
            signed.signatures.add(public_key=key.public_key,
                                  signature=key.sign(CONTEXT_TRANSACTION, chain, body_bytes))
        return signed

    # --- submitting
    def submit(self, signed):
        """SubmitTransaction: the tx id once admitted. Raises a typed LedgerError with the reason."""
        return self._call("SubmitTransaction", signed).tx_id

    def wait(self, tx_id, timeout_s=60.0, poll_s=0.1):
        """Polls until COMMITTED (returns the GetTransactionResponse) or EXPIRED (raises)."""
        deadline = time.monotonic() + timeout_s
        last = "none"
        while True:
            try:
                response = self.get_transaction(tx_id=tx_id)
                last = ls.TransactionState.Name(response.state)
                if response.state == ls.TRANSACTION_STATE_COMMITTED:
                    return response
                if response.state == ls.TRANSACTION_STATE_EXPIRED:
                    raise errors.TransactionExpired("transaction %s expired" % tx_id.hex())
            except errors.Unavailable:
                pass
            if time.monotonic() >= deadline:
                raise errors.WaitTimeout("transaction %s not committed within %.0f s (last state %s on %s)"
                                         % (tx_id.hex(), timeout_s, last, self.targets[0]))
            time.sleep(poll_s)

    def submit_and_wait(self, signed, timeout_s=60.0, check=False):
        """Submits (an ALREADY_EXISTS retry is not an error) and waits for the outcome. Returns the
        COMMITTED GetTransactionResponse (outcome.status TX_ACCEPTED or TX_REJECTED with its code);
        check=True raises TransactionRejected for TX_REJECTED."""
        tid = compute_tx_id(signed.body)
        try:
            got = self.submit(signed)
            if got != tid:
                raise errors.LedgerError("node computed tx id %s, client %s" % (got.hex(), tid.hex()))
        except errors.AlreadyExists:
            pass
        response = self.wait(tid, timeout_s)
        if check and response.outcome.status != tx_pb2.TX_ACCEPTED:
            raise errors.TransactionRejected(response.outcome)
        return response

    # --- following the log
    def subscribe(self, from_height=1, omit_transactions=False, reconnect=True, max_outage_s=60.0,
                  verify=False, idle_timeout_s=None):
        """Yields every SubscribeCommitsResponse from from_height on, in order and exactly once,
        reconnecting (to the next target in turn) with from_height = last + 1 after a disconnect,
        a restart or a "resume from height N" cut-off. Gives up (raises Unavailable) after
        max_outage_s without a connection; stops after idle_timeout_s without a block, if set.
        verify=True checks each block's id, tx root and commit proof against genesis."""
        next_height = max(1, from_height)
        target_index = 0
        outage_since = None
        while True:
            target = self.targets[target_index % len(self.targets)]
            call = self._stub(target).SubscribeCommits(
                ls.SubscribeCommitsRequest(from_height=next_height, omit_transactions=omit_transactions))
            try:
                while True:
                    try:
                        msg = call.next() if idle_timeout_s is None else _next_within(call, idle_timeout_s)
                    except StopIteration:
                        break
                    if msg is None:
                        call.cancel()
                        return
                    outage_since = None
                    if msg.height < next_height:
                        continue  # Already seen (never expected: the stream starts at from_height).
                    if msg.height != next_height:
                        raise errors.LedgerError("gap: expected height %d, got %d" % (next_height, msg.height))
                    if verify and not omit_transactions:
                        proofs.verify_committed_block(msg, self.validator_keys, self.chain_id)
                    next_height += 1
                    yield msg
            except grpc.RpcError as e:
                if not reconnect or e.code() not in _RETRYABLE:
                    raise errors.from_rpc_error(e) from None
            finally:
                call.cancel()
            if not reconnect:
                return
            outage_since = outage_since or time.monotonic()
            if time.monotonic() - outage_since > max_outage_s:
                raise errors.Unavailable("no node reachable for %.0f s (resume from height %d)"
                                         % (max_outage_s, next_height))
            channel = self._channels.pop(target, None)  # A fresh channel: no stale backoff state.
            if channel is not None:
                channel.close()
            target_index += 1
            time.sleep(0.2)

    def committed_block(self, height):
        """The SubscribeCommitsResponse of one committed height."""
        for msg in self.subscribe(from_height=height, reconnect=False):
            return msg
        raise errors.NotFound("no block at height %d" % height)

    # --- proofs
    def verify_transaction(self, response):
        """Verifies a COMMITTED GetTransactionResponse end to end (inclusion in tx_root, the block
        id of the header with the committed block's parent QC, the quorum certificates). Raises
        ProofError; returns the response."""
        if response.state != ls.TRANSACTION_STATE_COMMITTED:
            raise errors.ProofError("transaction is not committed")
        block = self.committed_block(response.height).committed.block
        proofs.verify_transaction(response, block, self.validator_keys, self.chain_id)
        return response


def _next_within(call, timeout_s):
    """The next stream message, or None after timeout_s without one."""
    import threading
    box = {}
    done = threading.Event()

    def run():
        try:
            box["msg"] = call.next()
        except BaseException as e:  # noqa: B036  (re-raised in the caller's thread)
            box["error"] = e
        done.set()

    threading.Thread(target=run, daemon=True).start()
    if not done.wait(timeout_s):
        return None
    if "error" in box:
        raise box["error"]
    return box["msg"]


def outcome_json(outcome):
    return json.loads(json_format.MessageToJson(outcome, preserving_proto_field_name=True))


__all__ = ["Client", "load_genesis", "now_ms", "outcome_json", "consensus_pb2"]
