#!/usr/bin/env python3
"""Generates the stubs of proto/itmo/v1 into OUT_DIR (the build does this into build/clients/python/gen):
    /usr/bin/python3 clients/python/gen_stubs.py OUT_DIR
Imports only itmo_ledger/_gen.py, so it never needs existing stubs."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "itmo_ledger"))
import _gen  # noqa: E402

if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: gen_stubs.py OUT_DIR")
    _gen.generate(os.path.abspath(sys.argv[1]))
