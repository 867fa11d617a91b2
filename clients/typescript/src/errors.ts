// Typed errors. Every error the node gives a ledger ReasonCode carries it in the trailing metadata
// entries itmo-reason-code / itmo-reason-name (docs/integrators.md section 3).
import { Metadata, status as Status } from "@grpc/grpc-js";

export class LedgerError extends Error {
  constructor(message: string, readonly code: Status | null = null, readonly reasonCode = 0,
    readonly reasonName = "") {
    super(message);
    this.name = new.target.name;
  }
}
/** Malformed, badly signed, wrong chain, too large: never retry as is. */
export class InvalidArgument extends LedgerError {}
export class PermissionDenied extends LedgerError {}
/** Same tx id or (submitter, client_tx_id): look the transaction up instead. */
export class AlreadyExists extends LedgerError {}
export class NotFound extends LedgerError {}
export class ResourceExhausted extends LedgerError {}
/** Node starting, stopping or unreachable: retry the same bytes. */
export class Unavailable extends LedgerError {}
/** Committed with TX_REJECTED. */
export class TransactionRejected extends LedgerError {
  constructor(readonly outcome: any) {
    super(outcome.message || "transaction rejected", null, reasonNumber(outcome.code), String(outcome.code));
  }
}
export class TransactionExpired extends LedgerError {}
export class WaitTimeout extends LedgerError {}
export class ProofError extends LedgerError {}

let reasonNumbers: Record<string, number> = {};
export function setReasonNumbers(values: Record<string, number>): void {
  reasonNumbers = values;
}
function reasonNumber(code: string | number): number {
  return typeof code === "number" ? code : reasonNumbers[code] ?? 0;
}

const BY_CODE = new Map<number, typeof LedgerError>([
  [Status.INVALID_ARGUMENT, InvalidArgument],
  [Status.PERMISSION_DENIED, PermissionDenied],
  [Status.ALREADY_EXISTS, AlreadyExists],
  [Status.NOT_FOUND, NotFound],
  [Status.RESOURCE_EXHAUSTED, ResourceExhausted],
  [Status.UNAVAILABLE, Unavailable],
]);

/** The typed LedgerError of a grpc-js ServiceError, with the reason from its trailing metadata. */
export function fromServiceError(e: any): LedgerError {
  const md: Metadata | undefined = e?.metadata;
  const code = md?.get("itmo-reason-code")?.[0];
  const name = md?.get("itmo-reason-name")?.[0];
  const cls = BY_CODE.get(e?.code) ?? LedgerError;
  return new cls(e?.details ?? String(e), e?.code ?? null, code ? Number(code.toString()) : 0,
    name ? name.toString() : "");
}
