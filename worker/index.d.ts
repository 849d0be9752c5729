// tillsync: the public API of the npm package. The contract between the package and every app
// built on it (including our own POS in web/). Money is always integer minor units (cents).
// Every failure rejects with a TillsyncError whose `code` is one of the core's stable codes
// (see core/status.h and schema/protocol.md), e.g. "totals_mismatch", "storage_full".

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Row = Record<string, Json>;

export class TillsyncError extends Error {
  readonly code: string;
  readonly detail?: Json;
}

/** Credentials of this device at a hub, as returned by registerDevice(). */
export interface HubCredentials {
  url: string;            // hub base URL, e.g. "http://127.0.0.1:8080"
  shopId: string;
  deviceId: string;
  deviceToken: string;    // tsk_dev_...
  receiptPrefix: string;  // unique within the shop
  currency?: string;      // ISO 4217, default "EUR"
  shopName?: string;
}

export interface OpenOptions {
  /** Database name inside the origin's OPFS. Default "tillsync". */
  name?: string;
  /** Hub credentials for a NEW database. An existing database keeps the identity it was created
   * with (and its stored token); omit to reopen it, or to run local-only with no hub. */
  hub?: HubCredentials;
  /** Where the worker script and the .wasm are served (defaults: next to this module). */
  workerUrl?: string | URL;
  wasmUrl?: string | URL;
  /** Periodic sync, default 300000 (5 minutes). */
  syncIntervalMs?: number;
  /** Sync this long after a local write, default 300. */
  writeDebounceMs?: number;
}

export type SyncState = "idle" | "syncing" | "offline" | "failed" | "update_required";

export interface SyncStatus {
  state: SyncState;
  online: boolean;             // navigator.onLine as the engine last saw it
  pending: number;             // operations not yet acknowledged by the hub
  quarantined: number;
  openConflicts: number;
  lastSyncedAt: number | null; // epoch ms
  lastError: { code: string; message: string } | null;
  successes: number;
  failures: number;
  conflicts: number;
  nextRetryInMs: number;
  minSchemaVersion: number | null;  // when update_required
  schemaVersion: number;            // this build's
  isOwner: boolean;                 // this tab hosts the worker that owns the database
}

export interface Progress {
  phase: "download" | "upload";
  done: number;
  total: number;
}

export interface Change {
  table: string;
  id: string;
  values: Row;
}

export interface SaleLine { productId: string; qty: number }
export interface Payment {
  method: "cash" | "card" | "other";
  amountMinor?: number;     // default: what is left to pay
  tenderedMinor?: number;   // cash handed over (for change due)
}
export interface SaleInput {
  lines: SaleLine[];
  payments?: Payment[];     // default: one exact cash payment
  customerId?: string;
  /** Chosen by the caller before the first attempt; retrying with the same id is safe. */
  orderId?: string;
}
export interface SaleResult {
  orderId: string;
  receiptNo: string;
  subtotalMinor: number;
  taxMinor: number;
  totalMinor: number;
  changeMinor: number;
  createdAt: number;
}

export interface Conflict {
  id: number;
  table: string;
  rowId: string;
  mine: Row;
  theirs: Row;
  createdAt: number;
}
export interface QuarantinedOperation {
  seq: number;
  code: string;
  reason: string;
  changes: Change[];
  createdAt: number;
}
export interface StorageInfo {
  persisted: boolean;       // navigator.storage.persist() granted
  usage: number;            // bytes
  quota: number;            // bytes
}

/** (theirs = the hub's row, mine = this device's) -> the merged row, or undefined for LWW. */
export type Resolver = (theirs: Row, mine: Row) => Row | undefined;

export interface Store {
  readonly identity: { deviceId: string; shopId: string; receiptPrefix: string; currency: string; local: boolean };

  write(changes: Change[]): Promise<{ seq: number }>;
  recordSale(sale: SaleInput): Promise<SaleResult>;
  voidSale(orderId: string): Promise<{ seq: number }>;
  refundSale(orderId: string): Promise<{ seq: number }>;
  receiveStock(productId: string, qty: number): Promise<{ seq: number }>;
  adjustStock(productId: string, delta: number): Promise<{ seq: number }>;
  recordExpense(description: string, amountMinor: number): Promise<{ seq: number }>;

  /** Read-only SQL with positional parameters (?1 or ?). */
  query<T extends Row = Row>(sql: string, params?: Json[]): Promise<T[]>;

  /** Push and pull now; resolves with the status after the cycle. */
  sync(): Promise<SyncStatus>;
  status(): Promise<SyncStatus>;
  /** Called now with the current status and on every change. Returns an unsubscribe function. */
  onStatus(listener: (s: SyncStatus) => void): () => void;
  onProgress(listener: (p: Progress) => void): () => void;
  /** Tables changed (local writes in any tab, or pulled rows): refresh what you show. */
  onChange(listener: (tables: string[]) => void): () => void;

  conflicts(): Promise<Conflict[]>;
  resolveConflict(id: number, values: Row): Promise<{ seq: number }>;
  quarantine(): Promise<QuarantinedOperation[]>;
  retryQuarantined(seq: number): Promise<{ seq: number }>;
  discardQuarantined(seq: number): Promise<void>;
  /** Runs in the tab that registered it, for conflicts on that table. */
  registerResolver(table: string, resolver: Resolver): void;

  outbox(): Promise<{ seq: number; createdAt: number; changes: Change[] }[]>;
  syncLog(): Promise<{ at: number; kind: string; detail: string }[]>;
  storage(): Promise<StorageInfo>;
  /** Deletes the local database. Refuses (code "unsynced_data") while anything is pending or
   * quarantined, unless force is set. */
  clearLocalData(options?: { force?: boolean }): Promise<void>;
  close(): Promise<void>;
}

export function openStore(options?: OpenOptions): Promise<Store>;

// Provisioning calls to a hub (plain HTTPS/HTTP, no database involved).
export function createShop(hubUrl: string, operatorToken: string, name: string, currency?: string):
  Promise<{ shopId: string; shopToken: string; recoveryCode: string }>;
export function registerDevice(hubUrl: string, shopToken: string, deviceName: string): Promise<HubCredentials>;
export function recoverShop(hubUrl: string, recoveryCode: string):
  Promise<{ shopId: string; shopToken: string; recoveryCode: string }>;
