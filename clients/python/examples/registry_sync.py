#!/usr/bin/env python3
"""Example registry integration: a SQLite registry database kept reconciled with the ledger.

Follows SubscribeCommits from the last height stored in the database. Each committed block is
applied in ONE SQLite transaction together with the new last height, so a crash or kill at any
point loses nothing and applies nothing twice: a restart resumes from last + 1 (idempotent across
restarts, docs/integrators.md section 6). Every committed transaction (accepted or rejected, with
its reason code) is recorded; accepted issuances, transfers, uses and cancellations update the
held and retired totals per account. --reconcile then compares those totals with GetHoldings read
at the same height (the ITL's phase 1, docs/integrators.md section 7).

    python3 clients/python/examples/registry_sync.py --node 127.0.0.1:7100 \\
        --genesis localnet/genesis.json --db registry.sqlite --until-height 0 --reconcile

--until-height 0 means "the node's current height"; without --until-height (and --reconcile) it
follows forever (Ctrl-C is safe at any moment). Exit codes: 0 ok, 1 reconciliation differences, 2 usage/errors.
"""
import argparse
import os
import sqlite3
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

from itmo_ledger import Client, LedgerError, NotFound, tx_pb2  # noqa: E402

SCHEMA = """
CREATE TABLE IF NOT EXISTS sync_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  last_height INTEGER NOT NULL,
  last_block_id TEXT NOT NULL,
  state_root TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blocks (
  height INTEGER PRIMARY KEY,
  block_id TEXT NOT NULL UNIQUE,
  state_root TEXT NOT NULL,
  timestamp_ms INTEGER NOT NULL,
  tx_count INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS transactions (
  tx_id TEXT PRIMARY KEY,
  height INTEGER NOT NULL REFERENCES blocks(height),
  idx INTEGER NOT NULL,
  submitter TEXT NOT NULL,
  client_tx_id TEXT NOT NULL,
  action TEXT NOT NULL,
  status TEXT NOT NULL,
  reason_code INTEGER NOT NULL,
  reason_name TEXT NOT NULL,
  message TEXT NOT NULL,
  UNIQUE (submitter, client_tx_id));
-- Decimal text: unit counts are unsigned 128-bit on the ledger.
CREATE TABLE IF NOT EXISTS account_totals (
  registry_id TEXT NOT NULL,
  account_id TEXT NOT NULL,
  held TEXT NOT NULL,
  retired TEXT NOT NULL,
  PRIMARY KEY (registry_id, account_id));
"""


def open_db(path):
    db = sqlite3.connect(path, isolation_level=None)  # Explicit BEGIN/COMMIT below.
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.executescript(SCHEMA)
    return db


def last_height(db):
    row = db.execute("SELECT last_height FROM sync_state WHERE id = 1").fetchone()
    return row[0] if row else 0


def _units(ranges):
    return sum(r.last - r.first + 1 for r in ranges)


def _add(db, account, held=0, retired=0, registry=None):
    if registry and account.registry_id != registry:
        return
    row = db.execute("SELECT held, retired FROM account_totals WHERE registry_id = ? AND account_id = ?",
                     (account.registry_id, account.account_id)).fetchone()
    h, r = (int(row[0]), int(row[1])) if row else (0, 0)
    db.execute("INSERT OR REPLACE INTO account_totals VALUES (?, ?, ?, ?)",
               (account.registry_id, account.account_id, str(h + held), str(r + retired)))


def apply_action(db, body, registry=None):
    """The effect of an ACCEPTED transaction on the account totals."""
    action = body.WhichOneof("action")
    if action == "issue":
        _add(db, body.issue.to, held=sum(b.last - b.first + 1 for b in body.issue.blocks), registry=registry)
    elif action == "transfer":
        n = _units(body.transfer.ranges)
        _add(db, getattr(body.transfer, "from"), held=-n, registry=registry)
        _add(db, body.transfer.to, held=n, registry=registry)
    elif action in ("use", "cancel"):
        msg = getattr(body, action)
        n = _units(msg.ranges)
        _add(db, getattr(msg, "from"), held=-n, retired=n, registry=registry)
    elif action == "open_account":
        _add(db, body.open_account.account.ref, registry=registry)
    return action or ""


def apply_block(db, msg, registry=None):
    """Applies one SubscribeCommitsResponse atomically. Returns False if it was already applied."""
    db.execute("BEGIN IMMEDIATE")
    try:
        if msg.height <= last_height(db):
            db.execute("ROLLBACK")
            return False
        expected = last_height(db) + 1
        if msg.height != expected:
            raise RuntimeError("gap: database at %d, block %d" % (expected - 1, msg.height))
        txs = list(msg.committed.block.txs)
        if len(txs) != len(msg.outcomes):
            raise RuntimeError("block %d: %d txs, %d outcomes (subscribe without omit_transactions)"
                               % (msg.height, len(txs), len(msg.outcomes)))
        db.execute("INSERT INTO blocks VALUES (?, ?, ?, ?, ?)",
                   (msg.height, msg.block_id.hex(), msg.state_root.hex(), msg.timestamp_ms, len(txs)))
        for raw, outcome in zip(txs, msg.outcomes):
            body = tx_pb2.TransactionBody.FromString(tx_pb2.SignedTransaction.FromString(raw).body)
            accepted = outcome.status == tx_pb2.TX_ACCEPTED
            action = apply_action(db, body, registry) if accepted else (body.WhichOneof("action") or "")
            db.execute("INSERT INTO transactions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (outcome.tx_id.hex(), msg.height, outcome.index, outcome.submitter,
                        outcome.client_tx_id, action, tx_pb2.TxStatus.Name(outcome.status), int(outcome.code),
                        tx_pb2.ReasonCode.Name(outcome.code), outcome.message))
        db.execute("INSERT OR REPLACE INTO sync_state VALUES (1, ?, ?, ?)",
                   (msg.height, msg.block_id.hex(), msg.state_root.hex()))
        db.execute("COMMIT")
        return True
    except BaseException:
        db.execute("ROLLBACK")
        raise


def sync(client, db, until_height=None, max_blocks=None, registry=None, verify=True):
    """Applies committed blocks from last + 1 on. until_height: stop once reached (None: follow
    forever). max_blocks: stop after that many (tests use it to cut a run short). Returns the
    number of blocks applied."""
    applied = 0
    start = last_height(db) + 1
    if until_height is not None and start > until_height:
        return 0
    for msg in client.subscribe(from_height=start, verify=verify):
        if apply_block(db, msg, registry):
            applied += 1
        if (until_height is not None and msg.height >= until_height) or (max_blocks and applied >= max_blocks):
            break
    return applied


def reconcile(client, db, registry=None):
    """Phase 1: totals per account against GetHoldings at the database's height. Returns a list of
    differences (empty when reconciled)."""
    for _ in range(20):
        height = last_height(db)
        rows = db.execute("SELECT registry_id, account_id, held, retired FROM account_totals"
                          + (" WHERE registry_id = ?" if registry else "") + " ORDER BY 1, 2",
                          (registry,) if registry else ()).fetchall()
        diffs, moved = [], False
        for registry_id, account_id, held, retired in rows:
            try:
                holdings = client.holdings(registry_id, account_id)
            except NotFound:
                diffs.append("%s/%s: in the database, unknown to the ledger" % (registry_id, account_id))
                continue
            if holdings.height != height:  # The ledger moved on: catch up, then compare again.
                sync(client, db, until_height=holdings.height, registry=registry)
                moved = True
                break
            ledger = (int(holdings.held_units or 0), int(holdings.retired_units or 0))
            if (int(held), int(retired)) != ledger:
                diffs.append("%s/%s at height %d: database held %s retired %s, ledger held %d retired %d"
                             % (registry_id, account_id, height, held, retired, ledger[0], ledger[1]))
        if not moved:
            return diffs
    raise RuntimeError("the ledger kept moving during reconciliation")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--node", action="append", required=True, help="host:port (repeat to fail over)")
    p.add_argument("--genesis", required=True, help="genesis.json (chain id, validator keys)")
    p.add_argument("--db", required=True, help="SQLite database file (created if missing)")
    p.add_argument("--registry", help="track only this registry's accounts (default: every account)")
    p.add_argument("--until-height", type=int, help="stop at this height (0: the node's current height)")
    p.add_argument("--max-blocks", type=int, help="stop after applying this many blocks")
    p.add_argument("--reconcile", action="store_true", help="then compare totals with GetHoldings")
    p.add_argument("--no-verify", action="store_true", help="skip block id / commit proof checks")
    args = p.parse_args(argv)
    client = Client(args.node, genesis=args.genesis)
    db = open_db(args.db)
    try:
        until = args.until_height
        if until is None and args.reconcile:
            until = 0  # Reconciling needs an end: catch up to the current height first.
        if until == 0:
            until = client.status().height
        before = last_height(db)
        applied = sync(client, db, until, args.max_blocks, args.registry, verify=not args.no_verify)
        print("registry_sync: applied %d blocks (%d -> %d)" % (applied, before, last_height(db)))
        if args.reconcile:
            diffs = reconcile(client, db, args.registry)
            for d in diffs:
                print("DIFFERENCE " + d)
            print("registry_sync: reconciled at height %d: %d differences" % (last_height(db), len(diffs)))
            return 1 if diffs else 0
        return 0
    except LedgerError as e:
        print("registry_sync: %s (resume: rerun, it continues from height %d)" % (e, last_height(db) + 1),
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    finally:
        client.close()
        db.close()


if __name__ == "__main__":
    sys.exit(main())
