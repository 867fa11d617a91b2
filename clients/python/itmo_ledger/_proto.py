"""Loads the protobuf/gRPC stubs of proto/itmo/v1, generated at build or test time (never committed).

The stubs live in a folder on sys.path holding the package `itmo.v1`. Resolution order:
  1. $ITMO_LEDGER_STUBS, if set (scripts and ctest set it to build/clients/python/gen);
  2. <repo>/build/clients/python/gen, generated there on first use when missing.
Generation uses python3-grpc-tools (`python3 -m grpc_tools.protoc`) or, if that is missing,
protoc with grpc_python_plugin (Debian protobuf-compiler-grpc).
"""
import os
import shutil
import subprocess
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(_HERE, "..", "..", ".."))
PROTO_DIR = os.path.join(REPO_ROOT, "proto")


def generate(out_dir, proto_dir=PROTO_DIR):
    """Generates the Python stubs of every proto/itmo/v1/*.proto into out_dir."""
    sources = sorted(
        os.path.join(proto_dir, "itmo", "v1", f)
        for f in os.listdir(os.path.join(proto_dir, "itmo", "v1"))
        if f.endswith(".proto"))
    tmp = out_dir + ".tmp%d" % os.getpid()
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    try:
        import grpc_tools  # noqa: F401  (python3-grpc-tools)
        cmd = [sys.executable, "-m", "grpc_tools.protoc"]
        plugin = []
    except ImportError:
        plugin_path = shutil.which("grpc_python_plugin")
        if plugin_path is None or shutil.which("protoc") is None:
            raise RuntimeError("neither python3-grpc-tools nor protoc + grpc_python_plugin is installed")
        cmd = ["protoc"]
        plugin = ["--plugin=protoc-gen-grpc_python=" + plugin_path]
    subprocess.run(cmd + plugin + ["-I" + proto_dir, "--python_out=" + tmp, "--grpc_python_out=" + tmp]
                   + sources, check=True)
    for pkg in (os.path.join(tmp, "itmo"), os.path.join(tmp, "itmo", "v1")):
        open(os.path.join(pkg, "__init__.py"), "a").close()
    shutil.rmtree(out_dir, ignore_errors=True)
    os.rename(tmp, out_dir)


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

if __name__ == "__main__":  # python3 -m itmo_ledger._proto OUT_DIR
    generate(sys.argv[1])
