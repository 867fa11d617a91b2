// itmo-ledger-client: the TypeScript client of the itmo-ledger integrator API (docs/integrators.md).
export { Client, DEFAULT_LIFETIME_MS, loadGenesis } from "./client.js";
export type { ClientOptions, SubscribeOptions } from "./client.js";
export * from "./errors.js";
export * as proofs from "./proofs.js";
export { decode, encode, PROTO_DIR, ReasonCode } from "./proto.js";
export { blake2b256, CONTEXT_TRANSACTION, KeyPair, signingBytes, txId, verify } from "./signing.js";
