import { setDifference, waitFor } from "@omnibus/core/testing";
import { afterEach, describe, expect, it } from "vitest";
import { queueTopic } from "../src/names.js";
import { closeAll, collector, connected, message, messages, unique } from "./helpers.js";

afterEach(closeAll);

describe("kafka adapter", () => {
  it("rebalance: a member joining and one leaving mid-stream lose nothing", async () => {
    const queue = unique("rebalance");
    const source = { kind: "queue", name: queue } as const;
    const a = collector({ ackAfterMs: 1 });
    const b = collector({ ackAfterMs: 1 });
    const first = await (await connected()).consume(source, a.options(32));
    const producer = await connected();
    const sent: string[] = [];
    const total = 3000;
    let joined = false;
    const sending = (async () => {
      for (let i = 0; i < total / 100; i++) {
        const batch = messages(100);
        await producer.send(source, batch);
        sent.push(...batch.map((m) => m.id));
        // Let the consumers make progress while the stream runs.
        await waitFor(() => a.deliveries.length + b.deliveries.length >= sent.length - 300, {
          timeoutMs: 30_000,
          message: () => `flow: sent ${sent.length} a ${a.deliveries.length} b ${b.deliveries.length}`,
        });
        // Once the second member has joined, slow the stream down until the rebalance has given it
        // partitions (a loaded machine can take seconds), so that it really takes part.
        if (joined && b.deliveries.length === 0) {
          await waitFor(() => b.deliveries.length > 0, { timeoutMs: 1_000 }).catch(() => {});
        }
      }
    })();
    // A second member joins a third of the way in...
    await waitFor(() => sent.length >= total / 3, {
      timeoutMs: 30_000,
      message: () => `join: sent ${sent.length}`,
    });
    const joining = await connected();
    // consume() resolves once the group has taken the member in; the stream slows down meanwhile.
    joined = true;
    const second = await joining.consume(source, b.options(32));
    // ...and leaves two thirds in: stop fetching, let its handlers finish, close.
    await waitFor(() => sent.length >= (2 * total) / 3 && b.deliveries.length > 0, {
      timeoutMs: 30_000,
      message: () => `leave: sent ${sent.length} a ${a.deliveries.length} b ${b.deliveries.length}`,
    });
    await second.stop();
    await waitFor(() => b.unsettled === 0, { timeoutMs: 10_000 });
    await second.close();
    await sending;
    const received = () => [...a.ids(), ...b.ids()];
    await waitFor(() => setDifference(sent, received()).missing.length === 0, {
      timeoutMs: 30_000,
      message: () => `missing ${setDifference(sent, received()).missing.length}`,
    });
    const diff = setDifference(sent, received());
    expect(diff.missing).toEqual([]);
    expect(diff.unexpected).toEqual([]);
    expect(b.deliveries.length).toBeGreaterThan(0);
    await first.close();
  }, 90_000);

  it("a member that closes cleanly hands over without duplicates", async () => {
    const queue = unique("handover");
    const source = { kind: "queue", name: queue } as const;
    const a = collector({ ackAfterMs: 1 });
    const b = collector({ ackAfterMs: 1 });
    await (await connected()).consume(source, a.options(16));
    const leaving = await (await connected()).consume(source, b.options(16));
    const producer = await connected();
    const sent = messages(1500);
    const sending = (async () => {
      for (let i = 0; i < sent.length; i += 100) await producer.send(source, sent.slice(i, i + 100));
    })();
    await waitFor(() => b.deliveries.length >= 100, { timeoutMs: 30_000 });
    await leaving.stop();
    await waitFor(() => b.unsettled === 0, { timeoutMs: 10_000 });
    await leaving.close();
    await sending;
    const received = () => [...a.ids(), ...b.ids()];
    await waitFor(
      () =>
        setDifference(
          sent.map((m) => m.id),
          received(),
        ).missing.length === 0,
      {
        timeoutMs: 30_000,
      },
    );
    expect(
      setDifference(
        sent.map((m) => m.id),
        received(),
      ),
    ).toEqual({
      missing: [],
      unexpected: [],
      duplicates: [],
    });
  }, 60_000);

  it("attempt counts redeliveries after a consumer closed without settling", async () => {
    const queue = unique("attempt");
    const source = { kind: "queue", name: queue } as const;
    const producer = await connected();
    const m = message();
    await producer.send(source, [m]);
    // First consumer: nack once (attempt 2 comes back), then leave it unsettled and close.
    const first = collector({ autoAck: false });
    const h1 = await (await connected()).consume(source, first.options(1));
    await waitFor(() => first.deliveries.length === 1, { timeoutMs: 20_000 });
    expect(first.deliveries[0]!.message.attempt).toBe(1);
    await first.deliveries[0]!.nack();
    await waitFor(() => first.deliveries.length === 2, { timeoutMs: 20_000 });
    expect(first.deliveries[1]!.message.id).toBe(m.id);
    expect(first.deliveries[1]!.message.attempt).toBe(2);
    await h1.close();
    // Second consumer: the copy comes back once more, counted.
    const second = collector();
    await (await connected()).consume(source, second.options(10));
    await waitFor(() => second.deliveries.length >= 1, { timeoutMs: 20_000 });
    expect(second.deliveries.map((d) => [d.message.id, d.message.attempt])).toEqual([[m.id, 3]]);
  }, 60_000);

  it("a delayed nack does not hold back the records behind it", async () => {
    const queue = unique("nackdelay");
    const source = { kind: "queue", name: queue } as const;
    const adapter = await connected({ partitions: 1 });
    const order: Array<{ id: string; attempt: number; at: number }> = [];
    let nackedAt = 0;
    await adapter.consume(source, {
      prefetch: 10,
      onDelivery: (d) => {
        order.push({ id: d.message.id, attempt: d.message.attempt, at: Date.now() });
        if (order.length === 1) {
          nackedAt = Date.now();
          void d.nack({ delayMs: 1500 });
        } else void d.ack();
      },
      onError: () => {},
    });
    const [slow, ...rest] = messages(5);
    await adapter.send(source, [slow!]);
    await waitFor(() => nackedAt > 0, { timeoutMs: 20_000 });
    await adapter.send(source, rest);
    await waitFor(() => order.length === 6, { timeoutMs: 20_000 });
    expect(order.slice(1, 5).map((o) => o.id)).toEqual(rest.map((m) => m.id));
    const again = order[5]!;
    expect(again.id).toBe(slow!.id);
    expect(again.attempt).toBe(2);
    expect(again.at - nackedAt).toBeGreaterThanOrEqual(1450);
    expect(order[4]!.at).toBeLessThan(nackedAt + 1500);
  }, 60_000);

  it("never hands out more than prefetch unsettled deliveries", async () => {
    const queue = unique("prefetch");
    const source = { kind: "queue", name: queue } as const;
    const adapter = await connected();
    const sent = messages(300);
    await adapter.send(source, sent);
    const c = collector({ ackAfterMs: 3 });
    await adapter.consume(source, c.options(5));
    await waitFor(() => c.deliveries.length >= 300, { timeoutMs: 30_000 });
    expect(c.maxUnsettled).toBeLessThanOrEqual(5);
    expect(c.maxUnsettled).toBe(5);
    expect(
      setDifference(
        sent.map((m) => m.id),
        c.ids(),
      ),
    ).toEqual({ missing: [], unexpected: [], duplicates: [] });
  }, 60_000);

  it("ensureGroup keeps what is published after it, and only that", async () => {
    const topic = unique("ensure");
    const adapter = await connected();
    const address = { kind: "topic", name: topic } as const;
    const before = message();
    await adapter.send(address, [before]);
    await adapter.ensureGroup!(topic, "late");
    const after = messages(20);
    await adapter.send(address, after);
    const c = collector();
    await adapter.consume({ ...address, group: "late" }, c.options());
    const marker = message();
    await adapter.send(address, [marker]);
    await waitFor(() => c.ids().includes(marker.id), { timeoutMs: 20_000 });
    expect(
      setDifference(
        [...after, marker].map((m) => m.id),
        c.ids(),
      ),
    ).toEqual({
      missing: [],
      unexpected: [],
      duplicates: [],
    });
  }, 60_000);

  it("a nack in one group comes back to that group only", async () => {
    const topic = unique("groups");
    const adapter = await connected();
    const m = message();
    const got = { g1: [] as number[], g2: [] as number[] };
    for (const group of ["g1", "g2"] as const) {
      await adapter.consume(
        { kind: "topic", name: topic, group },
        {
          prefetch: 10,
          onDelivery: (d) => {
            if (d.message.id === m.id) got[group].push(d.message.attempt);
            if (group === "g1" && d.message.attempt === 1) void d.nack();
            else void d.ack();
          },
          onError: () => {},
        },
      );
    }
    await adapter.send({ kind: "topic", name: topic }, [m]);
    await waitFor(() => got.g1.length === 2 && got.g2.length === 1, { timeoutMs: 20_000 });
    // A marker through a third group: by the time it arrives, any extra copy would have too.
    const marker = message();
    const seen: string[] = [];
    await adapter.consume(
      { kind: "topic", name: topic, group: "g3" },
      { prefetch: 10, onDelivery: (d) => seen.push(d.message.id) && void d.ack(), onError: () => {} },
    );
    await adapter.send({ kind: "topic", name: topic }, [marker]);
    await waitFor(() => seen.includes(marker.id), { timeoutMs: 20_000 });
    expect(got).toEqual({ g1: [1, 2], g2: [1] });
    expect(seen).toEqual([marker.id]);
  }, 60_000);

  it("an ephemeral queue and its group are deleted when the consumer closes", async () => {
    const adapter = await connected();
    const name = unique("inbox");
    const handle = await adapter.consume({ kind: "queue", name, ephemeral: true }, collector().options());
    expect(await adapter.native.admin.listTopics()).toContain(queueTopic(name));
    await handle.close();
    await waitFor(async () => !(await adapter.native.admin.listTopics()).includes(queueTopic(name)), {
      timeoutMs: 10_000,
    });
  }, 30_000);

  it("round-trips application headers that look like the adapter's own", async () => {
    const queue = unique("headers");
    const adapter = await connected();
    const headers = { "@id": "mine", "@@x": "y", "@due": "9999999999999", empty: "", "ü ✓": "日本" };
    const m = message({ headers, replyTo: "inbox-1", correlationId: "c", key: "" });
    await adapter.send({ kind: "queue", name: queue }, [m]);
    const c = collector();
    await adapter.consume({ kind: "queue", name: queue }, c.options());
    await waitFor(() => c.deliveries.length === 1, { timeoutMs: 20_000 });
    const got = c.deliveries[0]!.message;
    expect(got.headers).toEqual(headers);
    expect([got.id, got.key, got.replyTo, got.correlationId, got.timestamp]).toEqual([
      m.id,
      "",
      "inbox-1",
      "c",
      m.timestamp,
    ]);
  }, 30_000);
});
