import { AckPolicy } from "@nats-io/jetstream";
import type { Msg } from "@nats-io/transport-node";
import { brokerUrl } from "@omnibus/brokers";
import type { Adapter } from "@omnibus/core";
import { type Delivery, ErrorCode, type OutboundMessage, shortId, uuidv7 } from "@omnibus/core";
import { setDifference, waitFor } from "@omnibus/core/testing";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { idOnlyHeaders } from "../src/consumer.js";
import { type NatsNative, nats } from "../src/index.js";
import { escapeName } from "../src/names.js";
import type { NatsOptions } from "../src/options.js";

const url = brokerUrl("nats");
const adapters: Adapter<NatsNative>[] = [];

async function open(options: NatsOptions = {}): Promise<Adapter<NatsNative>> {
  const adapter = nats({ url, ...options });
  adapters.push(adapter);
  await adapter.connect();
  return adapter;
}

afterEach(async () => {
  await Promise.allSettled(adapters.splice(0).map((a) => a.close()));
});

let counter = 0;
function message(extra: Partial<OutboundMessage> = {}): OutboundMessage {
  return {
    id: `m-${shortId()}-${counter++}`,
    body: new TextEncoder().encode(`body ${counter}`),
    headers: {},
    timestamp: Date.now(),
    ...extra,
  };
}

/** What the tests below made on the shared broker: deleted once the file is done. */
const made = { queues: new Set<string>(), topics: new Set<string>() };
const queue = (label: string) => {
  const name = `nats-${label}.${shortId()}`;
  made.queues.add(name);
  return { kind: "queue" as const, name };
};
afterAll(async () => {
  const cleanup = nats({ url });
  await cleanup.connect();
  for (const q of made.queues) await cleanup.deleteQueue!(q).catch(() => {});
  for (const t of made.topics) await cleanup.deleteTopic!(t).catch(() => {});
  await cleanup.close();
});
const noError = (error: Error) => {
  throw error;
};

describe("nats adapter", () => {
  it("round-trips what NATS headers alone would not keep", async () => {
    const a = await open();
    const q = queue("hdr");
    const got: Delivery[] = [];
    await a.consume(q, { prefetch: 10, onDelivery: (d) => got.push(d), onError: noError });
    const sent = message({
      id: "  id with spaces  ",
      body: new Uint8Array([0, 255, 13, 10]),
      headers: {
        " padded ": "  both sides  ",
        "line\r\nbreak": "a\r\nb",
        "Nats-Msg-Id": "not the id",
        "Nats-Rollup": "all",
        "Omnibus-Key": "spoof",
        "100%": "%41",
        "": "",
      },
      key: " k ",
      correlationId: "ü",
      replyTo: "some.queue",
      timestamp: 1_700_000_000_123,
    });
    await a.send(q, [sent]);
    await waitFor(() => got.length === 1);
    const m = got[0]!.message;
    const { body, native, ...rest } = m;
    expect(Buffer.from(body)).toEqual(Buffer.from(sent.body));
    expect(rest).toEqual({
      id: sent.id,
      headers: sent.headers,
      key: sent.key,
      correlationId: sent.correlationId,
      replyTo: sent.replyTo,
      timestamp: sent.timestamp,
      attempt: 1,
    });
    expect((native as { subject: string }).subject).toMatch(/^omnibus\.q\./);
    await got[0]!.ack();
  });

  it("never hands out more than prefetch unsettled deliveries", async () => {
    const a = await open();
    const q = queue("prefetch");
    const ids = Array.from({ length: 60 }, () => message());
    let outstanding = 0;
    let max = 0;
    const seen: string[] = [];
    await a.consume(q, {
      prefetch: 4,
      onDelivery: (d) => {
        outstanding++;
        max = Math.max(max, outstanding);
        seen.push(d.message.id);
        setTimeout(() => {
          outstanding--;
          void d.ack();
        }, Math.random() * 5);
      },
      onError: noError,
    });
    await a.send(q, ids);
    await waitFor(() => seen.length >= 60, { timeoutMs: 20_000 });
    expect(max).toBeLessThanOrEqual(4);
    expect(
      setDifference(
        ids.map((m) => m.id),
        seen,
      ),
    ).toEqual({ missing: [], unexpected: [], duplicates: [] });
  });

  it("nack with a delay redelivers no sooner, with attempt + 1", async () => {
    const a = await open();
    const q = queue("nack");
    const arrivals: { attempt: number; at: number }[] = [];
    await a.consume(q, {
      prefetch: 5,
      onDelivery: (d) => {
        arrivals.push({ attempt: d.message.attempt, at: Date.now() });
        if (d.message.attempt === 1) void d.nack({ delayMs: 1200 });
        else void d.ack();
      },
      onError: noError,
    });
    await a.send(q, [message()]);
    await waitFor(() => arrivals.length === 2, { timeoutMs: 10_000 });
    expect(arrivals.map((x) => x.attempt)).toEqual([1, 2]);
    expect(arrivals[1]!.at - arrivals[0]!.at).toBeGreaterThanOrEqual(1150);
  });

  it("a handler slower than ack_wait causes no duplicate (in-progress heartbeats)", async () => {
    const a = await open({ ackWaitMs: 1_000 });
    const q = queue("slow");
    const deliveries: Delivery[] = [];
    await a.consume(q, { prefetch: 5, onDelivery: (d) => deliveries.push(d), onError: noError });
    const slow = message();
    await a.send(q, [slow]);
    await waitFor(() => deliveries.length === 1);
    // The "handler" runs 3.5 × ack_wait before it acks.
    await new Promise((r) => setTimeout(r, 3_500));
    await deliveries[0]!.ack();
    const marker = message();
    await a.send(q, [marker]);
    await waitFor(() => deliveries.some((d) => d.message.id === marker.id));
    expect(deliveries.map((d) => d.message.id)).toEqual([slow.id, marker.id]);
  });

  it("stop keeps in-flight deliveries settleable; close gives the rest back at once", async () => {
    const a = await open();
    const q = queue("stop");
    const held: Delivery[] = [];
    const first = await a.consume(q, { prefetch: 10, onDelivery: (d) => held.push(d), onError: noError });
    const sent = Array.from({ length: 30 }, () => message());
    await a.send(q, sent);
    await waitFor(() => held.length === 10);
    await first.stop();
    for (const d of held.slice(0, 5)) await d.ack(); // settled after stop: must count
    await first.close(); // the other 5 go back now, not after ack_wait
    const b = await open();
    const rest: Delivery[] = [];
    await b.consume(q, {
      prefetch: 50,
      onDelivery: (d) => {
        rest.push(d);
        void d.ack();
      },
      onError: noError,
    });
    await waitFor(() => rest.length >= 25, { timeoutMs: 10_000 });
    const acked = held.slice(0, 5).map((d) => d.message.id);
    const all = [...acked, ...rest.map((d) => d.message.id)];
    expect(
      setDifference(
        sent.map((m) => m.id),
        all,
      ),
    ).toEqual({ missing: [], unexpected: [], duplicates: [] });
    const returned = new Set(held.slice(5).map((d) => d.message.id));
    for (const d of rest) if (returned.has(d.message.id)) expect(d.message.attempt).toBe(2);
  });

  it("what a closed consumer gives back comes back once each, at once, also nacked during stop()", async () => {
    // nats-server < 2.11 loses a redelivery it can hand to no one and delivers the newest message
    // again with attempt 1 (nats-server#5305); a dropped inbox's pull requests are such a "no one"
    // until the server looks at them. The adapter holds its NAKs until it made the server look.
    for (let round = 0; round < 3; round++) {
      const q = queue(`giveback${round}`);
      const producer = await open();
      const sent = Array.from({ length: 6 }, () => message());
      await producer.send(q, sent);
      const victim = await open();
      const held: Delivery[] = [];
      const handle = await victim.consume(q, {
        prefetch: 6,
        onDelivery: (d) => held.push(d),
        onError: noError,
      });
      await waitFor(() => held.length === 6);
      for (const d of held.slice(0, 2)) await d.ack();
      const stopping = handle.stop();
      await held[2]!.nack(); // while stop() is under way
      await stopping;
      await handle.close();
      if (round === 2) await victim.close();
      const rescuer = await open();
      const got: Delivery[] = [];
      await rescuer.consume(q, {
        prefetch: 100,
        onDelivery: (d) => {
          got.push(d);
          void d.ack();
        },
        onError: noError,
      });
      // ack_wait is 30 s: a lost redelivery would not be back within this wait.
      await waitFor(() => got.length >= 4, { timeoutMs: 5_000 });
      await new Promise((r) => setTimeout(r, 300));
      expect(
        setDifference(
          held.slice(2).map((d) => d.message.id),
          got.map((d) => d.message.id),
        ),
      ).toEqual({ missing: [], unexpected: [], duplicates: [] });
      expect(got.map((d) => d.message.attempt)).toEqual([2, 2, 2, 2]);
    }
  });

  it("checks an existing durable: a non-explicit ack policy is a ConfigError", async () => {
    const a = await open();
    const topic = { kind: "topic" as const, name: `nats-ackall.${shortId()}` };
    made.topics.add(topic.name);
    await a.send(topic, [message()]); // creates the topic's stream
    const stream = `OMNIBUS_T_${topic.name.replace(/_/g, "__").replace(/\./g, "_d")}`;
    // With AckAll, acking one delivery would settle every earlier one.
    await a.native.jetstreamManager.consumers.add(stream, {
      durable_name: "g_billing",
      ack_policy: AckPolicy.All,
    });
    const source = { ...topic, group: "billing" };
    await expect(
      a.consume(source, { prefetch: 5, onDelivery: () => {}, onError: noError }),
    ).rejects.toMatchObject({ code: ErrorCode.Config, message: expect.stringMatching(/ack policy "all"/) });
    await expect(a.ensureGroup!(topic.name, "billing")).rejects.toMatchObject({ code: ErrorCode.Config });
  });

  it("paces in-progress heartbeats by the ack_wait of an existing durable, not by its own option", async () => {
    const admin = await open();
    const q = queue("ackwait");
    await admin.send(q, [message()]);
    const stream = `OMNIBUS_Q_${q.name.replace(/_/g, "__").replace(/\./g, "_d")}`;
    // Created by someone else with a 1 s ack_wait; this adapter was configured with 30 s.
    await admin.native.jetstreamManager.consumers.add(stream, {
      durable_name: "omnibus",
      ack_policy: AckPolicy.Explicit,
      ack_wait: 1_000_000_000,
      max_ack_pending: -1,
    });
    const holder = await open({ ackWaitMs: 30_000 });
    const held: Delivery[] = [];
    await holder.consume(q, { prefetch: 1, onDelivery: (d) => held.push(d), onError: noError });
    await waitFor(() => held.length === 1);
    const rival = await open();
    const stolen: Delivery[] = [];
    await rival.consume(q, { prefetch: 5, onDelivery: (d) => stolen.push(d), onError: noError });
    await new Promise((r) => setTimeout(r, 3_500));
    expect(stolen).toEqual([]);
    await held[0]!.ack();
  });

  it("a second close() waits for the first to finish", async () => {
    const a = await open();
    await a.consume(queue("close"), { prefetch: 5, onDelivery: () => {}, onError: noError });
    const first = a.close();
    await a.close();
    expect(a.native.connection.isClosed()).toBe(true);
    await first;
  });

  it("the server drops a resend of the same id (Nats-Msg-Id)", async () => {
    const a = await open();
    const q = queue("dedupe");
    const m = message();
    await a.send(q, [m, m]);
    await a.send(q, [m]);
    const marker = message();
    await a.send(q, [marker]);
    const got: string[] = [];
    await a.consume(q, {
      prefetch: 10,
      onDelivery: (d) => {
        got.push(d.message.id);
        void d.ack();
      },
      onError: noError,
    });
    await waitFor(() => got.includes(marker.id));
    expect(got).toEqual([m.id, marker.id]);
  });

  it("a core-made message (UUID v7 id, nothing else) travels with Nats-Msg-Id alone, and arrives whole", async () => {
    const a = await open();
    const q = queue("id-only");
    const now = Date.now();
    const plain = message({ id: uuidv7(now), timestamp: now });
    const later = message({ id: uuidv7(now), timestamp: now + 1 }); // its own timestamp header
    const got: Delivery[] = [];
    await a.consume(q, { prefetch: 10, onDelivery: (d) => got.push(d), onError: noError });
    await a.send(q, [plain, later, plain]); // the resend is still dropped
    await waitFor(() => got.length >= 2);
    const [first, second] = got;
    const native = (d: Delivery) => d.message.native as Msg;
    const raw = (d: Delivery) => [...(native(d).headers ?? [])].map(([k]) => k);
    expect(raw(first!)).toEqual(["Nats-Msg-Id"]);
    expect(idOnlyHeaders(native(first!))).toBeDefined(); // the client's message still has the shape read
    expect(first!.message).toMatchObject({ id: plain.id, timestamp: now, headers: {}, key: undefined });
    expect(Buffer.from(first!.message.body).toString()).toBe(Buffer.from(plain.body).toString());
    expect(raw(second!)).toEqual(["Nats-Msg-Id", "Omnibus-Timestamp"]);
    expect(second!.message).toMatchObject({ id: later.id, timestamp: now + 1 });
    for (const d of got) await d.ack();
    // A marker sent after: the stream delivers in order, so a stored resend would come before it.
    const marker = message();
    await a.send(q, [marker]);
    await waitFor(() => got.some((d) => d.message.id === marker.id));
    expect(got.map((d) => d.message.id)).toEqual([plain.id, later.id, marker.id]);
    await got[2]!.ack();
  });

  it("ephemeral inboxes live on core NATS: no stream, gone at once on close", async () => {
    const requester = await open();
    const replier = await open();
    const inbox = queue("inbox");
    const work = queue("work");
    const replies: Delivery[] = [];
    const handle = await requester.consume(
      { ...inbox, ephemeral: true },
      {
        prefetch: 100,
        onDelivery: (d) => {
          replies.push(d);
          void d.ack();
        },
        onError: noError,
      },
    );
    await replier.consume(work, {
      prefetch: 10,
      onDelivery: (d) => {
        void d.ack();
        void replier.send({ kind: "queue", name: d.message.replyTo! }, [
          message({ correlationId: d.message.id }),
        ]);
      },
      onError: noError,
    });
    const request = message({ replyTo: inbox.name });
    await requester.send(work, [request]);
    await waitFor(() => replies.length === 1);
    expect(replies[0]!.message.correlationId).toBe(request.id);
    const { jetstreamManager } = requester.native;
    const streams: string[] = [];
    for await (const s of jetstreamManager.streams.list()) streams.push(s.config.name);
    expect(streams.filter((s) => s.includes("inbox"))).toEqual([]);
    await handle.stop();
    await handle.close();
    const started = Date.now();
    await expect(replier.send(inbox, [message()])).rejects.toMatchObject({ code: ErrorCode.Publish });
    expect(Date.now() - started).toBeLessThan(1_000);
    const after: string[] = [];
    for await (const s of jetstreamManager.streams.list()) after.push(s.config.name);
    expect(after.filter((s) => s.includes("inbox"))).toEqual([]);
  });

  it("maps tricky names injectively and deletes queues", async () => {
    const a = await open();
    const tag = shortId();
    const dotted = { kind: "queue" as const, name: `x.${tag}` };
    const underscored = { kind: "queue" as const, name: `x_d${tag}` };
    const one = message();
    const two = message();
    await a.send(dotted, [one]);
    await a.send(underscored, [two]);
    const got: Record<string, string[]> = { dotted: [], underscored: [] };
    for (const [label, q] of [
      ["dotted", dotted],
      ["underscored", underscored],
    ] as const) {
      await a.consume(q, {
        prefetch: 5,
        onDelivery: (d) => {
          got[label]!.push(d.message.id);
          void d.ack();
        },
        onError: noError,
      });
    }
    await waitFor(() => got.dotted!.length === 1 && got.underscored!.length === 1);
    expect(got).toEqual({ dotted: [one.id], underscored: [two.id] });
    await a.deleteQueue!(dotted.name);
    await a.deleteQueue!(dotted.name); // idempotent
    const { jetstreamManager } = a.native;
    await expect(jetstreamManager.streams.info(`OMNIBUS_Q_x_d${tag}`)).rejects.toThrow(/not found/);
    await expect(jetstreamManager.streams.info(`OMNIBUS_Q_x__d${tag}`)).resolves.toBeDefined();
    await a.deleteQueue!(underscored.name);
  });

  it("a long name cut inside an escape pair and the plain name spelling its token are two streams (issue 16)", async () => {
    const a = await open();
    // 63 characters, then '.': the old cut at 64 characters split the '_d' of the '.', and the
    // hashed token of the long name was the plain token of the 97-character name below.
    const head = `n${shortId()}`.padEnd(63, "a");
    const long = { kind: "queue" as const, name: `${head}.${"b".repeat(100)}` };
    const plain = { kind: "queue" as const, name: `${head}_x${escapeName(long.name).slice(-32)}` };
    made.queues.add(long.name);
    made.queues.add(plain.name);
    const toLong = message();
    const marker = message();
    await a.send(long, [toLong]);
    await a.send(plain, [marker]);
    const got: Record<string, string[]> = { long: [], plain: [] };
    const take = (label: "long" | "plain", q: typeof long) =>
      a.consume(q, {
        prefetch: 5,
        onDelivery: (d) => {
          got[label]!.push(d.message.id);
          void d.ack();
        },
        onError: noError,
      });
    // The plain queue first: had the two names one stream, the long name's message (sent first)
    // would reach this consumer before the marker.
    await take("plain", plain);
    await waitFor(() => got.plain!.includes(marker.id), {
      timeoutMs: 10_000,
      message: () => `deliveries: ${JSON.stringify(got)}`,
    });
    expect(got.plain, "deliveries of the plain queue").toEqual([marker.id]);
    await take("long", long);
    await waitFor(() => got.long!.includes(toLong.id), {
      timeoutMs: 10_000,
      message: () => `deliveries: ${JSON.stringify(got)}`,
    });
    expect(got).toEqual({ long: [toLong.id], plain: [marker.id] });
  });

  it("renews pull requests that expired while the queue was idle", async () => {
    const a = await open({ pullExpiresMs: 1_000 });
    const q = queue("expire");
    const got: string[] = [];
    await a.consume(q, {
      prefetch: 4,
      onDelivery: (d) => {
        got.push(d.message.id);
        void d.ack();
      },
      onError: noError,
    });
    // What is under test is the expiry itself: let the first pull requests run out.
    await new Promise((r) => setTimeout(r, 2_500));
    const sent = Array.from({ length: 10 }, () => message());
    await a.send(q, sent);
    await waitFor(() => got.length >= 10, { timeoutMs: 5_000 });
    expect(
      setDifference(
        sent.map((m) => m.id),
        got,
      ),
    ).toEqual({ missing: [], unexpected: [], duplicates: [] });
  });

  it("creates a stream again when it was deleted behind the sender's back", async () => {
    const sender = await open();
    const admin = await open();
    const q = queue("recreate");
    await sender.send(q, [message()]);
    await admin.deleteQueue!(q.name);
    const again = message();
    await sender.send(q, [again]);
    const got: string[] = [];
    await admin.consume(q, {
      prefetch: 5,
      onDelivery: (d) => {
        got.push(d.message.id);
        void d.ack();
      },
      onError: noError,
    });
    await waitFor(() => got.length === 1);
    expect(got).toEqual([again.id]);
  });

  it("exposes the native clients and fails fast on a closed adapter", async () => {
    const a = await open();
    expect(a.native.connection.isClosed()).toBe(false);
    expect(typeof a.native.jetstream.publish).toBe("function");
    await a.close();
    await expect(a.send(queue("closed"), [message()])).rejects.toMatchObject({ code: ErrorCode.Closed });
  });

  it("an unreachable server is a ConnectionError without the password", async () => {
    const a = nats({ url: "nats://user:topsecret@127.0.0.1:1" });
    const error = await a.connect().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error).toMatchObject({ code: ErrorCode.Connection });
    expect(error!.message).not.toContain("topsecret");
  });
});
