/**
 * Effectively-once processing on PostgreSQL: an idempotency store for core's `idempotency()`
 * middleware (`INSERT … ON CONFLICT`, token-checked completion), and the inbox, a handler wrapper
 * whose claim, handler writes and done mark are one transaction.
 * @module
 */
import { randomUUID } from "node:crypto";
import type { ClaimResult, Handler, IdempotencyStore, Message } from "@omnibus/core";
import { ConfigError, ConnectionError, RetryLaterError } from "@omnibus/core";
import pg from "pg";
import { describe, poolConfig } from "./adapter.js";
import { resolveOptions } from "./options.js";
import { checkout, guardClients, migrate, quoteIdent } from "./schema.js";

/** Where the store and the inbox find PostgreSQL. */
export interface PostgresStoreOptions {
  /**
   * A `pg.Pool` to use (the adapter's `native.pool`, or the application's own). Not ended by
   * `close()`.
   */
  pool?: pg.Pool;
  /**
   * Where PostgreSQL is, when no `pool` is given.
   * @default "postgres://postgres@127.0.0.1:5432/postgres"
   */
  url?: string;
  /**
   * The schema of the `idempotency` table (the adapter's migrations create it on first use).
   * @default "omnibus"
   */
  schema?: string;
}

/** The pool, the quoted schema and a one-time migration, shared by the store and the inbox. */
function setUp(options: PostgresStoreOptions, what: string) {
  const schema = options.schema ?? "omnibus";
  if (!/^[a-z_][a-z0-9_]{0,47}$/.test(schema))
    throw new ConfigError(`${what}: schema must match [a-z_][a-z0-9_]{0,47}, got ${JSON.stringify(schema)}`);
  let pool = options.pool;
  const owns = pool === undefined;
  if (!pool) {
    pool = new pg.Pool(poolConfig(resolveOptions({ url: options.url ?? undefined, schema }), 4));
    pool.on("error", () => {});
    guardClients(pool);
  }
  const p = pool;
  let ready: Promise<void> | undefined;
  const migrated = () => {
    ready ??= (async () => {
      const client = await checkout(p);
      try {
        await migrate(client, schema);
      } finally {
        client.release();
      }
    })().catch((error: unknown) => {
      ready = undefined;
      throw new ConnectionError(`${what}: cannot set up schema ${schema}: ${describe(error)}`, {
        cause: error,
      });
    });
    return ready;
  };
  return { pool: p, owns, s: quoteIdent(schema), migrated };
}

/** The PostgreSQL idempotency store, with `close()` for a pool it created itself. */
export interface PostgresIdempotencyStore extends IdempotencyStore {
  /** Always implemented here: the middleware keeps a slow handler's claim alive. */
  extend(key: string, token: string, lockMs: number): Promise<boolean>;
  /** Delete expired claims and done marks; resolves to how many rows went. */
  prune(): Promise<number>;
  /** End the store's own pool (no-op when it was given one). */
  close(): Promise<void>;
  /** {@link PostgresIdempotencyStore.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * An idempotency store on PostgreSQL, shared by every process consuming the same messages. Each
 * operation is one statement on `<schema>.idempotency(key, token, done, expires_at)`:
 *
 * - `claim`: `INSERT … ON CONFLICT (key) DO UPDATE … WHERE expires_at < now() RETURNING token`:
 *   a new key, or one whose claim or done mark expired, is ours; otherwise `"done"` or
 *   `"in-progress"` by the row's `done`;
 * - `complete`: `UPDATE … SET done, expires_at = now() + ttl WHERE key AND token` (also when our
 *   claim expired but nobody claimed the key since: the token is still there);
 * - `release`: `DELETE … WHERE key AND token AND NOT done`;
 * - `extend`: `UPDATE … SET expires_at = now() + lockMs WHERE key AND token AND NOT done`.
 *
 * @example
 * ```ts
 * import { createClient, idempotency } from "@omnibus/core";
 * import { postgresIdempotencyStore } from "@omnibus/postgres";
 * const store = postgresIdempotencyStore({ url: "postgres://app@127.0.0.1/app" });
 * const bus = createClient({ url, use: [idempotency({ store })] });
 * ```
 */
export function postgresIdempotencyStore(options: PostgresStoreOptions = {}): PostgresIdempotencyStore {
  const { pool, owns, s, migrated } = setUp(options, "postgresIdempotencyStore");
  const run = async <R extends pg.QueryResultRow>(what: string, text: string, params: unknown[]) => {
    await migrated();
    try {
      return await pool.query<R>(text, params);
    } catch (error) {
      throw new ConnectionError(`postgres idempotency store: ${what} failed: ${describe(error)}`, {
        cause: error,
      });
    }
  };
  const ms = (n: number) => Math.max(1, Math.ceil(n));
  const close = async () => {
    if (owns) await pool.end().catch(() => {});
  };
  return {
    async claim(key, lockMs): Promise<ClaimResult> {
      const token = randomUUID();
      const claimed = await run(
        "claim",
        `INSERT INTO ${s}.idempotency AS i (key, token, done, expires_at)
         VALUES ($1, $2, false, now() + $3 * interval '1 millisecond')
         ON CONFLICT (key) DO UPDATE SET token = EXCLUDED.token, done = false, expires_at = EXCLUDED.expires_at
         WHERE i.expires_at < now()
         RETURNING token`,
        [key, token, ms(lockMs)],
      );
      if (claimed.rowCount === 1) return { status: "claimed", token };
      const { rows } = await run<{ done: boolean }>(
        "claim",
        `SELECT done FROM ${s}.idempotency WHERE key = $1`,
        [key],
      );
      return rows[0]?.done === true ? { status: "done" } : { status: "in-progress" };
    },
    async complete(key, token, ttlMs) {
      await run(
        "complete",
        `UPDATE ${s}.idempotency SET done = true, token = NULL, expires_at = now() + $3 * interval '1 millisecond'
         WHERE key = $1 AND token = $2`,
        [key, token, ms(ttlMs)],
      );
    },
    async release(key, token) {
      await run("release", `DELETE FROM ${s}.idempotency WHERE key = $1 AND token = $2 AND NOT done`, [
        key,
        token,
      ]);
    },
    async extend(key, token, lockMs) {
      const { rowCount } = await run(
        "extend",
        `UPDATE ${s}.idempotency SET expires_at = now() + $3 * interval '1 millisecond'
         WHERE key = $1 AND token = $2 AND NOT done`,
        [key, token, ms(lockMs)],
      );
      return rowCount === 1;
    },
    async prune() {
      const { rowCount } = await run("prune", `DELETE FROM ${s}.idempotency WHERE expires_at < now()`, []);
      return rowCount ?? 0;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Options of {@link inbox}. */
export interface InboxOptions extends PostgresStoreOptions {
  /** The deduplication key of a message. @default `message.id` */
  key?: (message: Message) => string;
  /** How long a handled key is remembered. @default 86400000 (24 h) */
  ttlMs?: number;
  /**
   * Delay before a copy that arrived while another copy is being handled is tried again
   * (`RetryLaterError`). @default 1000
   */
  retryDelayMs?: number;
}

/** A handler run by {@link inbox}: it gets the transaction its message is claimed in. */
export type InboxHandler<T> = (message: Message<T>, tx: pg.PoolClient) => Promise<void> | void;

/** A consumer handler built by {@link inbox}, with `close()` for a pool it created itself. */
export type InboxConsumer<T> = Handler<any> & {
  /** The handler it wraps (typed by the body the caller declared). */
  readonly handler: InboxHandler<T>;
  /** End the inbox's own pool (no-op when it was given one). */
  close(): Promise<void>;
};

/**
 * The inbox: effectively-once processing tied to the database. Each message is handled inside
 * one transaction on a connection of `pool`; the transaction
 *
 * 1. takes `pg_try_advisory_xact_lock` on the message key (a copy being handled elsewhere makes
 *    this one retry later, instead of waiting on a row lock);
 * 2. inserts the done mark (`INSERT … ON CONFLICT (key) DO UPDATE … WHERE expires_at < now()`):
 *    if a committed mark is there, the message was handled: it is acked, the handler not run;
 * 3. runs `handler(message, tx)`: what it writes through `tx` commits together with the mark.
 *
 * A handler that throws, or a process that dies before `COMMIT`, rolls back its writes and the
 * mark together; the redelivery runs the handler again on a clean slate. Use `tx` (not another
 * connection) for every write that must happen once.
 *
 * @example
 * ```ts
 * import { inbox } from "@omnibus/postgres";
 * await bus.consume("payments", inbox({ pool }, async (msg, tx) => {
 *   await tx.query("INSERT INTO ledger (id, amount) VALUES ($1, $2)", [msg.id, msg.body.amount]);
 * }));
 * ```
 */
export function inbox<T = unknown>(options: InboxOptions, handler: InboxHandler<T>): InboxConsumer<T> {
  const { pool, owns, s, migrated } = setUp(options, "inbox");
  const key = options.key ?? ((m: Message) => m.id);
  const ttlMs = Math.max(1, Math.ceil(options.ttlMs ?? 86_400_000));
  const retryDelayMs = options.retryDelayMs ?? 1_000;
  const run = async (message: Message<T>): Promise<void> => {
    await migrated();
    const k = key(message as Message);
    let tx: pg.PoolClient;
    try {
      tx = await checkout(pool);
    } catch (error) {
      throw new ConnectionError(`inbox: cannot connect: ${describe(error)}`, { cause: error });
    }
    let broken = false;
    try {
      await tx.query("BEGIN");
      const locked = await tx.query<{ ok: boolean }>("SELECT pg_try_advisory_xact_lock(hashtext($1)) AS ok", [
        `omnibus.inbox.${k}`,
      ]);
      if (locked.rows[0]?.ok !== true)
        throw new RetryLaterError(retryDelayMs, `message ${k} is being handled by another consumer`);
      const mark = await tx.query(
        `INSERT INTO ${s}.idempotency AS i (key, token, done, expires_at)
         VALUES ($1, NULL, true, now() + $2 * interval '1 millisecond')
         ON CONFLICT (key) DO UPDATE SET token = NULL, done = true, expires_at = EXCLUDED.expires_at
         WHERE i.expires_at < now()
         RETURNING 1`,
        [k, ttlMs],
      );
      if (mark.rowCount !== 1) {
        await tx.query("ROLLBACK"); // handled before: ack without running the handler
        return;
      }
      await handler(message, tx);
      await tx.query("COMMIT");
    } catch (error) {
      // The handler's writes and the mark go together; the handler's error settles the message.
      await tx.query("ROLLBACK").catch(() => {
        broken = true;
      });
      throw error;
    } finally {
      tx.release(broken);
    }
  };
  return Object.assign(run as Handler<any>, {
    handler,
    close: async () => {
      if (owns) await pool.end().catch(() => {});
    },
  });
}
