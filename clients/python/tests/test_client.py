"""itmo_ledger against a real local network: signing, submit-and-wait, reason codes, proofs,
subscribe and resume across a node restart."""
import base64
import json
import os
import subprocess
import threading
import time
import unittest

import common
from localnet import BIN
from itmo_ledger import (AlreadyExists, InvalidArgument, KeyPair, ProofError, TransactionRejected, proofs,
                         signing_bytes, tx_id, tx_pb2)
from itmo_ledger import ledger_service_pb2 as ls


class ClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = common.client("validator-0", "validator-1")
        cls.approach = common.unique("CA")
        r = cls.c.submit_and_wait(common.register_approach(cls.c, cls.approach), check=True)
        assert r.outcome.status == tx_pb2.TX_ACCEPTED, r.outcome
        cls.base = time.time_ns() // 1000 % 10**12 * 1000

    def test_signing_bytes_layout(self):
        got = signing_bytes(b"itmo/v1/transaction", b"chain", b"\x01\x02")
        self.assertEqual(got, b"itmo-ledger\0" + (19).to_bytes(8, "little") + b"itmo/v1/transaction"
                         + (5).to_bytes(8, "little") + b"chain" + b"\x01\x02")

    def test_signature_identical_to_itmoctl(self):
        # Ed25519 is deterministic: the same key over the same body bytes must give itmoctl's bytes.
        net = common.net()
        out = subprocess.run([os.path.join(BIN, "itmoctl"), "tx", "--localnet", net.dir, "--signer", "GHA-NR",
                              "--action", "cancel", "--client-tx-id", "cmp-1", "--print-only", "--json",
                              '{"from": {"registry_id": "GHA-NR", "account_id": "GHA-HOLDING"}, "ranges": '
                              '[{"originating_registry": "GHA-NR", "first": "1", "last": "2"}]}'],
                             check=True, capture_output=True, text=True).stdout
        decoder, docs, pos = json.JSONDecoder(), [], 0
        while out[pos:].strip():
            doc, end = decoder.raw_decode(out[pos:].lstrip())
            pos = len(out) - len(out[pos:].lstrip()) + end
            docs.append(doc)
        signed = docs[-1]
        body = base64.b64decode(signed["body"])
        key = common.key("GHA-NR")
        self.assertEqual(base64.b64decode(signed["signatures"][0]["public_key"]), key.public_key)
        ours = self.c.sign(body, [key]).signatures[0].signature
        self.assertEqual(ours, base64.b64decode(signed["signatures"][0]["signature"]))

    def test_key_file_round_trip_and_permissions(self):
        path = os.path.join(common.net().work, "k.key")
        key = KeyPair.generate()
        key.save(path)
        self.assertEqual(KeyPair.load(path).public_key, key.public_key)
        os.chmod(path, 0o644)
        with self.assertRaises(PermissionError):
            KeyPair.load(path)

    def test_submit_and_wait_accepted_node_agrees_on_tx_id(self):
        signed = common.issue(self.c, self.approach, self.base + 1, self.base + 100)
        tid = self.c.submit(signed)  # The node verified our Ed25519 signature over our signing bytes.
        self.assertEqual(tid, tx_id(signed.body))
        r = self.c.wait(tid)
        self.assertEqual(r.outcome.status, tx_pb2.TX_ACCEPTED, r.outcome)
        self.assertEqual(r.outcome.submitter, "GHA-NR")
        # A resubmission of the same bytes is ALREADY_EXISTS; submit_and_wait treats it as a retry.
        with self.assertRaises(AlreadyExists):
            self.c.submit(signed)
        self.assertEqual(self.c.submit_and_wait(signed).height, r.height)

    def test_committed_rejection_carries_reason_code(self):
        first = self.base + 1001
        self.c.submit_and_wait(common.issue(self.c, self.approach, first, first + 9), check=True)
        overlap = common.issue(self.c, self.approach, first + 5, first + 20)
        r = self.c.submit_and_wait(overlap)
        self.assertEqual(r.state, ls.TRANSACTION_STATE_COMMITTED)
        self.assertEqual(r.outcome.status, tx_pb2.TX_REJECTED)
        self.assertEqual(r.outcome.code, tx_pb2.REASON_SERIAL_OVERLAP)
        with self.assertRaises(TransactionRejected) as cm:
            self.c.submit_and_wait(common.issue(self.c, self.approach, first, first), check=True)
        self.assertEqual(cm.exception.reason_code, 4001)
        self.assertEqual(cm.exception.reason_name, "REASON_SERIAL_OVERLAP")

    def test_refusal_reason_from_trailing_metadata(self):
        signed = common.issue(self.c, self.approach, self.base + 2001, self.base + 2002)
        bad = bytearray(signed.signatures[0].signature)
        bad[0] ^= 1
        signed.signatures[0].signature = bytes(bad)
        with self.assertRaises(InvalidArgument) as cm:
            self.c.submit(signed)
        self.assertEqual(cm.exception.reason_code, tx_pb2.REASON_BAD_SIGNATURE)
        self.assertEqual(cm.exception.reason_name, "REASON_BAD_SIGNATURE")
        # A signature over another chain id does not verify either.
        body = tx_pb2.TransactionBody.FromString(signed.body)
        body.chain_id = "another-chain"
        with self.assertRaises(InvalidArgument) as cm:
            self.c.submit(self.c.sign(body, [common.key("GHA-NR")]))
        self.assertEqual(cm.exception.reason_name, "REASON_WRONG_CHAIN_ID")

    def test_inclusion_and_commit_proof(self):
        r = self.c.submit_and_wait(common.issue(self.c, self.approach, self.base + 3001, self.base + 3010))
        self.c.verify_transaction(r)
        block = self.c.committed_block(r.height).committed.block
        keys, chain = self.c.validator_keys, self.c.chain_id

        def tampered(mutate):
            t = ls.GetTransactionResponse()
            t.CopyFrom(r)
            mutate(t)
            with self.assertRaises(ProofError):
                proofs.verify_transaction(t, block, keys, chain)

        def flip(b):
            return bytes([b[0] ^ 1]) + b[1:]

        tampered(lambda t: setattr(t, "transaction", t.transaction + b"\x00"))
        tampered(lambda t: setattr(t.block_header, "tx_root", flip(t.block_header.tx_root)))
        tampered(lambda t: setattr(t.block_header, "timestamp_ms", t.block_header.timestamp_ms + 1))
        tampered(lambda t: setattr(t, "block_id", flip(t.block_id)))
        sig = r.commit_proof.qc.signatures[0]
        tampered(lambda t: t.commit_proof.qc.signatures.__setitem__(0, flip(sig)))
        tampered(lambda t: setattr(t.commit_proof.qc, "signers", b"\x01"))
        if r.proof.path:
            tampered(lambda t: t.proof.path.__setitem__(0, flip(t.proof.path[0])))
        else:
            tampered(lambda t: t.proof.path.append(b"\x00" * 32))

    def test_merkle_against_rfc6962_shapes(self):
        for n in range(1, 12):
            leaves = [proofs.leaf_hash(bytes([i])) for i in range(n)]
            root = proofs.merkle_root(leaves)
            for i in range(n):
                path = _audit_path(leaves, i)
                self.assertTrue(proofs.verify_inclusion(leaves[i], i, n, path, root), (n, i))
                if n > 1:  # The same path does not prove the leaf at another index.
                    self.assertFalse(proofs.verify_inclusion(leaves[i], (i + 1) % n, n, path, root), (n, i))

    def test_subscribe_resumes_across_restart(self):
        net = common.net()
        sub = common.client("validator-2")
        start = sub.status().height + 1
        seen, errors = [], []
        stop = threading.Event()

        def follow():
            try:
                for msg in sub.subscribe(from_height=start, verify=True, max_outage_s=60):
                    seen.append((msg.height, [o.client_tx_id for o in msg.outcomes]))
                    if stop.is_set():
                        return
            except Exception as e:  # noqa: BLE001  (reported by the main thread)
                errors.append(e)

        thread = threading.Thread(target=follow, daemon=True)
        thread.start()
        before = self.c.submit_and_wait(common.issue(self.c, self.approach, self.base + 4001, self.base + 4001))
        net.stop("validator-2")
        during_tx = common.issue(self.c, self.approach, self.base + 4002, self.base + 4002)
        try:
            during = self.c.submit_and_wait(during_tx)
        except Exception as e:  # Names where the transaction is, should it not commit.
            where = []
            for n in ("validator-0", "validator-1", "validator-3", "observer-0"):
                x = common.client(n)
                st, tx = x.status(), x.get_transaction(tx_id=tx_id(during_tx.body))
                where.append("%s: height %d round %d mempool %d tx %s" % (
                    n, st.height, st.round, st.mempool_size, ls.TransactionState.Name(tx.state)))
            body = tx_pb2.TransactionBody.FromString(during_tx.body)
            raise AssertionError("%s; valid_until %d now %d; %s" % (e, body.valid_until_ms, time.time() * 1000,
                                                                    "; ".join(where))) from e
        net.start("validator-2")
        net.wait_healthy("validator-2")
        after = self.c.submit_and_wait(common.issue(self.c, self.approach, self.base + 4003, self.base + 4003))
        deadline = time.monotonic() + 60
        while (not seen or seen[-1][0] < after.height) and time.monotonic() < deadline and not errors:
            time.sleep(0.1)
        stop.set()
        self.assertEqual(errors, [])
        heights = [h for h, _ in seen]
        self.assertEqual(heights, list(range(start, start + len(heights))), "gap or duplicate")
        self.assertGreaterEqual(heights[-1], after.height)
        ids = [cid for _, cids in seen for cid in cids]
        for r in (before, during, after):
            self.assertEqual(ids.count(r.outcome.client_tx_id), 1, r.outcome.client_tx_id)


def _audit_path(leaves, index):
    path, level, pos = [], list(leaves), index
    while len(level) > 1:
        if pos ^ 1 < len(level):
            path.append(level[pos ^ 1])
        nxt = [proofs.node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level, pos = nxt, pos // 2
    return path


def tearDownModule():
    pass


if __name__ == "__main__":
    unittest.main()
