import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { brokerUrl } from "@omnibus/brokers";
import { type Client, createClient, idempotency, silentLogger } from "@omnibus/core";
import { setDifference, waitFor } from "@omnibus/core/testing";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inbox, postgres, postgresIdempotencyStore } from "../src/index.js";

const url = brokerUrl("postgres");
const here = dirname(fileURLToPath(import.meta.url));
// A schema of this file's own, dropped at the end: the store's and the inbox's tables, a ledger.
const schema = `omnibus_idem_${randomUUID().slice(0, 8)}`;
const admin = new pg.Pool({ connectionString: url, max: 2 });
const clients: Client[] = [];
const queue = () => `idem-${randomUUID().slice(0, 8)}`;
const bus = () => {
  const c = createClient({ adapter: postgres({ url, schema, leaseMs: 1_000 }), logger: silentLogger });
  clients.push(c);
  return c;
};

beforeAll(async () => {
  const store = postgresIdempotencyStore({ url, schema });
  await store.prune(); // creates the schema (migrations)
  await store.close();
  await admin.query(`CREATE TABLE ${schema}.ledger (message_id text NOT NULL, n integer NOT NULL)`);
});

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});

describe("postgresIdempotencyStore", () => {
  it("claims once, reports in-progress and done, checks the token, releases, extends, expires", async () => {
    await using store = postgresIdempotencyStore({ url, schema });
    const key = randomUUID();
    const first = await store.claim(key, 60_000);
    expect(first.status).toBe("claimed");
    expect(await store.claim(key, 60_000)).toEqual({ status: "in-progress" });
    const token = (first as { token: string }).token;
    expect(await store.extend(key, token, 60_000)).toBe(true);
    expect(await store.extend(key, randomUUID(), 60_000)).toBe(false);
    await store.complete(key, randomUUID(), 60_000); // not our token: nothing changes
    expect(await store.claim(key, 60_000)).toEqual({ status: "in-progress" });
    await store.complete(key, token, 60_000);
    expect(await store.claim(key, 60_000)).toEqual({ status: "done" });
    expect(await store.extend(key, token, 60_000)).toBe(false);

    const other = randomUUID();
    const held = (await store.claim(other, 60_000)) as { token: string };
    await store.release(other, randomUUID()); // not ours: kept
    expect(await store.claim(other, 60_000)).toEqual({ status: "in-progress" });
    await store.release(other, held.token);
    expect((await store.claim(other, 60_000)).status).toBe("claimed");

    // An expired claim (its holder died) can be taken; a slow holder's completion still counts
    // when nobody took it meanwhile.
    const slow = randomUUID();
    const lapsed = (await store.claim(slow, 1)) as { token: string };
    await waitFor(async () => (await store.claim(slow, 60_000)).status === "claimed", { timeoutMs: 5_000 });
    await store.complete(slow, lapsed.token, 60_000); // superseded: no effect
    expect(await store.claim(slow, 60_000)).toEqual({ status: "in-progress" });
    const alone = randomUUID();
    const alone1 = (await store.claim(alone, 1)) as { token: string };
    await store.complete(alone, alone1.token, 60_000);
    expect(await store.claim(alone, 60_000)).toEqual({ status: "done" });
  });

  it("under core's idempotency(): every id sent twice to three consumers is handled once", async () => {
    await using store = postgresIdempotencyStore({ url, schema });
    const q = queue();
    const handled: string[] = [];
    const consumer = bus();
    for (let i = 0; i < 3; i++) {
      const c = createClient({
        adapter: postgres({ url, schema }),
        logger: silentLogger,
        use: [idempotency({ store, retryDelayMs: 50 })],
      });
      clients.push(c);
      await c.consume(
        q,
        async (m) => {
          handled.push(m.id);
        },
        { concurrency: 4 },
      );
    }
    const ids = Array.from({ length: 100 }, () => randomUUID());
    await consumer.sendBatch(
      q,
      [...ids, ...ids].map((id) => ({ id, body: { id } })),
    );
    await waitFor(() => new Set(handled).size === ids.length, { timeoutMs: 20_000 });
    const diff = setDifference(ids, handled);
    expect(diff).toEqual({ missing: [], unexpected: [], duplicates: [] });
    await consumer.deleteQueue(q);
  });
});

describe("inbox", () => {
  const rows = async (id: string) =>
    Number(
      (await admin.query(`SELECT count(*) AS n FROM ${schema}.ledger WHERE message_id = $1`, [id])).rows[0].n,
    );

  it("a handler that writes and then throws is retried; its row exists once, and a duplicate is not handled", async () => {
    const q = queue();
    const client = bus();
    const attempts: number[] = [];
    let failing: string | undefined;
    const handler = inbox<{ n: number }>({ url, schema }, async (m, tx) => {
      await tx.query(`INSERT INTO ${schema}.ledger (message_id, n) VALUES ($1, $2)`, [m.id, m.body.n]);
      attempts.push(m.attempt);
      if (m.id === failing && m.attempt === 1) throw new Error("crash before commit");
    });
    try {
      await client.consume(q, handler, { retry: { initialDelayMs: 10, maxAttempts: 5 } });
      const id = randomUUID();
      failing = id;
      await client.send(q, { n: 1 }, { id });
      await waitFor(async () => (await rows(id)) === 1 && attempts.length === 2, { timeoutMs: 15_000 });
      // The same message again (a redelivery of a message already handled): acked, not handled.
      await client.send(q, { n: 1 }, { id });
      const marker = await client.send(q, { n: 2 });
      await waitFor(async () => (await rows(marker)) === 1, { timeoutMs: 15_000 });
      expect(attempts).toEqual([1, 2, 1]); // the duplicate never reached the handler: only the marker's
      expect(await rows(id)).toBe(1);
    } finally {
      await handler.close();
      await client.deleteQueue(q);
    }
  });

  it("a consumer SIGKILLed after its handler wrote, before COMMIT: the redelivery writes the row, which exists once", async () => {
    const q = queue();
    const client = bus();
    const id = await client.send(q, { n: 7 });
    const tsx = pathToFileURL(join(here, "..", "..", "..", "node_modules", "tsx", "dist", "loader.mjs")).href;
    const child = spawn(
      process.execPath,
      [
        "--import",
        tsx,
        "--conditions=@omnibus/source",
        join(here, "child", "inbox-crash.ts"),
        url,
        schema,
        q,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    // Never left running: a child that did not kill itself in time fails the `wrote` check.
    const guard = setTimeout(() => child.kill("SIGKILL"), 30_000);
    let out = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
    });
    const exit = await new Promise<NodeJS.Signals | number | null>((resolve) =>
      child.once("exit", (code, signal) => resolve(signal ?? code)),
    );
    clearTimeout(guard);
    expect(exit).toBe("SIGKILL");
    expect(out).toContain(`wrote ${id}`);
    expect(await rows(id)).toBe(0); // rolled back with the process
    const handler = inbox<{ n: number }>({ url, schema }, async (m, tx) => {
      await tx.query(`INSERT INTO ${schema}.ledger (message_id, n) VALUES ($1, $2)`, [m.id, m.body.n]);
      attempts.push(m.attempt);
    });
    const attempts: number[] = [];
    try {
      await client.consume(q, handler);
      await waitFor(async () => (await rows(id)) === 1, { timeoutMs: 15_000 });
      expect(attempts).toEqual([2]); // the lease of the dead consumer ran out: its second delivery
      expect(await rows(id)).toBe(1);
    } finally {
      await handler.close();
      await client.deleteQueue(q);
    }
  });
});
