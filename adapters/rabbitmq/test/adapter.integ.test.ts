import { randomUUID } from "node:crypto";
import { ConfigError, ConnectionError, type Delivery, isOmnibusError, PublishError } from "@omnibus/core";
import { afterAll, describe, expect, it } from "vitest";
import { fromUrl } from "../src/index.js";
import { adapter, cleanupBroker, collector, difference, message, unique, url, waitFor } from "./helpers.js";

const open: { close(): Promise<void> }[] = [];
function track<T extends { close(): Promise<void> }>(a: T): T {
  open.push(a);
  return a;
}
afterAll(async () => {
  await Promise.all(open.map((a) => a.close().catch(() => {})));
  await cleanupBroker();
}, 60_000);

describe("rabbitmq adapter against a real broker", () => {
  it("round-trips every field, empty and binary bodies, unicode and empty headers", async () => {
    const a = track(adapter());
    const q = unique("fields");
    const binary = new Uint8Array(256).map((_, i) => i);
    const sent = [
      message({
        body: binary,
        headers: {
          "omnibus-content-type": "application/octet-stream",
          "ünï-cødé": "☃ snow",
          empty: "",
          CC: "x",
          BCC: "y",
        },
        key: "customer-7",
        correlationId: "corr-1",
        replyTo: "replies.here",
        timestamp: 1_700_000_000_123,
      }),
      message({ body: new Uint8Array(0), timestamp: 1_700_000_001_000 }),
    ];
    await a.send({ kind: "queue", name: q }, sent);
    const c = collector();
    const h = await a.consume({ kind: "queue", name: q }, c.options());
    await waitFor(() => c.deliveries.length === 2);
    const [m1, m2] = c.deliveries.map((d) => d.message);
    expect(m1!.id).toBe(sent[0]!.id);
    expect([...m1!.body]).toEqual([...binary]);
    expect(m1!.headers).toEqual(sent[0]!.headers);
    expect(m1!.key).toBe("customer-7");
    expect(m1!.correlationId).toBe("corr-1");
    expect(m1!.replyTo).toBe("replies.here");
    expect(m1!.timestamp).toBe(1_700_000_000_123);
    expect(m1!.attempt).toBe(1);
    expect(m2!.body.byteLength).toBe(0);
    expect(m2!.headers).toEqual({});
    expect(m2!.key).toBeUndefined();
    expect(m2!.timestamp).toBe(1_700_000_001_000);
    expect((m1!.native as { fields: { routingKey: string } }).fields.routingKey).toBe(q);
    await h.stop();
    await h.close();
    await a.deleteQueue(q);
  });

  it("keeps queue messages sent before the first consumer; competing consumers share without loss or duplicates", async () => {
    const a = track(adapter());
    const q = unique("compete");
    const sent = Array.from({ length: 300 }, () => message());
    await a.send({ kind: "queue", name: q }, sent);
    const c1 = collector();
    const c2 = collector();
    const h1 = await a.consume({ kind: "queue", name: q }, c1.options(10));
    const h2 = await a.consume({ kind: "queue", name: q }, c2.options(10));
    await waitFor(() => c1.deliveries.length + c2.deliveries.length >= 300);
    const got = [...c1.ids(), ...c2.ids()];
    expect(new Set(got).size).toBe(got.length);
    expect(
      difference(
        sent.map((m) => m.id),
        got,
      ),
    ).toEqual([]);
    expect(
      difference(
        got,
        sent.map((m) => m.id),
      ),
    ).toEqual([]);
    expect(c1.deliveries.length).toBeGreaterThan(0);
    expect(c2.deliveries.length).toBeGreaterThan(0);
    await Promise.all([h1.close(), h2.close()]);
    await a.deleteQueue(q);
  });

  it("fans a topic out to every group (kept while offline), members of a group compete; no group is not an error", async () => {
    const a = track(adapter());
    const topic = unique("topic");
    await a.send({ kind: "topic", name: topic }, [message()]); // nobody listens: fine
    await a.ensureGroup(topic, "billing");
    const sent = Array.from({ length: 50 }, () => message());
    await a.send({ kind: "topic", name: topic }, sent);
    const billing = collector();
    const s1 = collector();
    const s2 = collector();
    const hb = await a.consume({ kind: "topic", name: topic, group: "billing" }, billing.options());
    const h1 = await a.consume({ kind: "topic", name: topic, group: "shipping" }, s1.options(5));
    const h2 = await a.consume({ kind: "topic", name: topic, group: "shipping" }, s2.options(5));
    const more = Array.from({ length: 50 }, () => message());
    await a.send({ kind: "topic", name: topic }, more);
    const all = [...sent, ...more].map((m) => m.id);
    await waitFor(
      () => billing.deliveries.length >= 100 && s1.deliveries.length + s2.deliveries.length >= 50,
    );
    expect(difference(all, billing.ids())).toEqual([]);
    expect(billing.deliveries.length).toBe(100);
    const shipping = [...s1.ids(), ...s2.ids()];
    expect(new Set(shipping).size).toBe(shipping.length);
    expect(
      difference(
        more.map((m) => m.id),
        shipping,
      ),
    ).toEqual([]);
    expect(
      difference(
        shipping,
        more.map((m) => m.id),
      ),
    ).toEqual([]);
    await Promise.all([hb.close(), h1.close(), h2.close()]);
    // The group queues are deleted with the rest by cleanupBroker().
  });

  it("never hands out more than prefetch unsettled deliveries", async () => {
    const a = track(adapter());
    const q = unique("prefetch");
    await a.send(
      { kind: "queue", name: q },
      Array.from({ length: 40 }, () => message()),
    );
    const c = collector(false);
    const h = await a.consume({ kind: "queue", name: q }, c.options(7));
    await waitFor(() => c.deliveries.length === 7);
    await new Promise((r) => setTimeout(r, 100)); // give the broker a chance to overshoot
    expect(c.deliveries.length).toBe(7);
    await Promise.all(c.deliveries.slice(0, 3).map((d) => d.ack()));
    await waitFor(() => c.deliveries.length === 10);
    await new Promise((r) => setTimeout(r, 100));
    expect(c.deliveries.length).toBe(10);
    await h.close();
    await a.deleteQueue(q);
  });

  it("nack redelivers with attempt + 1, immediately and after a delay (no sooner)", async () => {
    const a = track(adapter());
    const q = unique("nack");
    const m = message({ headers: { keep: "me" }, key: "k" });
    await a.send({ kind: "queue", name: q }, [m]);
    const seen: { attempt: number; at: number; d: Delivery }[] = [];
    const h = await a.consume(
      { kind: "queue", name: q },
      {
        prefetch: 10,
        onDelivery: (d) => {
          seen.push({ attempt: d.message.attempt, at: Date.now(), d });
          if (d.message.attempt === 1) void d.nack();
          else if (d.message.attempt === 2) void d.nack({ delayMs: 300 });
          else void d.ack();
        },
        onError: () => {},
      },
    );
    await waitFor(() => seen.length === 3, 10_000, "3 deliveries");
    expect(seen.map((s) => s.attempt)).toEqual([1, 2, 3]);
    expect(seen[2]!.at - seen[1]!.at).toBeGreaterThanOrEqual(295);
    for (const s of seen) {
      expect(s.d.message.id).toBe(m.id);
      expect(s.d.message.headers).toEqual({ keep: "me" });
      expect(s.d.message.key).toBe("k");
    }
    await h.close();
    await a.deleteQueue(q);
  });

  for (const queueType of ["quorum", "classic"] as const) {
    it(`counts every redelivery after a consumer closed without settling, exactly (${queueType} queue)`, async () => {
      const a = track(adapter({ queueType }));
      const q = unique(`crash-${queueType}`);
      const m = message({ body: new TextEncoder().encode("crash"), key: "k", priority: undefined });
      await a.send({ kind: "queue", name: q }, [m]);
      for (const expected of [1, 2, 3]) {
        const c = collector(false);
        const h = await a.consume({ kind: "queue", name: q }, c.options(1));
        await waitFor(() => c.deliveries.length === 1);
        expect(c.deliveries[0]!.message.attempt).toBe(expected);
        await h.close(); // unsettled: back to the broker
        await c.deliveries[0]!.ack(); // after close: a no-op, must not break anything
      }
      const c = collector();
      const h = await a.consume({ kind: "queue", name: q }, c.options(1));
      await waitFor(() => c.deliveries.length === 1);
      await new Promise((r) => setTimeout(r, 300)); // no duplicate follows
      expect(c.deliveries).toHaveLength(1);
      const last = c.deliveries[0]!.message;
      expect(last.attempt).toBe(4);
      expect([last.id, last.key, new TextDecoder().decode(last.body)]).toEqual([m.id, "k", "crash"]);
      await h.close();
      await a.deleteQueue(q);
    });
  }

  it("a nack after the consumer closed, or from a channel that died, publishes no copy", async () => {
    for (const queueType of ["quorum", "classic"] as const) {
      const a = track(adapter({ queueType }));
      const q = unique(`latenack-${queueType}`);
      const closed = message();
      await a.send({ kind: "queue", name: q }, [closed]);
      const c = collector(false);
      const h = await a.consume({ kind: "queue", name: q }, c.options(1));
      await waitFor(() => c.deliveries.length === 1);
      await h.close();
      await c.deliveries[0]!.nack(); // the broker already has the original back

      // A consumer whose channel dies under it: it resumes on a new channel and gets the
      // original again; a nack of the dead channel's delivery must not add a copy.
      const died = message();
      const d = collector(false);
      const hd = await a.consume({ kind: "queue", name: q }, d.options(5));
      await a.send({ kind: "queue", name: q }, [died]);
      await waitFor(() => d.ids().filter((id) => id === closed.id || id === died.id).length >= 2);
      const channel = (hd as unknown as { channel: { close(): Promise<void> } }).channel;
      const before = d.deliveries.slice();
      await channel.close();
      await waitFor(
        () => d.deliveries.length >= before.length + 2,
        10_000,
        "redeliveries on the new channel",
      );
      for (const old of before) await old.nack();
      await new Promise((r) => setTimeout(r, 500));
      for (const x of d.deliveries.slice(before.length)) await x.ack();
      await new Promise((r) => setTimeout(r, 300));
      const seen = d.deliveries.map(
        (x) => `${x.message.id === closed.id ? "closed" : "died"}:${x.message.attempt}`,
      );
      expect(seen.sort(), queueType).toEqual(["closed:2", "closed:3", "died:1", "died:2"]);
      await hd.close();
      await a.deleteQueue(q);
    }
  });

  it("refuses ids, correlation ids, reply-tos and header names over 255 bytes, publishing nothing; confirms stay aligned", async () => {
    const a = track(adapter());
    const q = unique("shortstr");
    const first = message();
    await a.send({ kind: "queue", name: q }, [first]);
    const refused = [
      message({ id: "i".repeat(256) }),
      message({ correlationId: "é".repeat(128) }),
      message({ replyTo: "r".repeat(300) }),
      message({ headers: { ["h".repeat(256)]: "v" } }),
    ];
    for (const bad of refused) {
      const error = await a.send({ kind: "queue", name: q }, [message(), bad]).catch((e) => e);
      expect(error).toBeInstanceOf(ConfigError);
    }
    const later = Array.from({ length: 3 }, () => message());
    for (const m of later) await a.send({ kind: "queue", name: q }, [m]); // each gets its own confirm
    const c = collector();
    const h = await a.consume({ kind: "queue", name: q }, c.options());
    await waitFor(() => c.deliveries.length >= 4);
    await new Promise((r) => setTimeout(r, 300));
    expect(c.ids()).toEqual([first, ...later].map((m) => m.id));
    await h.close();
    await a.deleteQueue(q);
  });

  it("keeps (topic a.b, group c), (topic a, group b.c) and queue a.b.c apart; amq.* queues and topics work", async () => {
    const a = track(adapter());
    const base = unique("names");
    const reserved = `amq.${base}`;
    const groups = [
      [`${base}.a.b`, "c"],
      [`${base}.a`, "b.c"],
      [reserved, "g"],
    ] as const;
    const queues = [`${base}.a.b.c`, reserved];
    expect(a.groupQueue(`${base}.a.b`, "c")).toBe(`${base}.a.b..c`);
    const got = new Map<string, string[]>();
    const record = (label: string) => ({
      prefetch: 10,
      onDelivery: (d: Delivery) => {
        got.set(label, [...(got.get(label) ?? []), new TextDecoder().decode(d.message.body)]);
        void d.ack();
      },
      onError: () => {},
    });
    const handles = [];
    for (const [topic, group] of groups) {
      handles.push(await a.consume({ kind: "topic", name: topic, group }, record(`${topic}|${group}`)));
    }
    for (const name of queues) handles.push(await a.consume({ kind: "queue", name }, record(name)));
    const body = (text: string) => new TextEncoder().encode(text);
    for (const [topic, group] of groups) {
      await a.send({ kind: "topic", name: topic }, [message({ body: body(`${topic}|${group}`) })]);
    }
    for (const name of queues) await a.send({ kind: "queue", name }, [message({ body: body(name) })]);
    const labels = [...groups.map(([t, g]) => `${t}|${g}`), ...queues];
    await waitFor(() => labels.every((l) => (got.get(l) ?? []).length >= 1));
    await new Promise((r) => setTimeout(r, 300));
    for (const label of labels) expect(got.get(label), label).toEqual([label]);
    await Promise.all(handles.map((h) => h.close()));
  });

  it("delays a send, on a queue and on a topic", async () => {
    const a = track(adapter());
    const q = unique("delay");
    const topic = unique("delayt");
    await a.ensureGroup(topic, "g");
    const c = collector();
    const ct = collector();
    const h = await a.consume({ kind: "queue", name: q }, c.options());
    const ht = await a.consume({ kind: "topic", name: topic, group: "g" }, ct.options());
    const t0 = Date.now();
    await a.send({ kind: "queue", name: q }, [message({ delayMs: 400 }), message()]);
    await a.send({ kind: "topic", name: topic }, [message({ delayMs: 400 })]);
    await waitFor(() => c.deliveries.length === 1);
    expect(Date.now() - t0).toBeLessThan(350);
    await waitFor(() => c.deliveries.length === 2 && ct.deliveries.length === 1);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(395);
    expect(c.deliveries[1]!.message.attempt).toBe(1);
    expect(ct.deliveries[0]!.message.attempt).toBe(1);
    await Promise.all([h.close(), ht.close()]);
    await a.deleteQueue(q);
  });

  it("stop() stops fetching; in-flight deliveries can still be acked; close() releases the rest", async () => {
    const a = track(adapter());
    const q = unique("stop");
    const sent = Array.from({ length: 20 }, () => message());
    await a.send({ kind: "queue", name: q }, sent);
    const c = collector(false);
    const h = await a.consume({ kind: "queue", name: q }, c.options(5));
    await waitFor(() => c.deliveries.length === 5);
    await h.stop();
    await Promise.all(c.deliveries.slice(0, 3).map((d) => d.ack()));
    await new Promise((r) => setTimeout(r, 100));
    expect(c.deliveries.length).toBe(5);
    await h.close();
    const rest = collector();
    const h2 = await a.consume({ kind: "queue", name: q }, rest.options(50));
    await waitFor(() => rest.deliveries.length === 17);
    const acked = c.deliveries.slice(0, 3).map((d) => d.message.id);
    expect(
      difference(
        sent.map((m) => m.id),
        [...acked, ...rest.ids()],
      ),
    ).toEqual([]);
    expect(difference(rest.ids(), acked)).toHaveLength(17);
    await h2.close();
    await a.deleteQueue(q);
  });

  it("ephemeral queues are exclusive and deleted on close; other clients can send to them", async () => {
    const a = track(adapter());
    const b = track(adapter());
    const inbox = `omnibus.inbox.${randomUUID().slice(0, 8)}`;
    const c = collector();
    const h = await a.consume({ kind: "queue", name: inbox, ephemeral: true }, c.options());
    await b.send({ kind: "queue", name: inbox }, [message()]);
    await waitFor(() => c.deliveries.length === 1);
    await h.stop();
    await h.close();
    const err = await b.send({ kind: "queue", name: inbox }, [message()]).catch((e) => e);
    expect(err).toBeInstanceOf(PublishError);
  });

  it("rejects sends to a queue deleted under it, then recreates it on the next send", async () => {
    const a = track(adapter());
    const b = track(adapter());
    const q = unique("deleted");
    await a.send({ kind: "queue", name: q }, [message()]);
    await b.deleteQueue(q);
    const err = await a.send({ kind: "queue", name: q }, [message()]).catch((e) => e);
    expect(isOmnibusError(err, "OMNIBUS_PUBLISH")).toBe(true);
    await a.send({ kind: "queue", name: q }, [message()]);
    const c = collector();
    const h = await a.consume({ kind: "queue", name: q }, c.options());
    await waitFor(() => c.deliveries.length === 1);
    await h.close();
    await a.deleteQueue(q);
  });

  it("recovers from channel loss: a closed publisher channel is reopened, a consumer whose queue was deleted resumes", async () => {
    const a = track(adapter());
    const b = track(adapter());
    const q = unique("chanloss");
    const c = collector();
    const h = await a.consume({ kind: "queue", name: q }, c.options());
    await a.send({ kind: "queue", name: q }, [message()]);
    await waitFor(() => c.deliveries.length === 1);
    await a.native.channel.close(); // the publisher channel dies under the adapter
    await a.send({ kind: "queue", name: q }, [message()]);
    await waitFor(() => c.deliveries.length === 2);
    await b.deleteQueue(q); // the broker cancels the consumer: it declares the queue again and resumes
    // (RabbitMQ's own race: if another client re-creates the queue before the cancel arrives,
    // the consumer is silently orphaned; so here nobody else touches the queue meanwhile.)
    let exists = false;
    const deadline = Date.now() + 10_000;
    while (!exists && Date.now() < deadline) {
      const ch = await b.native.connection.createChannel();
      ch.on("error", () => {});
      exists = await ch.checkQueue(q).then(
        () => true,
        () => false,
      );
      if (exists) await ch.close();
      else await new Promise((r) => setTimeout(r, 50));
    }
    expect(exists, "the consumer declared its queue again").toBe(true);
    const later = message();
    await b.send({ kind: "queue", name: q }, [later]);
    await waitFor(() => c.ids().includes(later.id));
    expect(c.ids()).toContain(later.id);
    expect(c.errors).toEqual([]);
    await h.close();
    await a.deleteQueue(q);
  });

  it("fails clearly: bad URL, unreachable broker, bad credentials (no password in messages)", async () => {
    expect(() => fromUrl("http://x")).toThrow(ConfigError);
    expect(() => adapter({ maxPriority: 3, queueType: "quorum" })).toThrow(ConfigError);
    const down = fromUrl("amqp://user:s3cret@127.0.0.1:1", { connectTimeoutMs: 2000 });
    const e1 = await down.connect().catch((e) => e);
    expect(e1).toBeInstanceOf(ConnectionError);
    expect(e1.message).not.toContain("s3cret");
    const bad = fromUrl(url.replace(/\/\/[^@]*@/, "//guest:wr0ng@"));
    const e2 = await bad.connect().catch((e) => e);
    expect(e2).toBeInstanceOf(ConnectionError);
    expect(e2.message).not.toContain("wr0ng");
    expect(String(e2.cause?.message ?? "")).not.toContain("wr0ng");
  });

  it("exposes the amqplib connection and channel", async () => {
    const a = track(adapter());
    await a.connect();
    const q = unique("native");
    await a.native.channel.assertQueue(q, { durable: false, autoDelete: true, exclusive: true });
    const ok = await a.native.channel.checkQueue(q);
    expect(ok.queue).toBe(q);
  });

  it("honours priority on a backlog (classic queues with x-max-priority)", async () => {
    const a = track(adapter({ maxPriority: 9 }));
    expect(a.features.priority).toBe(true);
    const q = unique("prio");
    const low = Array.from({ length: 5 }, () => message({ priority: 1 }));
    const high = Array.from({ length: 5 }, () => message({ priority: 8 }));
    await a.send({ kind: "queue", name: q }, [...low, ...high]);
    const c = collector();
    const h = await a.consume({ kind: "queue", name: q }, c.options(1));
    await waitFor(() => c.deliveries.length === 10);
    expect(new Set(c.ids().slice(0, 5))).toEqual(new Set(high.map((m) => m.id)));
    await h.close();
    await a.deleteQueue(q);
  });
});
