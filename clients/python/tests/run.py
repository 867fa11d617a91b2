"""Runs the client tests (ctest clients_python): regenerates the stubs into $ITMO_LEDGER_STUBS (or
build/clients/python/gen), then every tests/test_*.py against one local network."""
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

sys.path.insert(0, os.path.join(os.path.dirname(HERE), "itmo_ledger"))
import _gen  # noqa: E402

# Always fresh: proto/ may have changed since the last run.
_gen.generate(os.environ.get("ITMO_LEDGER_STUBS") or os.path.join(_gen.REPO_ROOT, "build", "clients", "python", "gen"))
sys.path.pop(0)


def main():
    import common
    start = time.monotonic()
    suite = unittest.defaultTestLoader.discover(HERE, pattern=sys.argv[1] if len(sys.argv) > 1 else "test_*.py")
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    if result.wasSuccessful():
        common.mark_ok()
    print("clients/python: %d tests in %.1f s: %s" % (result.testsRun, time.monotonic() - start,
                                                       "PASS" if result.wasSuccessful() else "FAIL"))
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
