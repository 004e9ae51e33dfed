import { createHash, randomUUID } from "node:crypto";
import pg from "pg";
import PgBoss from "pg-boss";
import { type Body, body, bodyBytes, parse } from "../payload.js";
import type { Driver, Progress } from "../types.js";

const TABLE = "omnibus_bench.raw";

/** A queue's NOTIFY channel (channel names are at most 63 bytes). */
const channel = (queue: string) => `bench_${createHash("sha1").update(queue).digest("hex").slice(0, 16)}`;

/**
 * `pg` as an expert writes a SKIP LOCKED queue: one table (`id bigserial, queue, body bytea`);
 * a window is one `INSERT … SELECT unnest($bodies)` that also `pg_notify`s; the consumer, on a
 * connection of its own, loops `BEGIN; DELETE … WHERE id IN (SELECT … ORDER BY id LIMIT 500 FOR
 * UPDATE SKIP LOCKED) RETURNING body; <handle>; COMMIT` (at-least-once: a crash before COMMIT
 * rolls the delete back), and when the queue is empty waits for a `NOTIFY` (or 100 ms). RPC:
 * the request is a row, the reply a `NOTIFY` on the requester's own channel.
 */
export class RawPostgres implements Driver {
  readonly side = "raw";
  #pool: pg.Pool | undefined;
  readonly #clients = new Set<pg.Client>();

  constructor(private readonly url: string) {}

  get #p(): pg.Pool {
    if (!this.#pool) throw new Error("not connected");
    return this.#pool;
  }

  async #client(): Promise<pg.Client> {
    const c = new pg.Client({ connectionString: this.url });
    c.on("error", () => {});
    await c.connect();
    this.#clients.add(c);
    return c;
  }

  async connect(): Promise<void> {
    this.#pool = new pg.Pool({ connectionString: this.url, max: 8 });
    this.#pool.on("error", () => {});
    await this.#pool.query("CREATE SCHEMA IF NOT EXISTS omnibus_bench");
    await this.#pool.query(
      `CREATE TABLE IF NOT EXISTS ${TABLE} (id bigserial PRIMARY KEY, queue text NOT NULL, body bytea NOT NULL)`,
    );
    await this.#pool.query(`CREATE INDEX IF NOT EXISTS raw_queue ON ${TABLE} (queue, id)`);
  }

  async prepare(_queue: string): Promise<void> {}

  async consume(queue: string, onBody: (body: Body) => void): Promise<() => Promise<void>> {
    const c = await this.#client();
    const listener = await this.#client();
    let wake: (() => void) | undefined;
    listener.on("notification", () => wake?.());
    await listener.query(`LISTEN "${channel(queue)}"`);
    let running = true;
    const loop = (async () => {
      while (running) {
        await c.query("BEGIN");
        const { rows } = await c.query<{ body: Buffer }>(
          `DELETE FROM ${TABLE} WHERE id IN (SELECT id FROM ${TABLE} WHERE queue = $1 ORDER BY id LIMIT 500 FOR UPDATE SKIP LOCKED) RETURNING body`,
          [queue],
        );
        for (const r of rows) onBody(parse(r.body));
        await c.query("COMMIT");
        if (rows.length === 0 && running)
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, 100);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
      }
    })();
    return async () => {
      running = false;
      wake?.();
      await loop.catch(() => {});
      for (const x of [c, listener]) {
        this.#clients.delete(x);
        await x.end().catch(() => {});
      }
    };
  }

  async #insert(queue: string, bodies: Buffer[]): Promise<void> {
    await this.#p.query(
      `WITH ins AS (INSERT INTO ${TABLE} (queue, body) SELECT $1, unnest($2::bytea[]) RETURNING 1)
       SELECT pg_notify($3, '') FROM (SELECT 1 FROM ins LIMIT 1) AS one`,
      [queue, bodies, channel(queue)],
    );
  }

  async sendWindow(queue: string, from: number, to: number, size: number): Promise<void> {
    const bodies: Buffer[] = [];
    for (let i = from; i < to; i++) bodies.push(bodyBytes(i, size));
    await this.#insert(queue, bodies);
  }

  /** The messages of a tick in one `INSERT` (a commit per message would not keep up). */
  async sendTick(queue: string, from: number, to: number, size: number, t: number): Promise<void> {
    const bodies: Buffer[] = [];
    for (let i = from; i < to; i++) bodies.push(bodyBytes(i, size, t));
    await this.#insert(queue, bodies);
  }

  async rpc(queue: string, count: number, size: number, progress: Progress): Promise<number[]> {
    const replyChannel = `bench_reply_${randomUUID().slice(0, 8)}`;
    const me = await this.#client();
    let answer: ((payload: string) => void) | undefined;
    me.on("notification", (n) => answer?.(n.payload ?? ""));
    await me.query(`LISTEN "${replyChannel}"`);
    const server = await this.#client();
    const serverListener = await this.#client();
    let wake: (() => void) | undefined;
    serverListener.on("notification", () => wake?.());
    await serverListener.query(`LISTEN "${channel(queue)}"`);
    let running = true;
    const loop = (async () => {
      while (running) {
        const { rows } = await server.query<{ body: Buffer }>(
          `DELETE FROM ${TABLE} WHERE id IN (SELECT id FROM ${TABLE} WHERE queue = $1 ORDER BY id LIMIT 100 FOR UPDATE SKIP LOCKED) RETURNING body`,
          [queue],
        );
        for (const r of rows) {
          const raw = r.body.toString();
          const nl = raw.indexOf("\n");
          await server.query("SELECT pg_notify($1, $2)", [raw.slice(0, nl), raw.slice(nl + 1)]);
        }
        if (rows.length === 0 && running)
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, 100);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
      }
    })();
    try {
      const out: number[] = [];
      for (let i = 0; i < count; i++) {
        const start = performance.now();
        const reply = new Promise<string>((resolve) => {
          answer = resolve;
        });
        await this.#insert(queue, [Buffer.concat([Buffer.from(`${replyChannel}\n`), bodyBytes(i, size)])]);
        const got = parse(Buffer.from(await reply));
        out.push(performance.now() - start);
        if (got.i !== i) throw new Error(`rpc: reply ${got.i} to request ${i}`);
        if ((i & 63) === 0) progress(i, count);
      }
      return out;
    } finally {
      running = false;
      wake?.();
      await loop.catch(() => {});
      for (const x of [me, server, serverListener]) {
        this.#clients.delete(x);
        await x.end().catch(() => {});
      }
    }
  }

  async cleanup(queue: string): Promise<void> {
    await this.#p.query(`DELETE FROM ${TABLE} WHERE queue = $1`, [queue]).catch(() => {});
  }

  async close(): Promise<void> {
    for (const c of this.#clients) await c.end().catch(() => {});
    this.#clients.clear();
    await this.#pool?.query("DROP SCHEMA IF EXISTS omnibus_bench CASCADE").catch(() => {});
    await this.#pool?.end().catch(() => {});
  }
}

/**
 * pg-boss 10 as its documentation has it: `insert` of a window's jobs, `work` with `batchSize`
 * 500 and the shortest polling interval it allows (0.5 s), completing the batch when the handler
 * returns. It has no request-reply.
 */
export class RawPgBoss implements Driver {
  readonly side = "raw";
  readonly rpcNote = "pg-boss has no request-reply";
  #boss: PgBoss | undefined;

  constructor(private readonly url: string) {}

  get #b(): PgBoss {
    if (!this.#boss) throw new Error("not connected");
    return this.#boss;
  }

  async connect(): Promise<void> {
    this.#boss = new PgBoss({
      connectionString: this.url,
      schema: "omnibus_bench_pgboss",
      supervise: false,
      schedule: false,
    });
    this.#boss.on("error", () => {});
    await this.#boss.start();
  }

  async prepare(queue: string): Promise<void> {
    await this.#b.createQueue(queue);
  }

  async consume(queue: string, onBody: (body: Body) => void): Promise<() => Promise<void>> {
    await this.#b.work<Body>(queue, { batchSize: 500, pollingIntervalSeconds: 0.5 }, async (jobs) => {
      for (const job of jobs) onBody(job.data);
    });
    return async () => {
      await this.#b.offWork(queue);
    };
  }

  async sendWindow(queue: string, from: number, to: number, size: number): Promise<void> {
    const jobs = [];
    for (let i = from; i < to; i++) jobs.push({ name: queue, data: body(i, size) });
    await this.#b.insert(jobs);
  }

  /** The jobs of a tick in one `insert`. */
  async sendTick(queue: string, from: number, to: number, size: number, t: number): Promise<void> {
    const jobs = [];
    for (let i = from; i < to; i++) jobs.push({ name: queue, data: body(i, size, t) });
    await this.#b.insert(jobs);
  }

  async cleanup(queue: string): Promise<void> {
    await this.#b.deleteQueue(queue).catch(() => {});
  }

  async close(): Promise<void> {
    const boss = this.#boss;
    if (!boss) return;
    await boss.stop({ graceful: false, wait: true }).catch(() => {});
    const pool = new pg.Pool({ connectionString: this.url, max: 1 });
    await pool.query("DROP SCHEMA IF EXISTS omnibus_bench_pgboss CASCADE").catch(() => {});
    await pool.end();
  }
}
