/**
 * `@omnibus/postgres`: PostgreSQL as an Omnibus broker (`pg`). Queues and topic groups are rows
 * claimed with `FOR UPDATE SKIP LOCKED` under a lease; `LISTEN/NOTIFY` wakes consumers, a poll
 * covers a lost notification. See the package README for the table layout and the semantics.
 *
 * @module
 */
import { type Adapter, registerAdapter } from "@omnibus/core";
import { PostgresAdapter, type PostgresNative } from "./adapter.js";
import { type PostgresOptions, resolveOptions } from "./options.js";

/**
 * Create a PostgreSQL adapter. Nothing connects until core calls `connect()`; the schema's tables
 * are created then (versioned migrations).
 *
 * @example
 * ```ts
 * import { createClient } from "@omnibus/core";
 * import { postgres } from "@omnibus/postgres";
 *
 * const bus = createClient({ adapter: postgres({ url: "postgres://app@127.0.0.1:5432/app", schema: "bus" }) });
 * await bus.send("orders", { sku: "A-1" });
 * ```
 */
export function postgres(options: PostgresOptions = {}): Adapter<PostgresNative> {
  return new PostgresAdapter(resolveOptions(options));
}

/**
 * Build the adapter for a `postgres://` or `postgresql://` URL; `createClient({ url })` calls
 * this. `options` are {@link PostgresOptions} (the URL wins over `options.url`).
 */
export function fromUrl(url: string, options: Record<string, unknown> = {}): Adapter<PostgresNative> {
  return postgres({ ...(options as PostgresOptions), url });
}

export type { PostgresNative } from "./adapter.js";
export type {
  InboxConsumer,
  InboxHandler,
  InboxOptions,
  PostgresIdempotencyStore,
  PostgresStoreOptions,
} from "./idempotency.js";
export { inbox, postgresIdempotencyStore } from "./idempotency.js";
export type { PostgresOptions } from "./options.js";
export type {
  Outbox,
  OutboxOptions,
  OutboxRelay,
  OutboxRelayOptions,
  OutboxSendOptions,
  Queryable,
} from "./outbox.js";
export { migrateOutbox, outbox, outboxRelay } from "./outbox.js";

// Importing the package makes its URLs checked at createClient (core loads it lazily too).
registerAdapter(["postgres", "postgresql"], { fromUrl });
