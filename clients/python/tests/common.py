"""One local network shared by the client test modules (started on first use, stopped at exit),
and the bodies the tests submit."""
import atexit
import datetime
import os
import sys
import time

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

from itmo_ledger import Client, KeyPair, tx_pb2, types_pb2  # noqa: E402
from localnet import LocalNet  # noqa: E402

_NET = None
VINTAGE = max(2021, datetime.datetime.now(datetime.timezone.utc).year - 1)


def net():
    global _NET
    if _NET is None:
        _NET = LocalNet("python").start_all()
        atexit.register(_NET.close)
    return _NET


def mark_ok():
    if _NET is not None:
        _NET.ok = True


def client(*names):
    n = net()
    return Client([n.api[name] for name in (names or ("validator-0",))], genesis=n.genesis)


def key(name):
    return KeyPair.load(net().key(name))


def unique(prefix):
    return "%s-%d" % (prefix, time.time_ns())


def register_approach(c, approach_id):
    body = c.body("SUBMITTER_PARTY", "CHE", unique("approach"), register_approach=tx_pb2.RegisterApproach(
        approach=types_pb2.CooperativeApproach(id=approach_id, name="CHE-GHA test approach",
                                               parties=["CHE", "GHA"],
                                               ndc_vintage_rule=types_pb2.VINTAGE_RULE_WITHIN_NDC_PERIOD)))
    return c.sign(body, [key("CHE-authority"), key("GHA-authority")])


def issue(c, approach_id, first, last, client_tx_id=None):
    body = c.body("SUBMITTER_REGISTRY", "GHA-NR", client_tx_id or unique("issue"), issue={
        "to": {"registry_id": "GHA-NR", "account_id": "GHA-HOLDING"},
        "blocks": [{"approach_id": approach_id, "first_transferring_party": "GHA", "vintage": VINTAGE,
                    "first": str(first), "last": str(last), "metric": "tCO2e", "conversion_numerator": "1",
                    "conversion_denominator": "1", "sector": "energy", "activity_type": "clean cookstoves"}]})
    return c.sign(body, [key("GHA-NR")])
