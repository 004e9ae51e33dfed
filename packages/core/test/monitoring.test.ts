// client.stats() and client.health() on the reference broker (@omnibus/memory).
import {
  type Adapter,
  type Client,
  ConnectionError,
  createClient,
  DeadLetterError,
  ErrorCode,
  shortId,
  silentLogger,
} from "@omnibus/core";
import { waitFor } from "@omnibus/core/testing";
import { memory } from "@omnibus/memory";
import { afterEach, describe, expect, it } from "vitest";

const open: Client[] = [];
function bus(adapter: Adapter = memory({ name: "monitoring-tests" })): Client {
  const c = createClient({ adapter, logger: silentLogger });
  open.push(c);
  return c;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});
const q = (label: string) => `${label}-${shortId()}`;

describe("client.stats()", () => {
  it("reports depth, in flight, lag and dead letters of a queue as it is sent to and consumed", async () => {
    const c = bus();
    const queue = q("stats");
    expect(await c.stats(queue)).toMatchObject({ depth: 0, inFlight: 0, lag: 0, deadLetters: 0 });
    for (let i = 0; i < 4; i++) await c.send(queue, { i });
    expect(await c.stats(queue)).toMatchObject({
      kind: "queue",
      name: queue,
      group: undefined,
      depth: 4,
      inFlight: 0,
      lag: 4,
      deadLetterQueue: `${queue}.dlq`,
      deadLetters: 0,
    });
    const release: (() => void)[] = [];
    await c.consume(
      queue,
      (m) => {
        if ((m.body as { i: number }).i === 0) throw new DeadLetterError("bad");
        return new Promise<void>((resolve) => release.push(resolve));
      },
      { concurrency: 2, prefetch: 2 },
    );
    await waitFor(() => release.length === 2);
    // One dead-lettered, two held by handlers (prefetch 2), one waiting.
    await waitFor(async () => (await c.stats(queue)).deadLetters === 1);
    expect(await c.stats(queue)).toMatchObject({ depth: 1, inFlight: 2, lag: 3, deadLetters: 1 });
    for (const r of release.splice(0)) r();
    await waitFor(() => release.length === 1);
    release[0]!();
    await waitFor(async () => (await c.stats(queue)).lag === 0);
    expect(await c.stats(queue, { deadLetterQueue: false })).toMatchObject({
      deadLetterQueue: undefined,
      deadLetters: undefined,
    });
  });

  it("reports a topic group's lag apart from the other groups", async () => {
    const c = bus();
    const topic = q("stats-topic");
    await c.ensureGroup(topic, "a");
    await c.ensureGroup(topic, "b");
    for (let i = 0; i < 3; i++) await c.publish(topic, { i });
    await c.subscribe(topic, { group: "a" }, () => {});
    await waitFor(async () => (await c.stats(topic, { group: "a" })).lag === 0);
    const b = await c.stats(topic, { group: "b" });
    expect(b).toMatchObject({ kind: "topic", name: topic, group: "b", depth: 3, lag: 3 });
    expect(b.deadLetterQueue).toMatch(/\.dlq$/);
  });

  it("rejects bad names with OMNIBUS_CONFIG and an adapter without stats() with OMNIBUS_UNSUPPORTED_FEATURE", async () => {
    const c = bus();
    await expect(c.stats("bad name")).rejects.toMatchObject({ code: ErrorCode.Config });
    await expect(c.stats("ok", { group: "" })).rejects.toMatchObject({ code: ErrorCode.Config });
    const inner = memory({ name: "monitoring-tests" });
    const { stats: _stats, ...rest } = inner as Adapter & Record<string, unknown>;
    const without: Adapter = {
      ...(rest as unknown as Adapter),
      name: "nostats",
      features: inner.features,
      native: undefined,
      connect: () => inner.connect(),
      send: (a, m) => inner.send(a, m),
      consume: (s, o) => inner.consume(s, o),
      close: () => inner.close(),
    };
    await expect(bus(without).stats("ok")).rejects.toMatchObject({ code: ErrorCode.UnsupportedFeature });
  });
});

describe("client.health()", () => {
  it("is down before connecting, ok with running consumers, down once closed", async () => {
    const c = bus();
    expect(c.health()).toMatchObject({ status: "down", connected: false, closed: false, consumers: [] });
    await c.connect();
    const queue = q("health");
    let release: (() => void) | undefined;
    await c.consume(queue, () => new Promise<void>((resolve) => (release = resolve)));
    await c.send(queue, "x");
    await waitFor(() => release !== undefined);
    expect(c.health()).toMatchObject({
      status: "ok",
      connected: true,
      adapter: "memory",
      consumers: [{ source: queue, group: undefined, running: true, handlersRunning: 1, error: undefined }],
      lastError: undefined,
    });
    release!();
    await c.close();
    expect(c.health()).toMatchObject({ status: "down", connected: false, closed: true, consumers: [] });
  });

  it("is degraded when a consumer failed for good, with the error", async () => {
    const inner = memory({ name: "monitoring-tests" });
    let fail: ((error: Error) => void) | undefined;
    const failing: Adapter = {
      name: "failing",
      features: inner.features,
      native: undefined,
      connect: () => inner.connect(),
      send: (a, m) => inner.send(a, m),
      consume: (s, o) => {
        fail = o.onError;
        return inner.consume(s, o);
      },
      close: () => inner.close(),
    };
    const c = bus(failing);
    await c.consume(q("degraded"), () => {});
    fail!(new ConnectionError("gave up reconnecting"));
    const health = c.health();
    expect(health.status).toBe("degraded");
    expect(health.consumers[0]).toMatchObject({ running: false, error: "gave up reconnecting" });
    expect(health.lastError).toMatchObject({ message: "gave up reconnecting", code: ErrorCode.Connection });
  });

  it("keeps the last connect failure, without the password", async () => {
    const secret = `pw-${shortId()}`;
    const refusing: Adapter = {
      name: "refusing",
      features: memory().features,
      native: undefined,
      connect: () =>
        Promise.reject(new Error(`cannot reach amqp://user:${secret}@127.0.0.1:1 (connection refused)`)),
      send: () => Promise.reject(new Error("unused")),
      consume: () => Promise.reject(new Error("unused")),
      close: async () => {},
    };
    const c = bus(refusing);
    await expect(c.connect()).rejects.toThrow();
    const health = c.health();
    expect(health.status).toBe("down");
    expect(health.lastError?.message).toContain("connection refused");
    expect(JSON.stringify(health)).not.toContain(secret);
  });
});
