"""Generates the Python protobuf/gRPC stubs of proto/itmo/v1 (no side effects on import).

    /usr/bin/python3 clients/python/gen_stubs.py OUT_DIR
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
