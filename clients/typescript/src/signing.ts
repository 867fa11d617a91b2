// Keys and transaction signing (docs/integrators.md section 2). The signed bytes are
//   "itmo-ledger\0" | u64le(len(context)) | context | u64le(len(chain_id)) | chain_id | message
// (the message, i.e. the serialized TransactionBody, last and without a length prefix), Ed25519.
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import * as ed from "@noble/ed25519";
import { blake2b } from "@noble/hashes/blake2.js";

export const CONTEXT_TRANSACTION = "itmo/v1/transaction";
export const CONTEXT_VOTE = "itmo/v1/vote";
const KEY_MAGIC = "itmo-ed25519-v1";

export function u64le(value: bigint | number): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE(BigInt.asUintN(64, BigInt(value)));
  return out;
}

function bytes(value: string | Uint8Array): Buffer {
  return typeof value === "string" ? Buffer.from(value, "utf8") : Buffer.from(value);
}

export function field(value: string | Uint8Array): Buffer {
  const b = bytes(value);
  return Buffer.concat([u64le(b.length), b]);
}

export function signingBytes(context: string, chainId: string, message: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from("itmo-ledger\0", "latin1"), field(context), field(chainId), bytes(message)]);
}

export function blake2b256(data: Uint8Array): Buffer {
  return Buffer.from(blake2b(data, { dkLen: 32 }));
}

/** BLAKE2b-256 of the serialized TransactionBody bytes. */
export function txId(body: Uint8Array): Buffer {
  return blake2b256(body);
}

export class KeyPair {
  private constructor(private readonly seed: Buffer, readonly publicKey: Buffer) {}

  static async fromSeed(seed: Uint8Array): Promise<KeyPair> {
    if (seed.length !== 32) throw new Error("an Ed25519 seed is 32 bytes");
    return new KeyPair(Buffer.from(seed), Buffer.from(await ed.getPublicKeyAsync(seed)));
  }

  static async generate(): Promise<KeyPair> {
    return KeyPair.fromSeed(randomBytes(32));
  }

  /** Reads an itmoctl key file: "itmo-ed25519-v1\npublic <hex>\nsecret <hex seed>\n" (mode 0600). */
  static async load(path: string): Promise<KeyPair> {
    if ((statSync(path).mode & 0o077) !== 0) {
      throw new Error(`${path}: key file readable by group or others (chmod 600)`);
    }
    const lines = readFileSync(path, "utf8").split("\n");
    if (lines.length < 3 || lines[0] !== KEY_MAGIC) throw new Error(`${path}: line 1: not an ${KEY_MAGIC} key file`);
    const fields: Record<string, Buffer> = {};
    lines.slice(1, 3).forEach((line, i) => {
      const [name, value] = line.split(" ");
      if (name !== "public" && name !== "secret") throw new Error(`${path}: line ${i + 2}: expected public or secret`);
      fields[name] = Buffer.from(value ?? "", "hex");
    });
    const key = await KeyPair.fromSeed(fields.secret);
    if (!key.publicKey.equals(fields.public)) throw new Error(`${path}: public key does not match the secret`);
    return key;
  }

  /** Writes an itmoctl-compatible key file with mode 0600; refuses to overwrite. */
  save(path: string): void {
    writeFileSync(path, `${KEY_MAGIC}\npublic ${this.publicKey.toString("hex")}\nsecret ${this.seed.toString("hex")}\n`,
      { mode: 0o600, flag: "wx" });
  }

  async sign(context: string, chainId: string, message: Uint8Array): Promise<Buffer> {
    return Buffer.from(await ed.signAsync(signingBytes(context, chainId, message), this.seed));
  }

  toString(): string {
    return `KeyPair(public=${this.publicKey.toString("hex")})`;
  }
}

export async function verify(publicKey: Uint8Array, context: string, chainId: string, message: Uint8Array,
  signature: Uint8Array): Promise<boolean> {
  try {
    return await ed.verifyAsync(signature, signingBytes(context, chainId, message), publicKey);
  } catch {
    return false;
  }
}
