/**
 * What a consumer gets back after its connection is lost, on private servers (never the shared one):
 *
 * - Entries read for a consumer whose reply was lost with the connection (Redis executed the
 *   `XREADGROUP`, persisted it with AOF, and went down before answering) come back within seconds
 *   of the restart, with `attempt + 1`, not after `claimIdleMs` through `XAUTOCLAIM`.
 * - Acks that failed while Redis was down are sent again once it is back: the messages are not
 *   redelivered.
 * - After every connection is cut with deliveries in flight, duplicates are at most the handlers
 *   that were running; when another consumer of the group took the messages over meanwhile (this
 *   consumer's leases lapsed), the deliveries it had not started are stale and core drops them.
 */

import { randomUUID } from "node:crypto";
import { startPrivate } from "@omnibus/brokers";
import { tcpProxy } from "@omnibus/conformance";
import { type Client, createClient, type Delivery, type OutboundMessage, silentLogger } from "@omnibus/core";
import { setDifference, waitFor } from "@omnibus/core/testing";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import type { RedisNativeMessage } from "../src/consumer.js";
import { redis } from "../src/index.js";

const msg = (i: number): OutboundMessage => ({
  id: randomUUID(),
  body: Buffer.from(String(i)),
  headers: {},
  timestamp: Date.now(),
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const streamKey = (queue: string) => `omnibus:{q:${queue}}:stream`;
/** The group of a queue's stream (a queue has one). */
const GROUP = "omnibus";

describe("redis recovery after a lost connection", () => {
  it("a restart with reads in flight: every confirmed id arrives within seconds of the restart, not after claimIdleMs", async () => {
    await using server = await startPrivate("redis", { persistence: true });
    const queue = "recover-reads";
    // Default claimIdleMs (30 s): what comes back within seconds did not come back through XAUTOCLAIM.
    const producer = redis({ url: server.url, persistent: true, logger: silentLogger });
    const consumer = redis({ url: server.url, persistent: true, logger: silentLogger });
    const raw = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: null });
    try {
      const received = new Map<string, { at: number; attempts: number[] }>();
      let consumerName: string | undefined;
      await consumer.consume(
        { kind: "queue", name: queue },
        {
          prefetch: 32,
          onDelivery: (d: Delivery) => {
            consumerName ??= (d.message.native as RedisNativeMessage).consumer;
            const seen = received.get(d.message.id);
            if (seen) seen.attempts.push(d.message.attempt);
            else received.set(d.message.id, { at: Date.now(), attempts: [d.message.attempt] });
            // Deliveries in flight when the server goes: handlers take a few ms.
            setTimeout(() => void d.ack(), 5);
          },
          onError: () => {},
        },
      );
      const confirmed: string[] = [];
      const send = async (n: number, from: number) => {
        for (let b = 0; b < n; b += 10) {
          const batch = Array.from({ length: 10 }, (_, i) => msg(from + b + i));
          try {
            await producer.send({ kind: "queue", name: queue }, batch);
            confirmed.push(...batch.map((m) => m.id));
          } catch {
            // unconfirmed: may or may not arrive
          }
        }
      };
      await send(200, 0);
      // The backlog read, so that the transaction below reads exactly the entries it adds.
      await waitFor(() => received.size === 200);
      // What a read whose reply is lost leaves behind, made certain: entries read for the consumer
      // (in its pending entries list, delivery count 1) that it never got. The transaction runs
      // before Redis serves the consumer's blocked read, so the consumer cannot get them itself.
      await raw.connect();
      // More than the prefetch: they come back over several passes.
      const orphans = Array.from({ length: 40 }, () => randomUUID());
      const tx = raw.multi();
      for (const id of orphans) tx.xadd(streamKey(queue), "*", "id", id, "body", "orphan");
      tx.xreadgroup("GROUP", GROUP, consumerName!, "COUNT", orphans.length, "STREAMS", streamKey(queue), ">");
      await tx.exec();
      raw.disconnect();
      const pending = sendWhileRestarting(send);
      await server.restart();
      const restoredAt = Date.now();
      await pending;
      await send(50, 10_000);
      const expected = [...confirmed, ...orphans];
      await waitFor(() => setDifference(expected, [...received.keys()]).missing.length === 0, {
        timeoutMs: 10_000,
        message: () =>
          `missing ${setDifference(expected, [...received.keys()]).missing.length} of ${expected.length}`,
      });
      // Back at once (well before claimIdleMs), as a new delivery of the same entry.
      for (const id of orphans) {
        const r = received.get(id)!;
        expect(r.at - restoredAt).toBeLessThan(5_000);
        expect(r.attempts[0]).toBe(2);
      }
      const diff = setDifference(expected, [...received.keys()]);
      expect(diff.missing).toEqual([]);
    } finally {
      raw.disconnect();
      await Promise.allSettled([producer.close(), consumer.close()]);
    }
  });

  it("acks that failed while Redis was down are sent again once it is back: nothing is redelivered", async () => {
    await using server = await startPrivate("redis", { persistence: true });
    const queue = "recover-acks";
    // ioredis fails queued commands at once while it reconnects: the acks fail.
    const a = redis({
      url: server.url,
      persistent: true,
      logger: silentLogger,
      redis: { maxRetriesPerRequest: 0 },
    });
    const raw = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: null });
    try {
      const deliveries: Delivery[] = [];
      await a.consume(
        { kind: "queue", name: queue },
        { prefetch: 50, onDelivery: (d) => deliveries.push(d), onError: () => {} },
      );
      const sent = Array.from({ length: 20 }, (_, i) => msg(i));
      await a.send({ kind: "queue", name: queue }, sent);
      await waitFor(() => deliveries.length === 20);
      await server.kill();
      await waitFor(() => a.native.client.status !== "ready");
      for (const d of deliveries) void d.ack();
      // Long enough for the XACK to fail (and to be retried, failing, a few times).
      await sleep(1_500);
      await server.start();
      await raw.connect();
      await waitFor(async () => ((await raw.xpending(streamKey(queue), GROUP)) as [number])[0] === 0, {
        timeoutMs: 10_000,
        message: "the acks did not reach Redis after it came back",
      });
      // Nothing handled comes back (a recovered consumer does not take what it acked).
      await sleep(1_000);
      expect(deliveries.length).toBe(20);
    } finally {
      raw.disconnect();
      await a.close();
    }
  });

  it("every connection cut with handlers in flight: every message arrives, duplicates at most the handlers running", async () => {
    await using server = await startPrivate("redis", { persistence: true });
    const target = { host: "127.0.0.1", port: server.port };
    await using proxy = await tcpProxy({ target });
    const queue = "recover-cut";
    const producer = redis({ url: server.url, persistent: true, logger: silentLogger });
    const concurrency = 4;
    const bus = createClient({
      adapter: redis({ url: `redis://127.0.0.1:${proxy.port}`, persistent: true, logger: silentLogger }),
      logger: silentLogger,
    });
    try {
      const sent = Array.from({ length: 300 }, (_, i) => msg(i));
      await producer.send({ kind: "queue", name: queue }, sent);
      const deliveries: { id: string; at: number }[] = [];
      await bus.consume(
        queue,
        async (m) => {
          deliveries.push({ id: m.id, at: Date.now() });
          await sleep(20);
        },
        { concurrency, prefetch: 32 },
      );
      await waitFor(() => deliveries.length >= 60);
      await proxy.cut(3_000);
      const restoredAt = Date.now();
      await waitFor(
        () =>
          setDifference(
            sent.map((m) => m.id),
            deliveries.map((d) => d.id),
          ).missing.length === 0,
        {
          timeoutMs: 15_000,
        },
      );
      const firstAfter = deliveries.find((d) => d.at >= restoredAt);
      expect(firstAfter!.at - restoredAt).toBeLessThan(5_000);
      const duplicates = deliveries.length - new Set(deliveries.map((d) => d.id)).size;
      expect(duplicates).toBeLessThanOrEqual(concurrency);
    } finally {
      await Promise.allSettled([bus.close(), producer.close()]);
    }
  });

  it("a consumer cut off while another takes its messages over: what it had not started is stale and dropped", async () => {
    await using server = await startPrivate("redis", { persistence: true });
    const target = { host: "127.0.0.1", port: server.port };
    await using proxy = await tcpProxy({ target });
    const queue = "recover-stale";
    const options = { persistent: true, logger: silentLogger, claimIdleMs: 1_000 };
    const producer = redis({ url: server.url, ...options });
    const clients: Client[] = [];
    const handled: { id: string; by: string }[] = [];
    const consumer = async (name: string, url: string, concurrency: number, handlerMs: number) => {
      const bus = createClient({ adapter: redis({ url, ...options }), logger: silentLogger });
      clients.push(bus);
      await bus.consume(
        queue,
        async (m) => {
          handled.push({ id: m.id, by: name });
          await sleep(handlerMs);
        },
        { concurrency, prefetch: 8 },
      );
    };
    try {
      // A: slow handlers, 2 at once, 8 deliveries in hand (2 running, 6 waiting in core).
      await consumer("a", `redis://127.0.0.1:${proxy.port}`, 2, 2_000);
      const sent = Array.from({ length: 30 }, (_, i) => msg(i));
      await producer.send({ kind: "queue", name: queue }, sent);
      await waitFor(() => handled.filter((h) => h.by === "a").length === 2);
      await consumer("b", server.url, 4, 10);
      await waitFor(() => handled.some((h) => h.by === "b"));
      // A is cut off; its leases lapse and B claims its 8 entries. A must not start the 6 it
      // still holds meanwhile (they are B's now): only its 2 running handlers duplicate work.
      await proxy.cut(4_000);
      await waitFor(
        () =>
          setDifference(
            sent.map((m) => m.id),
            handled.map((h) => h.id),
          ).missing.length === 0,
        {
          timeoutMs: 15_000,
        },
      );
      await sleep(1_500);
      const duplicates = handled.length - new Set(handled.map((h) => h.id)).size;
      expect(handled.filter((h) => h.by === "a").length).toBe(2);
      expect(duplicates).toBeLessThanOrEqual(2);
    } finally {
      await Promise.allSettled([...clients.map((c) => c.close()), producer.close()]);
    }
  });
});

/** Keep sending (as producers do) while the server restarts; resolves shortly after. */
async function sendWhileRestarting(send: (n: number, from: number) => Promise<void>): Promise<void> {
  const deadline = Date.now() + 1_500;
  let from = 1_000;
  while (Date.now() < deadline) {
    await send(10, from);
    from += 10;
    await sleep(10);
  }
}
