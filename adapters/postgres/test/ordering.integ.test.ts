import { randomUUID } from "node:crypto";
import { brokerUrl } from "@omnibus/brokers";
import { type Client, createClient, silentLogger } from "@omnibus/core";
import { setDifference, waitFor } from "@omnibus/core/testing";
import { afterAll, describe, expect, it } from "vitest";
import { postgres } from "../src/index.js";

const clients: Client[] = [];
afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
});

describe("ordering by key across competing consumers (head of key)", () => {
  it("two consumers, four handlers each: a key's messages are handled one at a time, in send order", async () => {
    const queue = `order-${randomUUID().slice(0, 8)}`;
    const bus = (name: string) => {
      const c = createClient({ adapter: postgres({ url: brokerUrl("postgres") }), logger: silentLogger });
      clients.push(c);
      return { c, name };
    };
    const producer = bus("producer").c;
    // Per key: the handler runs (start, end) and who ran it.
    const runs = new Map<string, { n: number; start: number; end: number; by: string }[]>();
    const handled: string[] = [];
    for (const { c, name } of [bus("a"), bus("b")]) {
      await c.consume(
        queue,
        async (m) => {
          const { key, n } = m.body as { key: string; n: number };
          const start = performance.now();
          await new Promise((r) => setTimeout(r, Math.random() * 4));
          runs.set(key, [...(runs.get(key) ?? []), { n, start, end: performance.now(), by: name }]);
          handled.push(m.id);
        },
        { concurrency: 4 },
      );
    }
    const keys = Array.from({ length: 8 }, (_, i) => `k${i}`);
    const items = Array.from({ length: 400 }, (_, i) => {
      const key = keys[i % 8]!;
      return { id: randomUUID(), key, body: { key, n: Math.floor(i / 8) } };
    });
    for (let i = 0; i < items.length; i += 100) await producer.sendBatch(queue, items.slice(i, i + 100));
    await waitFor(() => handled.length >= items.length, { timeoutMs: 30_000 });
    expect(
      setDifference(
        items.map((i) => i.id),
        handled,
      ),
    ).toEqual({ missing: [], unexpected: [], duplicates: [] });
    const by = new Set<string>();
    for (const key of keys) {
      const r = runs.get(key)!;
      expect(
        r.map((x) => x.n),
        `key ${key} in send order`,
      ).toEqual(r.map((_, i) => i));
      for (let i = 1; i < r.length; i++)
        expect(r[i]!.start, `key ${key}: message ${i} started before ${i - 1} ended`).toBeGreaterThanOrEqual(
          r[i - 1]!.end,
        );
      for (const x of r) by.add(x.by);
    }
    expect([...by].sort(), "both consumers took part").toEqual(["a", "b"]);
    await producer.deleteQueue(queue);
  }, 60_000);
});
