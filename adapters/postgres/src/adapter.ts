/**
 * The PostgreSQL adapter: a `pg.Pool` for sends, one (asynchronous commit) for claims and
 * settlements, one `pg.Client` that
 * `LISTEN`s on the schema's channel and wakes the consumers of the destination a `NOTIFY` names.
 * @module
 */
import type { Logger, SourceStats } from "@omnibus/core";
import { ConfigError, ConnectionError, PublishError, silentLogger } from "@omnibus/core";
import type {
  Adapter,
  Address,
  ConsumeOptions,
  ConsumerHandle,
  Features,
  OutboundMessage,
  Source,
} from "@omnibus/core/adapter";
import { backoff, GroupCommit, once } from "@omnibus/core/adapter";
import pg from "pg";
import { PostgresConsumer } from "./consumer.js";
import type { ResolvedOptions } from "./options.js";
import { channelOf, checkout, groupDest, guardClients, migrate, queueDest, quoteIdent } from "./schema.js";
import * as sql from "./sql.js";

/** The escape hatch: the adapter's own `pg.Pool` (valid after connect), and the schema it uses. */
export interface PostgresNative {
  /** The pool the adapter sends on (synchronous commit). Do not end it: close the client. */
  readonly pool: pg.Pool;
  /**
   * The pool consumers claim, extend, ack and nack on, with `synchronous_commit = off`: those
   * writes are only ever repeated by a crash of the server (a claim or an ack lost with the last
   * WAL records means a redelivery, which at-least-once allows), so they do not wait for the WAL
   * flush. Sends never use it.
   */
  readonly settlePool: pg.Pool;
  /** The schema holding the adapter's tables (unquoted). */
  readonly schema: string;
}

/** pg connection settings of resolved options. */
export function poolConfig(o: ResolvedOptions, max: number): pg.PoolConfig {
  const c = o.connection;
  const query = new URLSearchParams(c.params).toString();
  const auth = `${encodeURIComponent(c.user)}${c.password === undefined ? "" : `:${encodeURIComponent(c.password)}`}@`;
  const host = c.host.includes(":") ? `[${c.host}]` : c.host;
  return {
    connectionString: `postgres://${auth}${host}:${c.port}/${encodeURIComponent(c.database)}${query ? `?${query}` : ""}`,
    max,
    connectionTimeoutMillis: o.connectTimeoutMs,
    query_timeout: o.queryTimeoutMs,
    keepAlive: true,
    idleTimeoutMillis: 30_000,
  };
}

/** Whether a pg error means the connection (not the statement) failed. */
export function isConnectionError(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  if (typeof e?.code === "string") {
    if (/^(08|57P0[1-3]|53300)/.test(e.code)) return true;
    if (/^E(CONN|PIPE|HOSTUNREACH|NETUNREACH|TIMEDOUT|ADDR)/.test(e.code)) return true;
  }
  return /Connection terminated|timeout|ECONNRE|not queryable|Client was closed|Cannot use a pool/i.test(
    String(e?.message ?? ""),
  );
}

/** A short description of a pg error, without anything from the connection string. */
export function describe(error: unknown): string {
  const e = error as { code?: string; message?: string };
  return `${e?.message ?? String(error)}${e?.code ? ` (${e.code})` : ""}`;
}

export class PostgresAdapter implements Adapter<PostgresNative> {
  readonly name = "postgres";
  readonly features: Features;
  readonly #o: ResolvedOptions;
  readonly #s: string;
  readonly #channel: string;
  #pool: pg.Pool | undefined;
  #settlePool: pg.Pool | undefined;
  #listener: pg.Client | undefined;
  #listenerRetry: NodeJS.Timeout | undefined;
  #logger: Logger = silentLogger;
  #closed = false;
  readonly #consumers = new Map<string, Set<PostgresConsumer>>();
  readonly #ensured = new Set<string>();
  #clockOffsetMs = 0;
  /**
   * Sends to one destination while an `INSERT` to it is in flight are gathered into the next one
   * (group commit): a steady producer calling `send` per message costs one statement per batch,
   * not one commit and one pooled connection per message (4,000 sends a second exhausted a pool
   * of 10 connections that way: "timeout exceeded when trying to connect").
   */
  readonly #sends = new GroupCommit<string, OutboundMessage>({
    maxItems: 1000,
    maxBytes: 32 * 1024 * 1024,
    size: (m) => m.body.byteLength + 256,
    write: (key, messages) => this.#insert(key, messages),
  });

  constructor(options: ResolvedOptions) {
    this.#o = options;
    this.#s = quoteIdent(options.schema);
    this.#channel = channelOf(options.schema);
    this.features = Object.freeze({
      persistent: true,
      fanout: true,
      orderingByKey: options.orderingByKey,
      delay: true,
      maxDelayMs: 2 ** 31 - 1,
      priority: true,
      maxPriority: 255,
      maxMessageBytes: options.maxMessageBytes,
      maxBatchSize: 1000,
    });
  }

  get native(): PostgresNative {
    if (!this.#pool) throw new ConfigError("postgres: native is available after connect()");
    return { pool: this.#pool, settlePool: this.#settlePool!, schema: this.#o.schema };
  }

  useLogger(logger: Logger): void {
    this.#logger = logger;
  }

  readonly connect = once(async () => {
    if (this.#closed) throw new ConnectionError("postgres: the adapter is closed");
    const pool = this.#pool ?? new pg.Pool(poolConfig(this.#o, this.#o.poolSize));
    if (!this.#pool) {
      pool.on("error", (error) =>
        this.#logger.warn("postgres: an idle connection failed", { error: describe(error) }),
      );
      guardClients(pool);
      this.#pool = pool;
      const settle = new pg.Pool({
        ...poolConfig(this.#o, this.#o.poolSize),
        options: "-c synchronous_commit=off",
      });
      settle.on("error", (error) =>
        this.#logger.warn("postgres: an idle connection failed", { error: describe(error) }),
      );
      guardClients(settle);
      this.#settlePool = settle;
    }
    let client: pg.PoolClient;
    try {
      client = await checkout(pool);
    } catch (error) {
      throw new ConnectionError(
        `postgres: cannot connect to ${this.#o.connection.host}:${this.#o.connection.port}: ${describe(error)}`,
        { cause: error },
      );
    }
    try {
      const before = Date.now();
      const { rows } = await client.query<{ ms: number }>(
        "SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::float8 AS ms",
      );
      this.#clockOffsetMs = rows[0]!.ms - (before + Date.now()) / 2;
      const applied = await migrate(client, this.#o.schema);
      if (applied.length > 0)
        this.#logger.info("postgres: schema migrated", { schema: this.#o.schema, versions: applied });
    } catch (error) {
      throw isConnectionError(error)
        ? new ConnectionError(`postgres: lost the connection while migrating: ${describe(error)}`, {
            cause: error,
          })
        : new ConfigError(`postgres: cannot create schema ${this.#o.schema}: ${describe(error)}`, {
            cause: error,
          });
    } finally {
      client.release();
    }
    await this.#listen();
  });

  /** (Re)start the LISTEN connection; on loss, retry with backoff and wake everyone once back. */
  async #listen(): Promise<void> {
    const retry = backoff({ initialMs: 100, maxMs: 2_000 });
    const start = async (): Promise<void> => {
      const client = new pg.Client(poolConfig(this.#o, 1));
      let lost = false;
      const onLost = () => {
        if (lost) return;
        lost = true;
        client.removeAllListeners("notification");
        client.end().catch(() => {});
        if (this.#listener === client) this.#listener = undefined;
        if (this.#closed) return;
        this.#listenerRetry = setTimeout(() => void start().catch(onRetry), retry.next().value);
      };
      const onRetry = (error: unknown) => {
        this.#logger.warn("postgres: LISTEN connection failed; retrying", { error: describe(error) });
        if (!this.#closed)
          this.#listenerRetry = setTimeout(() => void start().catch(onRetry), retry.next().value);
      };
      client.on("error", onLost);
      client.on("end", onLost);
      client.on("notification", (n) => {
        if (n.payload) for (const c of this.#consumers.get(n.payload) ?? []) c.wake();
      });
      try {
        await client.connect();
        await client.query(`LISTEN ${quoteIdent(this.#channel)}`);
      } catch (error) {
        client.removeAllListeners();
        client.on("error", () => {});
        await client.end().catch(() => {});
        throw error;
      }
      if (this.#closed) {
        await client.end().catch(() => {});
        return;
      }
      this.#listener = client;
      // Anything sent while nobody listened: look once.
      for (const set of this.#consumers.values()) for (const c of set) c.wake();
    };
    try {
      await start();
    } catch (error) {
      throw new ConnectionError(`postgres: cannot LISTEN: ${describe(error)}`, { cause: error });
    }
  }

  #pooled(): pg.Pool {
    if (this.#closed) throw new ConnectionError("postgres: the adapter is closed");
    if (!this.#pool) throw new ConnectionError("postgres: not connected (call connect() first)");
    return this.#pool;
  }

  async send(address: Address, messages: readonly OutboundMessage[]): Promise<void> {
    if (messages.length === 0) return;
    this.#pooled();
    try {
      await this.#sends.add(`${address.kind === "queue" ? "q" : "t"}/${address.name}`, messages);
    } catch (error) {
      throw new PublishError(`postgres: send to ${address.kind} ${address.name} failed: ${describe(error)}`, {
        cause: error,
      });
    }
  }

  /** One `INSERT` of a batch to `key` (`q/<queue>` or `t/<topic>`). */
  async #insert(key: string, messages: readonly OutboundMessage[]): Promise<void> {
    const pool = this.#pooled();
    const n = messages.length;
    const ids = new Array<string>(n);
    const bodies = new Array<Buffer>(n);
    const headers = new Array<string>(n);
    const keys = new Array<string | null>(n);
    const cids = new Array<string | null>(n);
    const rtos = new Array<string | null>(n);
    const tss = new Array<string>(n);
    const prios = new Array<number>(n);
    const delays = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      const m = messages[i]!;
      ids[i] = m.id;
      bodies[i] = Buffer.from(m.body); // a copy: the caller may reuse its buffer once we resolve
      headers[i] = JSON.stringify(m.headers);
      keys[i] = m.key ?? null;
      cids[i] = m.correlationId ?? null;
      rtos[i] = m.replyTo ?? null;
      tss[i] = String(m.timestamp);
      prios[i] = m.priority ?? 0;
      delays[i] = m.delayMs ?? 0;
    }
    const isQueue = key.startsWith("q/");
    const params = [
      isQueue ? key : key.slice(2),
      ids,
      bodies,
      headers,
      keys,
      cids,
      rtos,
      tss,
      prios,
      delays,
      this.#channel,
    ];
    await pool.query(isQueue ? sql.sendQueue(this.#s) : sql.sendTopic(this.#s), params);
  }

  async ensureGroup(topic: string, group: string): Promise<void> {
    const pool = this.#pooled();
    const key = `${topic}\u0000${group}`;
    if (this.#ensured.has(key)) return;
    try {
      await pool.query(`INSERT INTO ${this.#s}.groups (topic, grp) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [
        topic,
        group,
      ]);
    } catch (error) {
      throw new ConnectionError(`postgres: cannot create group ${group} of ${topic}: ${describe(error)}`, {
        cause: error,
      });
    }
    this.#ensured.add(key);
  }

  async consume(source: Source, options: ConsumeOptions): Promise<ConsumerHandle> {
    this.#pooled();
    let dest: string;
    if (source.kind === "topic") {
      await this.ensureGroup(source.name, source.group);
      dest = groupDest(source.name, source.group);
    } else dest = queueDest(source.name);
    const consumer = new PostgresConsumer(
      dest,
      source.kind === "queue" && source.ephemeral === true,
      {
        pool: this.#settlePool!,
        schema: this.#s,
        channel: this.#channel,
        leaseMs: this.#o.leaseMs,
        pollMs: this.#o.pollMs,
        orderingByKey: this.#o.orderingByKey,
        clockOffsetMs: () => this.#clockOffsetMs,
        logger: () => this.#logger,
        onClosed: (c) => {
          const set = this.#consumers.get(c.dest);
          set?.delete(c);
          if (set?.size === 0) this.#consumers.delete(c.dest);
        },
      },
      options,
    );
    let set = this.#consumers.get(dest);
    if (!set) this.#consumers.set(dest, (set = new Set()));
    set.add(consumer);
    return consumer;
  }

  async #run(what: string, text: string, params: unknown[]): Promise<void> {
    try {
      await this.#pooled().query(text, params);
    } catch (error) {
      throw new ConnectionError(`postgres: ${what} failed: ${describe(error)}`, { cause: error });
    }
  }

  /**
   * Broker state for `client.stats`, from the messages table: `inFlight` the rows a consumer holds
   * under a lease that has not run out, `depth` every other row of the source (ready, delayed, or
   * whose lease expired). A source nothing was sent to, or a schema not made yet, reports zeros.
   */
  async stats(source: Source): Promise<SourceStats> {
    const dest = source.kind === "queue" ? queueDest(source.name) : groupDest(source.name, source.group);
    try {
      const { rows } = await this.#pooled().query<{ total: number; in_flight: number }>(
        `SELECT count(*)::int AS total,
                count(*) FILTER (WHERE owner IS NOT NULL AND visible_at > now())::int AS in_flight
         FROM ${this.#s}.messages WHERE dest = $1`,
        [dest],
      );
      const { total, in_flight: inFlight } = rows[0]!;
      return { depth: total - inFlight, inFlight };
    } catch (error) {
      if ((error as { code?: string }).code === "42P01") return { depth: 0, inFlight: 0 }; // no table yet
      throw new ConnectionError(
        `postgres: stats of ${source.kind} ${source.name} failed: ${describe(error)}`,
        {
          cause: error,
        },
      );
    }
  }

  async deleteQueue(name: string): Promise<void> {
    await this.#run(`deleting queue ${name}`, `DELETE FROM ${this.#s}.messages WHERE dest = $1`, [
      queueDest(name),
    ]);
  }

  async deleteTopic(topic: string): Promise<void> {
    for (const key of this.#ensured) if (key.startsWith(`${topic}\u0000`)) this.#ensured.delete(key);
    await this.#run(`deleting topic ${topic}`, `DELETE FROM ${this.#s}.groups WHERE topic = $1`, [topic]);
    await this.#run(
      `deleting topic ${topic}`,
      `DELETE FROM ${this.#s}.messages WHERE starts_with(dest, $1)`,
      [`t/${topic}/`],
    );
  }

  async deleteGroup(topic: string, group: string): Promise<void> {
    this.#ensured.delete(`${topic}\u0000${group}`);
    await this.#run(
      `deleting group ${group} of ${topic}`,
      `DELETE FROM ${this.#s}.groups WHERE topic = $1 AND grp = $2`,
      [topic, group],
    );
    await this.#run(
      `deleting group ${group} of ${topic}`,
      `DELETE FROM ${this.#s}.messages WHERE dest = $1`,
      [groupDest(topic, group)],
    );
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    const consumers = [...this.#consumers.values()].flatMap((set) => [...set]);
    await Promise.allSettled(consumers.map((c) => c.close()));
    this.#closed = true;
    clearTimeout(this.#listenerRetry);
    const listener = this.#listener;
    this.#listener = undefined;
    await listener?.end().catch(() => {});
    await this.#pool?.end().catch(() => {});
    await this.#settlePool?.end().catch(() => {});
  }
}
