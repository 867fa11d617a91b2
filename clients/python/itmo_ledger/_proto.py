"""Loads the protobuf/gRPC stubs of proto/itmo/v1, generated at build or test time (never committed).

The stubs live in a folder on sys.path holding the package `itmo.v1`. Resolution order:
  1. $ITMO_LEDGER_STUBS, if set (scripts and ctest set it to build/clients/python/gen);
  2. <repo>/build/clients/python/gen, generated there on first use when missing.
Generation uses python3-grpc-tools (`python3 -m grpc_tools.protoc`) or, if that is missing,
protoc with grpc_python_plugin (Debian protobuf-compiler-grpc).
"""
import os
import sys

from ._gen import REPO_ROOT, generate  # noqa: F401


def _stubs_dir():
    env = os.environ.get("ITMO_LEDGER_STUBS")
    if env:
        if not os.path.isdir(os.path.join(env, "itmo", "v1")):
            generate(env)
        return env
    default = os.path.join(REPO_ROOT, "build", "clients", "python", "gen")
    if not os.path.isdir(os.path.join(default, "itmo", "v1")):
        generate(default)
    return default


_dir = _stubs_dir()
if _dir not in sys.path:
    sys.path.insert(0, _dir)

from itmo.v1 import consensus_pb2  # noqa: E402,F401
from itmo.v1 import genesis_pb2  # noqa: E402,F401
from itmo.v1 import ledger_pb2  # noqa: E402,F401
from itmo.v1 import ledger_service_pb2  # noqa: E402,F401
from itmo.v1 import ledger_service_pb2_grpc  # noqa: E402,F401
from itmo.v1 import tx_pb2  # noqa: E402,F401
from itmo.v1 import types_pb2  # noqa: E402,F401
