/**
 * Redis restarts mid-stream, on a private server started by the broker tool (never the shared one).
 *
 * - With AOF and `appendfsync always`, the server is killed (SIGKILL) while a producer sends and a
 *   consumer acks: every message whose `send` resolved is received afterwards (duplicates allowed:
 *   at-least-once).
 * - Without persistence, a restart loses everything Redis held (streams, groups, schedules): the
 *   consumer recovers by itself (the group is created again) and new messages flow.
 */

import { startPrivate } from "@omnibus/brokers";
import { type Delivery, type OutboundMessage, silentLogger, uuidv7 } from "@omnibus/core";
import { setDifference, waitFor } from "@omnibus/core/testing";
import { describe, expect, it } from "vitest";
import { redis } from "../src/index.js";

const msg = (i: number): OutboundMessage => ({
  id: uuidv7(),
  body: Buffer.from(String(i)),
  headers: {},
  timestamp: Date.now(),
});

describe("redis restart", () => {
  it("with AOF (appendfsync always): a crash mid-stream loses no message whose send resolved", async () => {
    await using server = await startPrivate("redis", { persistence: true });
    const producer = redis({ url: server.url, claimIdleMs: 1000, logger: silentLogger });
    const consumer = redis({ url: server.url, claimIdleMs: 1000, logger: silentLogger });
    try {
      await producer.connect();
      const received: string[] = [];
      await consumer.consume(
        { kind: "queue", name: "restart" },
        {
          prefetch: 50,
          onDelivery: (d: Delivery) => {
            received.push(d.message.id);
            void d.ack();
          },
          onError: () => {},
        },
      );
      const runId = async () => /run_id:(\w+)/.exec(await producer.native.client.info("server"))![1];
      const runBefore = await runId();
      let reconnects = 0;
      consumer.native.client.on("reconnecting", () => reconnects++);
      const confirmed: string[] = [];
      const unconfirmed: string[] = [];
      let restarted: Promise<void> | undefined;
      const sending = (async () => {
        for (let batch = 0; batch < 60; batch++) {
          const messages = Array.from({ length: 20 }, (_, i) => msg(batch * 20 + i));
          try {
            await producer.send({ kind: "queue", name: "restart" }, messages);
            confirmed.push(...messages.map((m) => m.id));
          } catch {
            unconfirmed.push(...messages.map((m) => m.id));
          }
          // Crash the server while batches are on their way; from batch 40 on it is surely back.
          if (batch === 20) restarted = server.kill().then(() => server.start());
          if (batch === 40) await restarted;
          await new Promise((r) => setTimeout(r, 5));
        }
      })();
      await sending;
      expect(await runId()).not.toBe(runBefore);
      expect(reconnects).toBeGreaterThan(0);
      await waitFor(() => setDifference(confirmed, received).missing.length === 0, {
        timeoutMs: 30_000,
        message: () => `missing ${setDifference(confirmed, received).missing.length} of ${confirmed.length}`,
      });
      const diff = setDifference([...confirmed, ...unconfirmed], received);
      expect(diff.unexpected).toEqual([]);
      expect(confirmed.length).toBeGreaterThan(600);
    } finally {
      await Promise.allSettled([producer.close(), consumer.close()]);
    }
  });

  it("without persistence: the consumer re-creates its group and keeps consuming after a restart", async () => {
    await using server = await startPrivate("redis", { persistence: false });
    const a = redis({ url: server.url, claimIdleMs: 500, blockMs: 100, logger: silentLogger });
    try {
      await a.connect();
      const received: string[] = [];
      await a.consume(
        { kind: "queue", name: "volatile" },
        {
          prefetch: 10,
          onDelivery: (d) => {
            received.push(d.message.id);
            void d.ack();
          },
          onError: () => {},
        },
      );
      const before = msg(0);
      await a.send({ kind: "queue", name: "volatile" }, [before]);
      await waitFor(() => received.includes(before.id));
      // Waiting in a schedule when the server goes: lost without persistence.
      await a.send({ kind: "queue", name: "volatile" }, [{ ...msg(1), delayMs: 60_000 }]);
      await server.restart();
      const after = [msg(2), msg(3)];
      await waitFor(
        async () => {
          try {
            await a.send({ kind: "queue", name: "volatile" }, after);
            return true;
          } catch {
            return false;
          }
        },
        { timeoutMs: 15_000, intervalMs: 100 },
      );
      await waitFor(() => after.every((m) => received.includes(m.id)), { timeoutMs: 15_000 });
      const native = a.native as { client: { zcard(key: string): Promise<number> } };
      expect(await native.client.zcard("omnibus:{q:volatile}:delayed")).toBe(0);
    } finally {
      await a.close();
    }
  });

  it("close() finishes while the server is down", async () => {
    await using server = await startPrivate("redis", { persistence: false });
    const a = redis({ url: server.url, logger: silentLogger });
    await a.consume(
      { kind: "queue", name: "down" },
      { prefetch: 10, onDelivery: (d) => void d.ack(), onError: () => {} },
    );
    await a.send({ kind: "queue", name: "down" }, [msg(1)]);
    await server.kill();
    const started = Date.now();
    await a.close();
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
