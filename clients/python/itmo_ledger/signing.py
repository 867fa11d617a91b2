"""Keys and transaction signing, as docs/integrators.md section 2 specifies.

signing_bytes = "itmo-ledger\\0" | u64le(len(context)) | context | u64le(len(chain_id)) | chain_id
                | message

The message (the body bytes) is appended as is, without a length prefix: it is the last field.
(Checked against the node, crypto::SigningBytes in crypto/keys.cc.)
"""
import hashlib
import os
import stat
import struct

import nacl.exceptions
import nacl.signing

CONTEXT_TRANSACTION = b"itmo/v1/transaction"
CONTEXT_VOTE = b"itmo/v1/vote"
_DOMAIN = b"itmo-ledger\0"
_KEY_MAGIC = "itmo-ed25519-v1"


def _field(data):
    return struct.pack("<Q", len(data)) + data


def _b(value):
    return value.encode() if isinstance(value, str) else bytes(value)


def signing_bytes(context, chain_id, message):
    """The exact bytes an Ed25519 signature covers (crypto::SigningBytes)."""
    return _DOMAIN + _field(_b(context)) + _field(_b(chain_id)) + _b(message)


def blake2b256(data):
    return hashlib.blake2b(data, digest_size=32).digest()


def tx_id(body_bytes):
    """BLAKE2b-256 of the serialized TransactionBody bytes."""
    return blake2b256(body_bytes)


class KeyPair:
    """An Ed25519 key pair. Never prints its secret."""

    def __init__(self, seed):
        if len(seed) != 32:
            raise ValueError("an Ed25519 seed is 32 bytes")
        self._signing = nacl.signing.SigningKey(bytes(seed))
        self.public_key = bytes(self._signing.verify_key)

    @classmethod
    def generate(cls):
        return cls(os.urandom(32))

    @classmethod
    def load(cls, path):
        """Reads an itmoctl key file: "itmo-ed25519-v1\\npublic <hex>\\nsecret <hex seed>\\n"."""
        mode = os.stat(path).st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise PermissionError("%s: key file readable by group or others (chmod 600)" % path)
        with open(path) as f:
            lines = f.read().split("\n")
        if len(lines) < 3 or lines[0] != _KEY_MAGIC:
            raise ValueError("%s: line 1: not an %s key file" % (path, _KEY_MAGIC))
        fields = {}
        for number, line in enumerate(lines[1:3], start=2):
            name, _, value = line.partition(" ")
            if name not in ("public", "secret"):
                raise ValueError("%s: line %d: expected 'public' or 'secret'" % (path, number))
            fields[name] = bytes.fromhex(value)
        key = cls(fields["secret"])
        if key.public_key != fields["public"]:
            raise ValueError("%s: public key does not match the secret" % path)
        return key

    def save(self, path):
        """Writes an itmoctl-compatible key file with mode 0600; refuses to overwrite."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("%s\npublic %s\nsecret %s\n" % (_KEY_MAGIC, self.public_key.hex(),
                                                    bytes(self._signing).hex()))

    def sign(self, context, chain_id, message):
        return self._signing.sign(signing_bytes(context, chain_id, message)).signature

    def __repr__(self):
        return "KeyPair(public=%s)" % self.public_key.hex()


def verify(public_key, context, chain_id, message, signature):
    try:
        nacl.signing.VerifyKey(bytes(public_key)).verify(signing_bytes(context, chain_id, message),
                                                         bytes(signature))
        return True
    except (nacl.exceptions.BadSignatureError, ValueError, TypeError):
        return False
