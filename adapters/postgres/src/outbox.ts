/**
 * The transactional outbox: `outbox().send(tx, queue, body)` writes the message into
 * `<schema>.outbox` inside the caller's own `pg` transaction, so it exists if and only if the
 * transaction commits; `outboxRelay()` publishes the rows to any Omnibus broker URL and marks
 * them sent once the broker confirmed them.
 *
 * Order. `send` with a key takes `pg_advisory_xact_lock` on the key, held until the caller's
 * transaction ends: two transactions writing one key serialize, so the later one's row gets the
 * larger `seq` *and* commits later. The relay publishes in `seq` order, hence in commit order per
 * key. (Across keys no order is promised: a `seq` is taken at insert, not at commit.)
 *
 * Several relays. Every relay tries `pg_try_advisory_lock` (a session lock) on the outbox; the one
 * holding it publishes, the others stand by and take over when its session ends (a crash, a
 * closed connection). Publishing from one relay at a time is what keeps per-key order with
 * several instances running; a relay killed between the broker's confirm and its `UPDATE … SET
 * sent_at` leaves rows the next one publishes again (at-least-once).
 * @module
 */
import type { Client, Codec, Logger } from "@omnibus/core";
import { ConfigError, createClient, jsonCodec, silentLogger, uuidv7 } from "@omnibus/core";
import { backoff, delay } from "@omnibus/core/adapter";
import pg from "pg";
import { describe, poolConfig } from "./adapter.js";
import { resolveOptions } from "./options.js";
import { checkout, guardClients, migrate, quoteIdent } from "./schema.js";

/** Anything that runs a query inside the caller's transaction (`pg.PoolClient`, `pg.Client`). */
export interface Queryable {
  /** Run one statement with its parameters (as `pg`'s `query(text, values)`). */
  query(text: string, values?: unknown[]): Promise<unknown>;
}

/** Options of {@link outbox}. */
export interface OutboxOptions {
  /**
   * The schema of the outbox table (created by the adapter's migrations: run {@link migrateOutbox}
   * or any Omnibus PostgreSQL client or relay on it once).
   * @default "omnibus"
   */
  schema?: string;
  /** How bodies are encoded. @default core's JSON codec */
  codec?: Codec<any>;
}

/** Options of one outbox message. */
export interface OutboxSendOptions {
  /** Message id. @default a new UUID v7 */
  id?: string;
  /** Ordering key: rows with one key reach the broker in the order their transactions committed. */
  key?: string;
  /** Extra headers (string values). */
  headers?: Record<string, string>;
  correlationId?: string;
}

/** Writes messages into the outbox inside the caller's transaction. */
export interface Outbox {
  /** Queue `body` for `queue`, in `tx` (the caller's open transaction); resolves with its id. */
  send(tx: Queryable, queue: string, body: unknown, options?: OutboxSendOptions): Promise<string>;
  /** Publish `body` to `topic`, in `tx`; resolves with its id. */
  publish(tx: Queryable, topic: string, body: unknown, options?: OutboxSendOptions): Promise<string>;
}

function checkSchema(schema: string, what: string): string {
  if (!/^[a-z_][a-z0-9_]{0,47}$/.test(schema))
    throw new ConfigError(`${what}: schema must match [a-z_][a-z0-9_]{0,47}, got ${JSON.stringify(schema)}`);
  return schema;
}

/** The channel the outbox wakes its relay on. */
function outboxChannel(schema: string): string {
  return `omnibus_${schema}_outbox`;
}

/**
 * The outbox of a schema. `send` and `publish` take the caller's transaction: call them between
 * `BEGIN` and `COMMIT`, on the connection of that transaction.
 *
 * @example
 * ```ts
 * const box = outbox();
 * const tx = await pool.connect();
 * await tx.query("BEGIN");
 * await tx.query("INSERT INTO orders (id) VALUES ($1)", [orderId]);
 * await box.send(tx, "order-placed", { orderId }, { key: customerId });
 * await tx.query("COMMIT"); // the message exists now, and only now
 * ```
 */
export function outbox(options: OutboxOptions = {}): Outbox {
  const schema = checkSchema(options.schema ?? "omnibus", "outbox");
  const s = quoteIdent(schema);
  const codec = options.codec ?? jsonCodec;
  const write = async (
    tx: Queryable,
    kind: "queue" | "topic",
    destination: string,
    body: unknown,
    o: OutboxSendOptions = {},
  ): Promise<string> => {
    if (typeof destination !== "string" || destination.length === 0)
      throw new ConfigError(`outbox: a ${kind} name is required`);
    const id = o.id ?? uuidv7();
    let bytes: Uint8Array;
    try {
      bytes = codec.encode(body);
    } catch (error) {
      throw new ConfigError(
        `outbox: cannot encode body as ${codec.contentType}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    if (o.key !== undefined)
      await tx.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`omnibus.outbox.${schema}.${o.key}`]);
    await tx.query(
      `WITH ins AS (
         INSERT INTO ${s}.outbox (kind, destination, id, body, headers, key, correlation_id, content_type)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING 1
       )
       SELECT pg_notify($9, '') FROM ins`,
      [
        kind,
        destination,
        id,
        Buffer.from(bytes),
        JSON.stringify(o.headers ?? {}),
        o.key ?? null,
        o.correlationId ?? null,
        codec.contentType,
        outboxChannel(schema),
      ],
    );
    return id;
  };
  return {
    send: (tx, queue, body, o) => write(tx, "queue", queue, body, o),
    publish: (tx, topic, body, o) => write(tx, "topic", topic, body, o),
  };
}

/** Create the outbox table (and the adapter's other tables) in `schema` now. */
export async function migrateOutbox(pool: pg.Pool, schema = "omnibus"): Promise<void> {
  const client = await checkout(pool);
  try {
    await migrate(client, checkSchema(schema, "migrateOutbox"));
  } finally {
    client.release();
  }
}

/** Options of {@link outboxRelay}. */
export interface OutboxRelayOptions {
  /** The database holding the outbox: a `postgres://` URL. Required unless `pool` is given. */
  url?: string;
  /** A pool to use instead of `url` (not ended by `close()`). */
  pool?: pg.Pool;
  /** @default "omnibus" */
  schema?: string;
  /** Where to publish: an Omnibus broker URL (`amqp://…`, `kafka://…`), or a client of yours. */
  target: string | Client;
  /** Most rows published per round. @default 500 */
  batchSize?: number;
  /** How long an idle relay waits for a `NOTIFY` before it looks again. @default 500 */
  pollMs?: number;
  /** Sent rows older than this are deleted (`0`: at once). @default 3600000 (1 h) */
  retainSentMs?: number;
  /** Where the relay reports what went wrong (a lost connection, a failed publish). */
  logger?: Logger;
}

/** A running relay. */
export interface OutboxRelay {
  /** Whether this instance holds the outbox's lock (it is the one publishing). */
  readonly active: boolean;
  /** Rows this instance published and marked sent. */
  readonly sent: number;
  /** Stop after the current round and release the lock (another relay takes over). */
  close(): Promise<void>;
  /** {@link OutboxRelay.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

interface OutboxRow {
  readonly seq: string;
  readonly kind: "queue" | "topic";
  readonly destination: string;
  readonly id: string;
  readonly body: Buffer;
  readonly headers: string;
  readonly key: string | null;
  readonly correlation_id: string | null;
  readonly content_type: string;
}

/** A codec that sends the stored bytes as they are, under their stored content type. */
function storedCodec(contentType: string): Codec<Uint8Array> {
  return { contentType, encode: (b) => b, decode: (b) => b };
}

/**
 * Start a relay: it publishes the committed rows of the outbox to `target` in `seq` order, marks
 * them sent after the broker confirmed them, and runs until closed. Run as many as you like;
 * one publishes at a time (see the module notes).
 *
 * @example
 * ```ts
 * const relay = outboxRelay({ url: "postgres://app@127.0.0.1/app", target: "amqp://guest:guest@127.0.0.1:5672" });
 * // … on shutdown
 * await relay.close();
 * ```
 */
export function outboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const schema = checkSchema(options.schema ?? "omnibus", "outboxRelay");
  const s = quoteIdent(schema);
  const batchSize = options.batchSize ?? 500;
  const pollMs = options.pollMs ?? 500;
  const retainSentMs = options.retainSentMs ?? 3_600_000;
  const logger = options.logger ?? silentLogger;
  if (!options.pool && !options.url) throw new ConfigError("outboxRelay: give url or pool");
  const ownsPool = !options.pool;
  const pool = options.pool ?? new pg.Pool(poolConfig(resolveOptions({ url: options.url!, schema }), 2));
  if (ownsPool) {
    pool.on("error", () => {});
    guardClients(pool);
  }
  const ownsClient = typeof options.target === "string";
  const client: Client =
    typeof options.target === "string" ? createClient({ url: options.target, logger }) : options.target;
  let closing = false;
  let active = false;
  let sent = 0;
  let wake: (() => void) | undefined;
  const stopped = new AbortController();

  /** One session: take the lock, then publish rounds until the session or the relay ends. */
  const session = async (): Promise<void> => {
    const conn = await checkout(pool);
    let broken = false;
    let notified = false;
    const onNotify = () => {
      notified = true;
      wake?.();
    };
    conn.on("notification", onNotify);
    const idle = async (ms: number) => {
      if (notified || closing) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    };
    try {
      await migrate(conn, schema);
      await conn.query(`LISTEN ${quoteIdent(outboxChannel(schema))}`);
      const lockKey = `omnibus.outbox.relay.${schema}`;
      while (!closing) {
        const { rows } = await conn.query<{ ok: boolean }>(
          "SELECT pg_try_advisory_lock(hashtext($1)) AS ok",
          [lockKey],
        );
        if (rows[0]?.ok) break;
        await idle(pollMs); // standing by: another relay holds the outbox
        notified = false;
      }
      if (closing) return;
      active = true;
      let lastPrune = 0;
      while (!closing) {
        notified = false;
        const batch = await conn.query<OutboxRow>(
          `SELECT seq, kind, destination, id, body, headers, key, correlation_id, content_type
           FROM ${s}.outbox WHERE sent_at IS NULL ORDER BY seq LIMIT $1`,
          [batchSize],
        );
        if (batch.rows.length > 0) {
          await publish(batch.rows);
          await conn.query(`UPDATE ${s}.outbox SET sent_at = now() WHERE seq = ANY($1::int8[])`, [
            batch.rows.map((r) => r.seq),
          ]);
          sent += batch.rows.length;
        }
        if (Date.now() - lastPrune > Math.max(1_000, retainSentMs / 10)) {
          lastPrune = Date.now();
          await conn.query(
            `DELETE FROM ${s}.outbox WHERE sent_at IS NOT NULL AND sent_at < now() - $1 * interval '1 millisecond'`,
            [retainSentMs],
          );
        }
        if (batch.rows.length < batchSize) await idle(pollMs);
      }
    } catch (error) {
      broken = true;
      throw error;
    } finally {
      active = false;
      conn.off("notification", onNotify);
      // Ending the session releases the lock; a healthy connection unlocks and goes back.
      if (!broken) await conn.query("SELECT pg_advisory_unlock_all()").catch(() => (broken = true));
      conn.release(broken);
    }
  };

  /** Publish rows in seq order: consecutive rows of one destination as one batch. */
  const publish = async (rows: readonly OutboxRow[]): Promise<void> => {
    for (let i = 0; i < rows.length; ) {
      let j = i + 1;
      while (
        j < rows.length &&
        rows[j]!.kind === rows[i]!.kind &&
        rows[j]!.destination === rows[i]!.destination &&
        rows[j]!.content_type === rows[i]!.content_type
      )
        j++;
      const run = rows.slice(i, j);
      const first = run[0]!;
      const codec = storedCodec(first.content_type);
      const bytes = (r: OutboxRow) => new Uint8Array(r.body.buffer, r.body.byteOffset, r.body.byteLength);
      const sendOptions = (r: OutboxRow) => ({
        id: r.id,
        headers: JSON.parse(r.headers) as Record<string, string>,
        ...(r.key === null ? {} : { key: r.key }),
        ...(r.correlation_id === null ? {} : { correlationId: r.correlation_id }),
        codec,
      });
      if (first.kind === "queue")
        await client.sendBatch(
          first.destination as never,
          run.map((r) => ({ body: bytes(r), ...sendOptions(r) })) as never,
        );
      else
        for (const r of run) await client.publish(r.destination as never, bytes(r) as never, sendOptions(r));
      i = j;
    }
  };

  const loop = (async () => {
    const retry = backoff({ initialMs: 100, maxMs: 2_000 });
    while (!closing) {
      try {
        await session();
      } catch (error) {
        if (closing) break;
        logger.warn("outbox relay: round failed; retrying", { error: describe(error) });
        await delay(retry.next().value, stopped.signal).catch(() => {});
      }
    }
  })();

  const close = async () => {
    if (!closing) {
      closing = true;
      stopped.abort();
      wake?.();
    }
    await loop;
    if (ownsClient) await client.close().catch(() => {});
    if (ownsPool) await pool.end().catch(() => {});
  };
  return {
    get active() {
      return active;
    },
    get sent() {
      return sent;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
