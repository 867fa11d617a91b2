"""examples/registry_sync.py against a local network: the demo's activity, a run cut short, a
resume, a rerun that changes nothing, reconciliation with GetHoldings, a tampered total found."""
import os
import sqlite3
import subprocess
import sys
import unittest

import common
from localnet import BIN

EXAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "registry_sync.py")


def dump(path):
    db = sqlite3.connect(path)
    try:
        return list(db.iterdump())
    finally:
        db.close()


class RegistrySyncTest(unittest.TestCase):
    def run_sync(self, *args):
        net = common.net()
        cmd = [sys.executable, EXAMPLE, "--node", net.api["validator-1"], "--node", net.api["observer-0"],
               "--genesis", net.genesis, "--db", self.db] + list(args)
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120)

    def test_sync_resume_idempotent_reconcile(self):
        net = common.net()
        self.db = os.path.join(net.work, "registry.sqlite")
        demo = subprocess.run([os.path.join(BIN, "itmoctl"), "demo", "--localnet", net.dir, "--node",
                               net.api["validator-0"]], capture_output=True, text=True, timeout=120)
        self.assertEqual(demo.returncode, 0, demo.stdout + demo.stderr)
        c = common.client("validator-1")
        height = c.status().height
        self.assertGreater(height, 3)

        r = self.run_sync("--max-blocks", "2")  # Cut short: as if killed after two blocks.
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        db = sqlite3.connect(self.db)
        self.assertEqual(db.execute("SELECT last_height FROM sync_state").fetchone()[0], 2)
        db.close()

        r = self.run_sync("--until-height", str(height), "--reconcile")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("0 differences", r.stdout)
        db = sqlite3.connect(self.db)
        last = db.execute("SELECT last_height FROM sync_state").fetchone()[0]
        self.assertGreaterEqual(last, height)
        # Every committed transaction exactly once, the demo's rejected second use with its code.
        expected = sum(len(m.outcomes) for m in _take(c, 1, last))
        self.assertEqual(db.execute("SELECT count(*) FROM transactions").fetchone()[0], expected)
        self.assertEqual(db.execute("SELECT count(*) FROM blocks").fetchone()[0], last)
        rejected = db.execute("SELECT action, reason_code, reason_name FROM transactions "
                              "WHERE status = 'TX_REJECTED' AND action = 'use'").fetchall()
        self.assertIn(("use", 4004, "REASON_UNITS_TERMINAL"), rejected)
        che = db.execute("SELECT held, retired FROM account_totals WHERE registry_id = 'CHE-NR' AND "
                         "account_id = 'CHE-HOLDING'").fetchone()
        self.assertIsNotNone(che)
        self.assertGreater(int(che[1]), 0)  # The demo used and cancelled units there.
        db.close()

        before = dump(self.db)
        r = self.run_sync("--until-height", str(last))  # Nothing new: nothing changes.
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(dump(self.db), before)

        db = sqlite3.connect(self.db)
        db.execute("UPDATE account_totals SET held = '1' WHERE registry_id = 'CHE-NR' AND account_id = 'CHE-HOLDING'")
        db.commit()
        db.close()
        r = self.run_sync("--reconcile")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("DIFFERENCE CHE-NR/CHE-HOLDING", r.stdout)


def _take(client, first, last):
    out = []
    for msg in client.subscribe(from_height=first, omit_transactions=True):
        out.append(msg)
        if msg.height >= last:
            return out
    return out


if __name__ == "__main__":
    unittest.main()
