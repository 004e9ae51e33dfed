/**
 * The Redis idempotency store against the real server: atomic claims under a race between two
 * clients, expiry of an abandoned claim, done-with-TTL, release on failure, token checks; and the
 * core idempotency middleware on top of it with two consumers racing on the same ids.
 */

import { brokerUrl } from "@omnibus/brokers";
import { createClient, idempotency, type Middleware, shortId, silentLogger } from "@omnibus/core";
import { deferred, waitFor } from "@omnibus/core/testing";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { redis, redisIdempotencyStore } from "../src/index.js";

const URL = brokerUrl("redis");
const prefix = `omnibus-test:idem:${shortId()}:`;
const admin = new Redis(URL);

afterAll(async () => {
  const keys = await admin.keys(`${prefix}*`);
  if (keys.length > 0) await admin.del(...keys);
  admin.disconnect();
});

describe("redisIdempotencyStore", () => {
  it("two clients racing on the same keys: exactly one claim per key", async () => {
    await using a = redisIdempotencyStore({ url: URL, prefix });
    await using b = redisIdempotencyStore({ url: URL, prefix });
    const keys = Array.from({ length: 200 }, (_, i) => `race-${i}`);
    // 10 concurrent claims per key, alternating between the two clients (separate connections).
    const attempts = keys.flatMap((key) =>
      Array.from({ length: 10 }, (_, i) => ({ key, store: i % 2 ? a : b })),
    );
    const results = await Promise.all(
      attempts.map(async ({ key, store }) => ({ key, result: await store.claim(key, 30_000) })),
    );
    for (const key of keys) {
      const mine = results.filter((r) => r.key === key).map((r) => r.result.status);
      expect(
        mine.filter((s) => s === "claimed"),
        key,
      ).toHaveLength(1);
      expect(
        mine.filter((s) => s === "in-progress"),
        key,
      ).toHaveLength(9);
    }
  });

  it("complete marks done for the TTL; release lets the next caller claim", async () => {
    await using store = redisIdempotencyStore({ url: URL, prefix });
    const done = await store.claim("done-1", 10_000);
    expect(done.status).toBe("claimed");
    if (done.status !== "claimed") return;
    await store.complete("done-1", done.token, 300);
    expect((await store.claim("done-1", 10_000)).status).toBe("done");
    const ttl = await admin.pttl(`${prefix}done-1`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(300);
    await waitFor(async () => (await store.claim("done-1", 10_000)).status === "claimed", {
      timeoutMs: 3000,
    });

    const failed = await store.claim("failed-1", 10_000);
    if (failed.status !== "claimed") throw new Error("expected a claim");
    await store.release("failed-1", failed.token);
    expect((await store.claim("failed-1", 10_000)).status).toBe("claimed");
  });

  it("an abandoned claim expires; a stale token can neither complete nor release the new claim", async () => {
    await using store = redisIdempotencyStore({ url: URL, prefix });
    const first = await store.claim("stale-1", 100);
    if (first.status !== "claimed") throw new Error("expected a claim");
    expect((await store.claim("stale-1", 100)).status).toBe("in-progress");
    const second = await waitFor(
      async () => {
        const r = await store.claim("stale-1", 10_000);
        return r.status === "claimed" ? r : undefined;
      },
      { timeoutMs: 3000 },
    );
    await store.complete("stale-1", first.token, 10_000);
    await store.release("stale-1", first.token);
    expect(await admin.get(`${prefix}stale-1`)).toBe(second.token);
  });

  it("extend keeps a claim alive; complete counts an expired claim nobody took over, not a taken one", async () => {
    await using store = redisIdempotencyStore({ url: URL, prefix });
    const slow = await store.claim("slow-1", 150);
    if (slow.status !== "claimed") throw new Error("expected a claim");
    expect(await store.extend("slow-1", slow.token, 10_000)).toBe(true);
    expect(await admin.pttl(`${prefix}slow-1`)).toBeGreaterThan(5_000);
    expect(await store.extend("slow-1", "not-the-token", 10_000)).toBe(false);
    // A claim that expired while its handler was slow, with nobody claiming meanwhile: done.
    const lapsed = await store.claim("lapsed-1", 50);
    if (lapsed.status !== "claimed") throw new Error("expected a claim");
    await waitFor(async () => (await admin.exists(`${prefix}lapsed-1`)) === 0, { timeoutMs: 3000 });
    await store.complete("lapsed-1", lapsed.token, 10_000);
    expect((await store.claim("lapsed-1", 10_000)).status).toBe("done");
  });

  it("with the core middleware: a handler slower than lockMs runs once for three copies of its id (issue 16)", async () => {
    const store = redisIdempotencyStore({ url: URL, prefix });
    const queue = `idem-slow-${shortId()}`;
    const id = `slow-${shortId()}`;
    const lockMs = 300;
    const gate = deferred();
    let runs = 0;
    let deliveries = 0;
    let duplicates = 0;
    const seen: Middleware = {
      name: "seen",
      consume: (_ctx, next) => {
        deliveries++;
        return next();
      },
    };
    const clients = [];
    for (let i = 0; i < 2; i++) {
      const bus = createClient({
        adapter: redis({ url: URL, prefix: "omnibus-test" }),
        logger: silentLogger,
        use: [
          seen,
          idempotency({
            store,
            lockMs,
            retryDelayMs: 50,
            onDuplicate: () => {
              duplicates++;
            },
          }),
        ],
        retry: { initialDelayMs: 50, maxDelayMs: 100, jitter: 0, maxAttempts: 100 },
      });
      clients.push(bus);
      await bus.consume(queue, async () => {
        // The first run is slow (held until the duplicates came); any later run is a repeat.
        if (++runs === 1) await gate.promise;
      });
    }
    await clients[0]!.send(queue, 1, { id });
    await waitFor(() => runs === 1, { timeoutMs: 10_000 });
    const started = Date.now();
    // Past twice lockMs while the handler still runs: an unextended claim has expired by now.
    await waitFor(() => Date.now() - started > 2 * lockMs, { timeoutMs: 5_000 });
    await clients[1]!.send(queue, 2, { id });
    await waitFor(() => deliveries >= 2 || runs > 1, { timeoutMs: 10_000 });
    gate.resolve();
    await clients[0]!.send(queue, 3, { id });
    // Both later copies either dropped as duplicates or (the defect) handled again.
    await waitFor(() => duplicates + (runs - 1) >= 2, {
      timeoutMs: 10_000,
      message: () => `runs ${runs}, duplicates dropped ${duplicates}`,
    });
    expect({ runs, duplicates }).toEqual({ runs: 1, duplicates: 2 });
    await Promise.all(clients.map((c) => c.close()));
    await store.close();
    await admin.del(`omnibus-test:{q:${queue}}:stream`, `omnibus-test:{q:${queue}}:delayed`);
  });

  it("with the core middleware: two consumers, every id twice, each handled once", async () => {
    const store = redisIdempotencyStore({ url: URL, prefix });
    const queue = `idem-mw-${shortId()}`;
    const handled = new Map<string, number>();
    const clients = [];
    for (let i = 0; i < 2; i++) {
      const bus = createClient({
        adapter: redis({ url: URL, prefix: "omnibus-test" }),
        logger: silentLogger,
        use: [idempotency({ store, retryDelayMs: 50 })],
        retry: { initialDelayMs: 20, maxDelayMs: 200, jitter: 0, maxAttempts: 50 },
      });
      clients.push(bus);
      await bus.consume(
        queue,
        async (m) => {
          handled.set(m.id, (handled.get(m.id) ?? 0) + 1);
          await new Promise((r) => setTimeout(r, 20));
        },
        { concurrency: 8 },
      );
    }
    const ids = Array.from({ length: 100 }, () => `id-${shortId()}`);
    await clients[0]!.sendBatch(
      queue,
      [...ids, ...ids].map((id) => ({ id, body: { id } })),
    );
    await waitFor(() => ids.every((id) => handled.has(id)), { timeoutMs: 20_000 });
    let last = -1;
    await waitFor(
      () => {
        const total = [...handled.values()].reduce((x, y) => x + y, 0);
        const quiet = total === last;
        last = total;
        return quiet;
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    for (const id of ids) expect(handled.get(id), id).toBe(1);
    await Promise.all(clients.map((c) => c.close()));
    await store.close();
    await admin.del(`omnibus-test:{q:${queue}}:stream`, `omnibus-test:{q:${queue}}:delayed`);
  });
});
