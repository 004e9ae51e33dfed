/**
 * Redis-specific behaviour against the real server: prefetch bounds, attempts from the pending list
 * (nack and crash), lease renewal, atomic delayed nacks, per-group retries on topics, trimming,
 * group re-creation after data loss, ephemeral queues and errors.
 */

import { brokerUrl } from "@omnibus/brokers";
import {
  type Adapter,
  ConfigError,
  type ConsumerHandle,
  type Delivery,
  ErrorCode,
  type OutboundMessage,
  shortId,
  silentLogger,
  uuidv7,
} from "@omnibus/core";
import { setDifference, waitFor } from "@omnibus/core/testing";
import { Redis } from "ioredis";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { RedisAdapter, RedisNative } from "../src/adapter.js";
import { fromUrl, type RedisNativeMessage, redis } from "../src/index.js";

const URL = brokerUrl("redis");
const PREFIX = `omnibus-test-${shortId()}`;
const admin = new Redis(URL);
const open: Adapter<RedisNative>[] = [];

function adapter(options: Parameters<typeof redis>[0] = {}): Adapter<RedisNative> {
  const a = redis({ url: URL, prefix: PREFIX, claimIdleMs: 400, logger: silentLogger, ...options });
  open.push(a);
  return a;
}

function msg(body = "x", extra: Partial<OutboundMessage> = {}): OutboundMessage {
  return { id: uuidv7(), body: Buffer.from(body), headers: {}, timestamp: Date.now(), ...extra };
}

const q = (label: string) => `it-${label}-${shortId()}`;
const streamOf = (queue: string) => `${PREFIX}:{q:${queue}}:stream`;

/** Consume into an array of deliveries, settling nothing unless `auto` says how. */
async function collect(
  a: Adapter,
  source: Parameters<Adapter["consume"]>[0],
  options: { prefetch?: number; auto?: (d: Delivery) => void } = {},
): Promise<{ got: Delivery[]; handle: ConsumerHandle }> {
  const got: Delivery[] = [];
  const handle = await a.consume(source, {
    prefetch: options.prefetch ?? 100,
    onDelivery: (d) => {
      got.push(d);
      options.auto?.(d);
    },
    onError: () => {},
  });
  return { got, handle };
}

const ack = (d: Delivery) => void d.ack();

afterEach(async () => {
  await Promise.allSettled(open.splice(0).map((a) => a.close()));
});

afterAll(async () => {
  let cursor = "0";
  do {
    const [next, keys] = await admin.scan(cursor, "MATCH", `${PREFIX}:*`, "COUNT", 1000);
    if (keys.length > 0) await admin.del(...keys);
    cursor = next;
  } while (cursor !== "0");
  admin.disconnect();
});

describe("redis adapter", () => {
  it("never hands out more than prefetch unsettled deliveries", async () => {
    const a = adapter();
    await a.connect();
    const queue = q("prefetch");
    const { got } = await collect(a, { kind: "queue", name: queue }, { prefetch: 5 });
    const sent = Array.from({ length: 40 }, (_, i) => msg(String(i)));
    await a.send({ kind: "queue", name: queue }, sent);
    await waitFor(() => got.length === 5);
    // Nothing more arrives while all five are held.
    const until = Date.now() + 300;
    await waitFor(() => Date.now() > until || got.length > 5, { timeoutMs: 2000 });
    expect(got.length).toBe(5);
    // Settling frees slots; never more than 5 outstanding on the way.
    let settled = 0;
    while (settled < 40) {
      await waitFor(() => got.length > settled, { timeoutMs: 5000 });
      expect(got.length - settled).toBeLessThanOrEqual(5);
      await got[settled++]!.ack();
    }
    expect(
      setDifference(
        sent.map((m) => m.id),
        got.map((d) => d.message.id),
      ),
    ).toEqual({ missing: [], unexpected: [], duplicates: [] });
  });

  it("round-trips every property and a binary body on the stream entry", async () => {
    const a = adapter();
    await a.connect();
    const queue = q("props");
    const body = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const m = msg("", {
      body,
      headers: { a: "ü ✓ 日本", empty: "", "content-type": "application/octet-stream" },
      key: "",
      correlationId: "c-1",
      replyTo: "inbox-1",
      timestamp: 1_700_000_000_123,
    });
    await a.send({ kind: "queue", name: queue }, [m]);
    const { got } = await collect(a, { kind: "queue", name: queue }, { auto: ack });
    await waitFor(() => got.length === 1);
    const r = got[0]!.message;
    expect(r.id).toBe(m.id);
    expect(Buffer.from(r.body)).toEqual(body);
    expect(r.headers).toEqual(m.headers);
    expect(r.key).toBe("");
    expect(r.correlationId).toBe("c-1");
    expect(r.replyTo).toBe("inbox-1");
    expect(r.timestamp).toBe(1_700_000_000_123);
    expect(r.attempt).toBe(1);
    const native = r.native as RedisNativeMessage;
    expect(native.stream).toBe(streamOf(queue));
    expect(native.deliveryCount).toBe(1);
  });

  it("nack with a delay: acked and scheduled in one step, redelivered no sooner, attempt + 1", async () => {
    const a = adapter();
    await a.connect();
    const queue = q("nackdelay");
    const arrivals: { attempt: number; at: number }[] = [];
    const { got } = await collect(a, { kind: "queue", name: queue });
    await a.send({ kind: "queue", name: queue }, [msg()]);
    await waitFor(() => got.length === 1);
    const nackedAt = Date.now();
    await got[0]!.nack({ delayMs: 600 });
    // The original is settled in the group and the copy waits in the schedule.
    expect(((await admin.xpending(streamOf(queue), "omnibus")) as unknown[])[0]).toBe(0);
    expect(await admin.zcard(`${PREFIX}:{q:${queue}}:delayed`)).toBe(1);
    await waitFor(() => got.length === 2, { timeoutMs: 5000 });
    arrivals.push({ attempt: got[1]!.message.attempt, at: Date.now() - nackedAt });
    expect(got[1]!.message.id).toBe(got[0]!.message.id);
    expect(arrivals[0]!.attempt).toBe(2);
    expect(arrivals[0]!.at).toBeGreaterThanOrEqual(550);
    await got[1]!.nack();
    await waitFor(() => got.length === 3);
    expect(got[2]!.message.attempt).toBe(3);
    await got[2]!.ack();
  });

  it("a consumer that dies without settling: another gets the message with attempt + 1", async () => {
    const victim = adapter();
    await victim.connect();
    const queue = q("crash");
    const { got: victimGot } = await collect(victim, { kind: "queue", name: queue }, { prefetch: 1 });
    const producer = adapter();
    const sent = [msg("a"), msg("b"), msg("c")];
    await producer.send({ kind: "queue", name: queue }, sent);
    await waitFor(() => victimGot.length === 1);
    // A crash: connections drop, nothing is released or acked.
    victim.native.client.disconnect();
    for (const c of victim.native.blockingClients) c.disconnect();
    const rescuer = adapter({ claimIdleMs: 300, claimIntervalMs: 50 });
    const { got } = await collect(rescuer, { kind: "queue", name: queue }, { auto: (d) => void d.ack() });
    await waitFor(() => got.length >= 3, { timeoutMs: 10_000 });
    const held = got.find((d) => d.message.id === victimGot[0]!.message.id)!;
    expect(held.message.attempt).toBe(2);
    expect((held.message.native as RedisNativeMessage).deliveryCount).toBe(2);
    expect(
      setDifference(
        sent.map((m) => m.id),
        got.map((d) => d.message.id),
      ),
    ).toEqual({ missing: [], unexpected: [], duplicates: [] });
  });

  it("crash then nack: attempts keep counting across both kinds of redelivery", async () => {
    const victim = adapter();
    await victim.connect();
    const queue = q("crashnack");
    const { got: victimGot } = await collect(victim, { kind: "queue", name: queue }, { prefetch: 1 });
    await victim.send({ kind: "queue", name: queue }, [msg()]);
    await waitFor(() => victimGot.length === 1);
    victim.native.client.disconnect();
    for (const c of victim.native.blockingClients) c.disconnect();
    const rescuer = adapter({ claimIdleMs: 300, claimIntervalMs: 50 });
    const { got } = await collect(rescuer, { kind: "queue", name: queue });
    await waitFor(() => got.length === 1, { timeoutMs: 10_000 });
    expect(got[0]!.message.attempt).toBe(2);
    await got[0]!.nack();
    await waitFor(() => got.length === 2);
    expect(got[1]!.message.attempt).toBe(3);
    await got[1]!.ack();
  });

  it("a live consumer's slow handler keeps its lease: no duplicate to a competitor", async () => {
    const queue = q("lease");
    const slow = adapter({ claimIdleMs: 150, claimIntervalMs: 20 });
    await slow.connect();
    const { got: slowGot } = await collect(slow, { kind: "queue", name: queue }, { prefetch: 1 });
    await slow.send({ kind: "queue", name: queue }, [msg()]);
    await waitFor(() => slowGot.length === 1);
    const other = adapter({ claimIdleMs: 150, claimIntervalMs: 20 });
    const { got: otherGot } = await collect(other, { kind: "queue", name: queue });
    // Held for 6x the idle time while the competitor keeps looking for stuck messages.
    const until = Date.now() + 900;
    await waitFor(() => Date.now() > until, { timeoutMs: 2000 });
    expect(otherGot).toHaveLength(0);
    await slowGot[0]!.ack();
  });

  it("topics: a nack goes back to the nacking group only", async () => {
    const a = adapter();
    await a.connect();
    const topic = q("topicnack");
    const { got: ga } = await collect(a, { kind: "topic", name: topic, group: "a" });
    const { got: gb } = await collect(a, { kind: "topic", name: topic, group: "b" }, { auto: ack });
    const m = msg();
    await a.send({ kind: "topic", name: topic }, [m]);
    await waitFor(() => ga.length === 1 && gb.length === 1);
    await ga[0]!.nack({ delayMs: 50 });
    await waitFor(() => ga.length === 2);
    expect(ga[1]!.message.id).toBe(m.id);
    expect(ga[1]!.message.attempt).toBe(2);
    await ga[1]!.ack();
    // Group b saw it once.
    const until = Date.now() + 300;
    await waitFor(() => Date.now() > until);
    expect(gb.map((d) => d.message.attempt)).toEqual([1]);
  });

  it("topics with prefetch 1: entries read from both streams at once keep flowing", async () => {
    // One XREADGROUP over the main and the retry stream can return an entry from each: the second
    // waits in the consumer's buffer and must be handed out as soon as the slot frees.
    const a = adapter({ claimIdleMs: 30_000 });
    await a.connect();
    const topic = q("prefetch1");
    const attempts = new Map<string, number[]>();
    await a.consume(
      { kind: "topic", name: topic, group: "g" },
      {
        prefetch: 1,
        onDelivery: (d) => {
          const list = attempts.get(d.message.id) ?? [];
          list.push(d.message.attempt);
          attempts.set(d.message.id, list);
          // Settle later, as a handler would.
          setTimeout(() => void (d.message.attempt === 1 ? d.nack() : d.ack()), 1);
        },
        onError: () => {},
      },
    );
    const sent = Array.from({ length: 20 }, (_, i) => msg(String(i)));
    for (const m of sent) await a.send({ kind: "topic", name: topic }, [m]);
    await waitFor(() => sent.every((m) => attempts.get(m.id)?.length === 2), {
      timeoutMs: 4000,
      message: () => `${[...attempts.values()].filter((l) => l.length === 2).length} of 20 done`,
    });
    for (const m of sent) expect(attempts.get(m.id)).toEqual([1, 2]);
  });

  it("stop() gives entries read but not handed out back to the group, attempt unchanged", async () => {
    const a = adapter({ claimIdleMs: 60_000 });
    await a.connect();
    const topic = q("release");
    await a.ensureGroup!(topic, "g");
    // A nacked copy of m0 waits in the group's retry stream; m1 waits in the topic's stream.
    const m0 = msg("m0");
    await a.send({ kind: "topic", name: topic }, [m0]);
    const first = await collect(a, { kind: "topic", name: topic, group: "g" }, { prefetch: 1 });
    await waitFor(() => first.got.length === 1);
    await first.got[0]!.nack();
    await first.handle.stop();
    await first.handle.close();
    const m1 = msg("m1");
    await a.send({ kind: "topic", name: topic }, [m1]);
    // One read over both streams returns both: one is handed out (prefetch 1), one is buffered.
    const second = await collect(a, { kind: "topic", name: topic, group: "g" }, { prefetch: 1 });
    await waitFor(() => second.got.length === 1);
    await second.handle.stop();
    const third = await collect(a, { kind: "topic", name: topic, group: "g" }, { auto: ack });
    await waitFor(() => third.got.length === 1, { timeoutMs: 5000 });
    await second.got[0]!.ack();
    const handedOut = second.got[0]!.message;
    const released = third.got[0]!.message;
    expect([handedOut.id, released.id].sort()).toEqual([m0.id, m1.id].sort());
    // Same attempt as if it had been handed out by the consumer that released it.
    expect(released.attempt).toBe(released.id === m0.id ? 2 : 1);
    await second.handle.close();
  });

  it("a delayed send outlives its sender: another client promotes it when due", async () => {
    const sender = adapter();
    await sender.connect();
    const queue = q("delayed");
    await sender.send({ kind: "queue", name: queue }, [msg("later", { delayMs: 300 })]);
    await sender.close();
    expect(await admin.zcard(`${PREFIX}:{q:${queue}}:delayed`)).toBe(1);
    const receiver = adapter({ delayPollMs: 50 });
    const sentAt = Date.now();
    const { got } = await collect(receiver, { kind: "queue", name: queue }, { auto: ack });
    await waitFor(() => got.length === 1, { timeoutMs: 5000 });
    expect(Buffer.from(got[0]!.message.body).toString()).toBe("later");
    expect(got[0]!.message.attempt).toBe(1);
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(150);
    expect(await admin.zcard(`${PREFIX}:{q:${queue}}:delayed`)).toBe(0);
  });

  it("trims acknowledged entries only", async () => {
    const a = adapter() as unknown as RedisAdapter;
    await a.connect();
    const queue = q("trim");
    const { got } = await collect(a, { kind: "queue", name: queue }, { prefetch: 200 });
    const sent = Array.from({ length: 300 }, (_, i) => msg(String(i)));
    await a.send({ kind: "queue", name: queue }, sent);
    await waitFor(() => got.length === 200);
    // Ack the first 150; 150..199 are pending, 200..299 unread.
    for (const d of got.slice(0, 150)) await d.ack();
    await waitFor(() => got.length === 300);
    await a.trimNow();
    // Trimming works on whole radix-tree nodes ('~'): some acked entries go, nothing else does.
    const left = await admin.xlen(streamOf(queue));
    expect(left).toBeLessThan(300);
    expect(left).toBeGreaterThanOrEqual(150);
    const remaining = (await admin.xrange(streamOf(queue), "-", "+")).map(([, f]) => f[f.indexOf("id") + 1]);
    const needed = sent.slice(150).map((m) => m.id);
    expect(setDifference(needed, remaining).missing).toEqual([]);
    // A topic nobody subscribes to keeps nothing.
    const topic = q("trimtopic");
    await a.send({ kind: "topic", name: topic }, [msg(), msg()]);
    await a.trimNow();
    expect(await admin.xlen(`${PREFIX}:{t:${topic}}:stream`)).toBe(0);
    // A topic group that has read nothing keeps everything.
    const kept = q("trimkept");
    await a.ensureGroup!(kept, "idle");
    await a.send({ kind: "topic", name: kept }, [msg(), msg(), msg()]);
    await a.trimNow();
    expect(await admin.xlen(`${PREFIX}:{t:${kept}}:stream`)).toBe(3);
  });

  it("keeps consuming when the stream and its group vanish (data loss): the group is created again", async () => {
    const a = adapter({ blockMs: 100, claimIntervalMs: 100 });
    await a.connect();
    const queue = q("vanish");
    const { got } = await collect(a, { kind: "queue", name: queue }, { auto: ack });
    await a.send({ kind: "queue", name: queue }, [msg("before")]);
    await waitFor(() => got.length === 1);
    await admin.del(streamOf(queue));
    const after = [msg("after-1"), msg("after-2")];
    await a.send({ kind: "queue", name: queue }, after);
    await waitFor(() => got.length === 3, { timeoutMs: 10_000 });
    expect(got.slice(1).map((d) => d.message.id)).toEqual(after.map((m) => m.id));
  });

  it("ephemeral queues expire while alive and are deleted on close", async () => {
    const a = adapter({ ephemeralTtlMs: 60_000 });
    await a.connect();
    const inbox = q("inbox");
    const { handle } = await collect(a, { kind: "queue", name: inbox, ephemeral: true });
    const ttl = await admin.pttl(streamOf(inbox));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
    await handle.stop();
    await handle.close();
    expect(await admin.exists(streamOf(inbox))).toBe(0);
    // A late reply to a request inbox that is gone does not bring it back as an orphan.
    const gone = `omnibus.inbox.${shortId()}`;
    await a.send({ kind: "queue", name: gone }, [msg("late reply")]);
    expect(await admin.exists(streamOf(gone))).toBe(0);
  });

  it("stop() returns promptly while a blocking read waits", async () => {
    const a = adapter({ blockMs: 2000, claimIntervalMs: 2000 });
    await a.connect();
    const { handle } = await collect(a, { kind: "queue", name: q("stop") });
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await handle.stop();
    expect(Date.now() - started).toBeLessThan(1000);
    await handle.close();
  });

  it("works with ioredis auto-pipelining switched on", async () => {
    const a = adapter({ redis: { enableAutoPipelining: true } });
    await a.connect();
    const queue = q("autopipe");
    const { got } = await collect(a, { kind: "queue", name: queue }, { auto: ack });
    const sent = Array.from({ length: 20 }, (_, i) => msg(String(i)));
    await Promise.all(sent.map((m) => a.send({ kind: "queue", name: queue }, [m])));
    await a.send({ kind: "queue", name: queue }, [msg("delayed", { delayMs: 10 }), msg("batch")]);
    await waitFor(() => got.length === 22);
    expect(
      setDifference(
        sent.map((m) => m.id),
        got.slice(0, 20).map((d) => d.message.id),
      ).missing,
    ).toEqual([]);
  });

  // ioredis 6 speaks RESP3 by default (the whole suite runs on it); `protocol: 2` is v5's wire.
  for (const protocol of [2, 3] as const) {
    it(`works on a RESP${protocol} connection: sends, delays, nacks, topics`, async () => {
      const a = adapter({ redis: { protocol } });
      await a.connect();
      const info = String(await a.native.client.call("CLIENT", "INFO"));
      expect(info).toMatch(new RegExp(`\\bresp=${protocol}\\b`));
      const queue = q(`resp${protocol}`);
      const { got } = await collect(a, { kind: "queue", name: queue });
      const topic = q(`resp${protocol}-topic`);
      const fanout = await collect(a, { kind: "topic", name: topic, group: "g" }, { auto: ack });
      await a.send({ kind: "queue", name: queue }, [msg("now"), msg("later", { delayMs: 50 })]);
      await a.send({ kind: "topic", name: topic }, [msg("t")]);
      await waitFor(() => got.length === 2 && fanout.got.length === 1, { timeoutMs: 5000 });
      expect(got.map((d) => Buffer.from(d.message.body).toString()).sort()).toEqual(["later", "now"]);
      await got[0]!.nack({ delayMs: 20 });
      await waitFor(() => got.length === 3, { timeoutMs: 5000 });
      expect(got[2]!.message.attempt).toBe(2);
      await Promise.all([got[1]!.ack(), got[2]!.ack()]);
      // Acks resolve once batched: the XACK follows.
      let pending = -1;
      for (let i = 0; i < 100 && pending !== 0; i++) {
        pending = Number(((await admin.xpending(streamOf(queue), "omnibus")) as unknown[])[0]);
        if (pending !== 0) await new Promise((r) => setTimeout(r, 50));
      }
      expect(pending).toBe(0);
    });
  }

  it("persistent: true on a server without AOF is reported at connect", async () => {
    const admin2 = new Redis(URL);
    const appendonly = ((await admin2.config("GET", "appendonly")) as string[])[1];
    admin2.disconnect();
    const warnings: string[] = [];
    const logger = { ...silentLogger, warn: (message: string) => void warnings.push(message) };
    const a = adapter({ persistent: true, logger });
    expect(a.features.persistent).toBe(true);
    await a.connect();
    if (appendonly === "yes") return; // a server with AOF: nothing to report
    await waitFor(() => warnings.some((w) => w.includes("appendonly no")));
  });

  it("deleteQueue removes the stream and its schedule", async () => {
    const a = adapter();
    const queue = q("delete");
    await a.send({ kind: "queue", name: queue }, [msg(), msg("d", { delayMs: 60_000 })]);
    expect(await admin.exists(streamOf(queue), `${PREFIX}:{q:${queue}}:delayed`)).toBe(2);
    await a.deleteQueue!(queue);
    expect(await admin.exists(streamOf(queue), `${PREFIX}:{q:${queue}}:delayed`)).toBe(0);
  });

  it("errors: too large, unreachable, bad URL without its password", async () => {
    const a = adapter({ maxMessageBytes: 1000 });
    await expect(a.send({ kind: "queue", name: q("big") }, [msg("x".repeat(2000))])).rejects.toMatchObject({
      code: ErrorCode.MessageTooLarge,
    });
    const down = adapter({ url: "redis://:hunter2@127.0.0.1:1" });
    const error = await down.connect().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error).toMatchObject({ code: ErrorCode.Connection });
    expect(error!.message).not.toContain("hunter2");
    expect(() => redis({ url: "http://user:hunter2@host" })).toThrowError(ConfigError);
    expect(() => redis({ url: "http://user:hunter2@host" })).toThrowError(/^(?!.*hunter2)/);
    expect(() => fromUrl("redis://127.0.0.1:6379?claimIdleMs=abc")).toThrowError(ConfigError);
  });
});
