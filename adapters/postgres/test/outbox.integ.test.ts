import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { brokerUrl } from "@omnibus/brokers";
import { type Client, createClient, silentLogger } from "@omnibus/core";
import { setDifference, waitFor } from "@omnibus/core/testing";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrateOutbox, outbox, outboxRelay } from "../src/index.js";

const url = brokerUrl("postgres");
const here = dirname(fileURLToPath(import.meta.url));
const KEYS = Array.from({ length: 8 }, (_, i) => `k${i}`);
const TARGETS = [
  { broker: "rabbitmq", url: brokerUrl("rabbitmq") },
  { broker: "kafka", url: `kafka://${brokerUrl("kafka")}` },
] as const;

interface Body {
  readonly key: string;
}

/**
 * A schema of one test's own: the outbox, a counter per key, and `commits`, where each
 * transaction records its rows with the counter value it took.
 */
async function freshSchema(admin: pg.Pool): Promise<string> {
  const schema = `omnibus_outbox_${randomUUID().slice(0, 8)}`;
  await migrateOutbox(admin, schema);
  await admin.query(`CREATE TABLE ${schema}.counters (key text PRIMARY KEY, n integer NOT NULL)`);
  await admin.query(`INSERT INTO ${schema}.counters SELECT unnest($1::text[]), 0`, [KEYS]);
  await admin.query(
    `CREATE TABLE ${schema}.commits (id text PRIMARY KEY, key text NOT NULL, n integer NOT NULL)`,
  );
  return schema;
}

/**
 * Writers committing (and rolling back, one in six) transactions of one or two keys: one outbox
 * row per key, then a pause of up to 20 ms, then, per key, the key's counter bumped and recorded
 * with the row's id in `commits`, then COMMIT. The counter's row lock hands out each key's
 * numbers in the order its transactions commit, so `commits` ordered by n is each key's true
 * commit order. (The order COMMITs return to the client is not: a backend releases its locks
 * before it answers, and on a loaded machine the next transaction of the key answered first.)
 * Without the outbox's key lock, a transaction that inserted its row first but paused longer
 * commits later, and the relay's seq order breaks the key's commit order: the check catches it.
 */
function produce(pool: pg.Pool, schema: string, queue: string, transactions: number, writers = 4) {
  const box = outbox({ schema });
  const committed: string[] = [];
  const rolledBack: string[] = [];
  let started = 0;
  const writer = async () => {
    while (started < transactions) {
      started++;
      const keys = [
        ...new Set([KEYS[Math.floor(Math.random() * 8)]!, KEYS[Math.floor(Math.random() * 8)]!]),
      ].sort();
      const tx = await pool.connect();
      const rows: [string, string][] = [];
      try {
        await tx.query("BEGIN");
        for (const key of keys) rows.push([key, await box.send(tx, queue, { key } satisfies Body, { key })]);
        await tx.query("SELECT pg_sleep(random() * 0.02)");
        for (const [key, id] of rows)
          await tx.query(
            `WITH c AS (UPDATE ${schema}.counters SET n = n + 1 WHERE key = $1 RETURNING n)
             INSERT INTO ${schema}.commits (id, key, n) SELECT $2, $1, n FROM c`,
            [key, id],
          );
        if (Math.random() < 1 / 6) {
          await tx.query("ROLLBACK");
          rolledBack.push(...rows.map(([, id]) => id));
        } else {
          await tx.query("COMMIT");
          committed.push(...rows.map(([, id]) => id));
        }
      } finally {
        tx.release();
      }
    }
  };
  const done = Promise.all(Array.from({ length: writers }, writer));
  /** Each key's ids in commit order. */
  const order = async () => {
    const { rows } = await pool.query<{ key: string; id: string }>(
      `SELECT key, id FROM ${schema}.commits ORDER BY key, n`,
    );
    const byKey = new Map<string, string[]>();
    for (const r of rows) byKey.set(r.key, [...(byKey.get(r.key) ?? []), r.id]);
    return byKey;
  };
  return { committed, rolledBack, order, done };
}

/** What a consumer of the target received, in arrival order. */
async function receive(client: Client, queue: string) {
  const got: { id: string; body: Body }[] = [];
  const sub = await client.consume(
    queue,
    (m) => {
      got.push({ id: m.id, body: m.body as Body });
    },
    { concurrency: 1 },
  );
  return { got, sub };
}

/** Loss, leaks and per-key order (each key's first deliveries against its commit order). */
async function verify(load: ReturnType<typeof produce>, got: { id: string; body: Body }[]) {
  const ids = got.map((g) => g.id);
  const diff = setDifference(load.committed, ids);
  expect(diff.missing, "committed rows that never reached the broker").toEqual([]);
  expect(
    diff.unexpected,
    "rows of rolled-back transactions (or never written) that reached the broker",
  ).toEqual([]);
  expect(load.rolledBack.filter((id) => ids.includes(id))).toEqual([]);
  const seen = new Set<string>();
  const firsts = new Map<string, string[]>();
  for (const g of got) {
    if (seen.has(g.id)) continue;
    seen.add(g.id);
    firsts.set(g.body.key, [...(firsts.get(g.body.key) ?? []), g.id]);
  }
  for (const [key, committedOrder] of await load.order())
    expect(firsts.get(key), `key ${key}: first deliveries in commit order`).toEqual(committedOrder);
  return diff.duplicates.length;
}

const admin = new pg.Pool({ connectionString: url, max: 8 });
const schemas: string[] = [];
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(() => {});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  await admin.end();
});

describe.each(TARGETS)("outbox relay to $broker", (target) => {
  it("SIGKILLed mid-stream (a child process): every committed row arrives, in commit order per key; rolled-back ones never", async () => {
    const schema = await freshSchema(admin);
    schemas.push(schema);
    const queue = `outbox-${randomUUID().slice(0, 8)}`;
    const consumer = createClient({ url: target.url, logger: silentLogger });
    cleanups.push(async () => {
      await consumer.deleteQueue(queue);
      await consumer.close();
    });
    const { got, sub } = await receive(consumer, queue);
    const tsx = pathToFileURL(join(here, "..", "..", "..", "node_modules", "tsx", "dist", "loader.mjs")).href;
    const child: ChildProcess = spawn(
      process.execPath,
      [
        "--import",
        tsx,
        "--conditions=@omnibus/source",
        join(here, "child", "relay.ts"),
        url,
        schema,
        target.url,
      ],
      { stdio: ["ignore", "inherit", "inherit"] },
    );
    const exited = new Promise<unknown>((resolve) =>
      child.once("exit", (code, signal) => resolve(signal ?? code)),
    );
    cleanups.push(async () => child.kill("SIGKILL"));
    const load = produce(admin, schema, queue, 600);
    const sentRows = async () =>
      Number(
        (await admin.query(`SELECT count(*) AS n FROM ${schema}.outbox WHERE sent_at IS NOT NULL`)).rows[0].n,
      );
    // Mid-stream: the child has published some rows and the writers are still writing.
    await waitFor(async () => (await sentRows()) >= 100, { timeoutMs: 30_000 });
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");
    const before = load.committed.length;
    await load.done;
    expect(load.committed.length).toBeGreaterThan(before); // rows were still being committed after the kill
    const relay = outboxRelay({ url, schema, target: target.url, batchSize: 100, pollMs: 100 });
    try {
      await waitFor(
        () =>
          setDifference(
            load.committed,
            got.map((g) => g.id),
          ).missing.length === 0,
        {
          timeoutMs: 30_000,
        },
      );
      const duplicates = await verify(load, got);
      expect(load.rolledBack.length).toBeGreaterThan(0);
      // At-least-once: only what the child published but had not marked sent comes twice.
      expect(duplicates).toBeLessThanOrEqual(50);
    } finally {
      await relay.close();
      await sub.close();
    }
  }, 90_000);
});

describe("two outbox relays at once", () => {
  it("one publishes at a time, the other takes over when it leaves: nothing lost, nothing twice, per-key order kept", async () => {
    const schema = await freshSchema(admin);
    schemas.push(schema);
    const queue = `outbox-${randomUUID().slice(0, 8)}`;
    const target = brokerUrl("rabbitmq");
    const consumer = createClient({ url: target, logger: silentLogger });
    cleanups.push(async () => {
      await consumer.deleteQueue(queue);
      await consumer.close();
    });
    const { got, sub } = await receive(consumer, queue);
    const a = outboxRelay({ url, schema, target, batchSize: 50, pollMs: 50 });
    const b = outboxRelay({ url, schema, target, batchSize: 50, pollMs: 50 });
    let both = 0;
    const watch = setInterval(() => {
      if (a.active && b.active) both++;
    }, 5);
    try {
      const load = produce(admin, schema, queue, 600);
      await waitFor(() => a.sent + b.sent >= 150, { timeoutMs: 30_000 });
      const first = a.active ? a : b;
      const second = first === a ? b : a;
      await first.close(); // the other one takes over
      await load.done;
      await waitFor(
        () =>
          setDifference(
            load.committed,
            got.map((g) => g.id),
          ).missing.length === 0,
        {
          timeoutMs: 30_000,
        },
      );
      expect(await verify(load, got)).toBe(0);
      expect(first.sent).toBeGreaterThan(0);
      expect(second.sent).toBeGreaterThan(0);
      expect(both, "times both relays were publishing at once").toBe(0);
    } finally {
      clearInterval(watch);
      await a.close();
      await b.close();
      await sub.close();
    }
  }, 90_000);
});

describe("outbox publish", () => {
  it("a topic row reaches every group through the relay, body, key and headers as written", async () => {
    const schema = await freshSchema(admin);
    schemas.push(schema);
    const topic = `outbox-t-${randomUUID().slice(0, 8)}`;
    const target = brokerUrl("rabbitmq");
    const consumer = createClient({ url: target, logger: silentLogger });
    const got: { group: string; body: unknown; key: string | undefined; header: string | undefined }[] = [];
    const subs = [];
    for (const group of ["g1", "g2"])
      subs.push(
        await consumer.subscribe(topic, { group }, (m) => {
          got.push({ group, body: m.body, key: m.key, header: m.headers["x-origin"] });
        }),
      );
    cleanups.push(async () => {
      await consumer.deleteTopic(topic);
      await consumer.close();
    });
    const tx = await admin.connect();
    try {
      await tx.query("BEGIN");
      await outbox({ schema }).publish(
        tx,
        topic,
        { order: 7 },
        { key: "c-1", headers: { "x-origin": "outbox" } },
      );
      await tx.query("COMMIT");
    } finally {
      tx.release();
    }
    const relay = outboxRelay({ url, schema, target, pollMs: 50 });
    try {
      await waitFor(() => got.length >= 2, { timeoutMs: 20_000 });
      expect(got.sort((a, b) => a.group.localeCompare(b.group))).toEqual([
        { group: "g1", body: { order: 7 }, key: "c-1", header: "outbox" },
        { group: "g2", body: { order: 7 }, key: "c-1", header: "outbox" },
      ]);
    } finally {
      await relay.close();
      for (const s of subs) await s.close();
    }
  }, 60_000);
});
