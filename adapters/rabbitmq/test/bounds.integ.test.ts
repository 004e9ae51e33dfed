import { type PrivateBroker, startPrivate } from "@omnibus/brokers";
import { type TcpProxy, tcpProxy } from "@omnibus/conformance";
import { ClosedError, ConnectionError, type Delivery, PublishError } from "@omnibus/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RabbitMQAdapter, type RabbitMQOptions, rabbitmq } from "../src/index.js";
import { collector, message, unique, waitFor } from "./helpers.js";

/**
 * Every wait of the adapter is bounded, whatever the broker does: a private RabbitMQ that is
 * stopped (connection refused while the adapter reconnects), and the same broker behind a TCP
 * proxy that stops forwarding (the connection stays up, the broker never answers).
 */
describe("rabbitmq: every wait is bounded", () => {
  let broker: PrivateBroker;
  let proxy: TcpProxy;
  const adapters: RabbitMQAdapter[] = [];
  const BOUND = 1_500;
  /** Timers fire late on a loaded machine; a bound is kept if the wait ends within this after it. */
  const SLACK = 1_500;

  const make = (options: RabbitMQOptions & { direct?: boolean } = {}) => {
    const { direct, ...rest } = options;
    const a = rabbitmq({
      url: direct ? broker.url : broker.url.replace(/@[^/?]+/, `@127.0.0.1:${proxy.port}`),
      heartbeatSeconds: 0, // a paused proxy must look like a broker that does not answer, not a dead peer
      sendTimeoutMs: BOUND,
      operationTimeoutMs: BOUND,
      closeTimeoutMs: BOUND,
      sendWaitMs: BOUND,
      connectTimeoutMs: BOUND,
      reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
      ...rest,
    });
    adapters.push(a);
    return a;
  };

  /** How long `p` takes to settle, and how. */
  const timed = async (p: Promise<unknown>) => {
    const t0 = Date.now();
    try {
      await p;
      return { ms: Date.now() - t0, error: undefined as unknown };
    } catch (error) {
      return { ms: Date.now() - t0, error };
    }
  };

  beforeAll(async () => {
    broker = await startPrivate("rabbitmq");
    proxy = await tcpProxy({ target: { host: "127.0.0.1", port: broker.port } });
  }, 120_000);

  afterAll(async () => {
    await proxy?.restore().catch(() => {});
    await Promise.allSettled(adapters.map((a) => a.close()));
    await proxy?.close();
    await broker?.[Symbol.asyncDispose]();
  }, 120_000);

  it("a send whose confirm never comes fails with a retryable PublishError after sendTimeoutMs", async () => {
    const a = make();
    const q = { kind: "queue", name: unique("noconfirm") } as const;
    await a.send(q, [message()]); // declared, publisher open: the fast path from here on
    await proxy.pause();
    try {
      const { ms, error } = await timed(a.send(q, [message(), message()]));
      expect(error).toBeInstanceOf(PublishError);
      expect((error as PublishError).retryable).toBe(true);
      expect((error as Error).message).toMatch(/no confirm for 2 message\(s\) within 1500 ms/);
      expect(ms).toBeGreaterThanOrEqual(BOUND - 50);
      expect(ms).toBeLessThan(BOUND + SLACK);
      // A send that must declare first (a new queue) is bounded the same way.
      const slow = await timed(a.send({ kind: "queue", name: unique("noconfirm-new") }, [message()]));
      expect(slow.error).toBeInstanceOf(PublishError);
      expect(slow.ms).toBeLessThan(BOUND + SLACK);
    } finally {
      await proxy.restore();
    }
    // The connection rode the pause out: sends work again.
    await a.send(q, [message()]);
  }, 30_000);

  it("consume(), ensureGroup() and deleteQueue() fail with ConnectionError after operationTimeoutMs when the broker does not answer; nothing is left consuming", async () => {
    const a = make();
    await a.connect();
    const c = collector();
    const q = unique("silent");
    await proxy.pause();
    try {
      const consumed = await timed(a.consume({ kind: "queue", name: q }, c.options()));
      expect(consumed.error).toBeInstanceOf(ConnectionError);
      expect((consumed.error as ConnectionError).retryable).toBe(true);
      expect(consumed.ms).toBeLessThan(BOUND + SLACK);
      const group = await timed(a.ensureGroup(unique("silent-topic"), "g"));
      expect(group.error).toBeInstanceOf(ConnectionError);
      expect(group.ms).toBeLessThan(BOUND + SLACK);
      const deleted = await timed(a.deleteQueue(unique("silent-del")));
      expect(deleted.error).toBeInstanceOf(ConnectionError);
      expect(deleted.ms).toBeLessThan(BOUND + SLACK);
    } finally {
      await proxy.restore();
    }
    // The consume the broker answers late was given up on: it holds no consumer on the queue.
    const probe = make({ direct: true });
    await probe.send({ kind: "queue", name: q }, [message({ id: "after" })]);
    await new Promise((r) => setTimeout(r, 500));
    const { consumerCount, messageCount } = await probe.native.channel.checkQueue(q);
    expect(consumerCount).toBe(0);
    expect(messageCount).toBe(1);
    expect(c.deliveries).toHaveLength(0);
    // And the adapter works again.
    const c2 = collector();
    const h = await a.consume({ kind: "queue", name: q }, c2.options());
    await waitFor(() => c2.ids().includes("after"), 10_000, "the message after the pause");
    await h.close();
    await probe.deleteQueue(q);
  }, 30_000);

  it("close() returns within closeTimeoutMs when the broker does not answer (ephemeral queue, copies in flight)", async () => {
    const a = make();
    const inbox = unique("inbox");
    const q = unique("close-silent");
    const eph = await a.consume({ kind: "queue", name: inbox, ephemeral: true }, collector().options());
    const held: Delivery[] = [];
    await a.consume(
      { kind: "queue", name: q },
      { prefetch: 10, onDelivery: (d) => held.push(d), onError: () => {} },
    );
    await a.send({ kind: "queue", name: q }, [message(), message()]);
    await waitFor(() => held.length === 2, 10_000, "two deliveries");
    await proxy.pause();
    try {
      void held[0]!.nack({ delayMs: 0 }); // a copy whose confirm will not come
      const handle = await timed(eph.close()); // channel close + delete of the inbox: no answers
      expect(handle.error).toBeUndefined();
      expect(handle.ms).toBeLessThan(BOUND + SLACK);
      const closed = await timed(a.close());
      expect(closed.error).toBeUndefined();
      expect(closed.ms).toBeLessThan(BOUND + SLACK);
    } finally {
      await proxy.restore();
    }
  }, 30_000);

  it("deliveries of a connection that is gone report stale; the redeliveries do not", async () => {
    const a = make();
    const q = unique("stale");
    const got: Delivery[] = [];
    await a.consume(
      { kind: "queue", name: q },
      { prefetch: 20, onDelivery: (d) => got.push(d), onError: () => {} },
    );
    await a.send(
      { kind: "queue", name: q },
      Array.from({ length: 5 }, (_, i) => message({ id: `m${i}` })),
    );
    await waitFor(() => got.length === 5, 10_000, "five deliveries");
    expect(got.map((d) => d.stale)).toEqual([false, false, false, false, false]);
    await got[0]!.ack();
    await new Promise((r) => setTimeout(r, 300)); // the ack reaches the broker before the cut
    await proxy.cut(500);
    await waitFor(() => got.slice(0, 5).every((d) => d.stale === true), 10_000, "stale after the cut");
    // The four unsettled ones come back on the new connection, live.
    await waitFor(() => got.length >= 9, 15_000, "redeliveries after the cut");
    const again = got.slice(5);
    expect(again.map((d) => d.message.id).sort()).toEqual(["m1", "m2", "m3", "m4"]);
    expect(again.every((d) => d.stale === false)).toBe(true);
    for (const d of again) await d.ack();
    await a.deleteQueue(q);
  }, 30_000);

  it("while the broker is down: send, consume(), ensureGroup(), deleteQueue() and connect() fail with ConnectionError within their bounds; close() too", async () => {
    const a = make({ direct: true });
    const q = unique("down");
    const c = collector();
    await a.consume({ kind: "queue", name: q }, c.options());
    const inbox = await a.consume(
      { kind: "queue", name: unique("down-inbox"), ephemeral: true },
      collector().options(),
    );
    await broker.stop();
    try {
      await waitFor(
        () => {
          try {
            a.native;
            return false;
          } catch {
            return true;
          }
        },
        10_000,
        "the adapter noticed the connection loss",
      ).catch(() => {});
      for (const [what, op] of [
        ["send", () => a.send({ kind: "queue", name: q }, [message()])],
        ["consume", () => a.consume({ kind: "queue", name: unique("down2") }, collector().options())],
        ["ensureGroup", () => a.ensureGroup(unique("down-topic"), "g")],
        ["deleteQueue", () => a.deleteQueue(unique("down-del"))],
        ["connect", () => a.connect()],
      ] as const) {
        const r = await timed(op());
        expect(r.error, what).toBeInstanceOf(ConnectionError);
        expect((r.error as ConnectionError).retryable, what).toBe(true);
        expect(r.ms, what).toBeLessThan(BOUND + SLACK);
      }
      const eph = await timed(inbox.close()); // its exclusive queue went with the connection
      expect(eph.error).toBeUndefined();
      expect(eph.ms).toBeLessThan(BOUND + SLACK);
      const closed = await timed(a.close());
      expect(closed.error).toBeUndefined();
      expect(closed.ms).toBeLessThan(BOUND + SLACK);
      expect((await timed(a.send({ kind: "queue", name: q }, [message()]))).error).toBeInstanceOf(
        ClosedError,
      );
    } finally {
      await broker.start();
    }
  }, 60_000);
});
