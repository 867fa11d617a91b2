// The itmo.v1 messages and the Ledger service, loaded at run time from proto/ (no generated code):
// @grpc/proto-loader for the service, protobufjs for encoding TransactionBody bytes to sign.
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import protobuf from "protobufjs";

export const PROTO_DIR = process.env.ITMO_PROTO_DIR ??
  resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..", "proto");

// uint64/int64 as decimal strings, enums as names, bytes as Buffers, defaults filled in.
export const LOADER_OPTIONS = { keepCase: true, longs: String, enums: String, bytes: Buffer, defaults: true,
  oneofs: true, includeDirs: [PROTO_DIR] };

const definition = protoLoader.loadSync("itmo/v1/ledger_service.proto", LOADER_OPTIONS);
const loaded = grpc.loadPackageDefinition(definition) as any;
export const LedgerService: grpc.ServiceClientConstructor = loaded.itmo.v1.Ledger;

export const root = new protobuf.Root();
root.resolvePath = (_origin: string, target: string) => resolve(PROTO_DIR, target);
root.loadSync(["itmo/v1/ledger_service.proto", "itmo/v1/genesis.proto"], { keepCase: true });
root.resolveAll();

export function type(name: string): protobuf.Type {
  return root.lookupType("itmo.v1." + name);
}

const TO_OBJECT = { longs: String, enums: String, bytes: Buffer, defaults: true, oneofs: true } as const;

/** Serializes a plain object (proto field names, JSON-like values) as message `name`. */
export function encode(name: string, value: object): Buffer {
  const t = type(name);
  const err = t.verify(t.fromObject(value));
  if (err) throw new Error(`${name}: ${err}`);
  return Buffer.from(t.encode(t.fromObject(value)).finish());
}

export function decode(name: string, bytes: Uint8Array): any {
  const t = type(name);
  return t.toObject(t.decode(bytes), TO_OBJECT as any);
}

export const ReasonCode: Record<string, number> = root.lookupEnum("itmo.v1.ReasonCode").values;
