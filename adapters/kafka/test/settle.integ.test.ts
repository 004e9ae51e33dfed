import { type Delivery, type OutboundMessage, UnsupportedFeatureError } from "@omnibus/core";
import { waitFor } from "@omnibus/core/testing";
import { afterEach, describe, expect, it } from "vitest";
import { Header, toRecord } from "../src/codec.js";
import type { ConsumerContext } from "../src/consumer.js";
import { hashId } from "../src/partitioner.js";
import { closeAll, collector, connected, message, unique } from "./helpers.js";

afterEach(closeAll);

const queue = (name: string) => ({ kind: "queue", name }) as const;

describe("kafka adapter: settling", () => {
  it("a stopped member keeps only what it has deliveries of: its nack's copy reaches the next member while it stays open", async () => {
    const name = unique("stopnack");
    // Two messages of one partition, the first one's nack copy hashing to that partition too: the
    // one partition the stopped member keeps (it still holds the second message).
    const partitionOf = (m: OutboundMessage, attempt = 1) =>
      hashId(toRecord(m, Date.now(), { attempt }).headers![Header.meta] as string) % 3;
    let nackedMessage: OutboundMessage;
    let heldMessage: OutboundMessage;
    for (;;) {
      nackedMessage = message();
      if (partitionOf(nackedMessage) !== partitionOf(nackedMessage, 2)) continue;
      heldMessage = message();
      while (partitionOf(heldMessage) !== partitionOf(nackedMessage)) heldMessage = message();
      break;
    }
    const producer = await connected();
    await producer.send(queue(name), [nackedMessage, heldMessage]);
    const first = collector({ autoAck: false });
    const stopped = await (await connected()).consume(queue(name), first.options(6));
    await waitFor(() => first.deliveries.length === 2, { timeoutMs: 20_000 });
    const [nacked, held] = first.deliveries as [Delivery, Delivery];
    await stopped.stop();
    await nacked.nack();
    const next = collector();
    await (await connected()).consume(queue(name), next.options());
    // The copy went to a partition the stopped member gave up; the held delivery's partition
    // stays with it (no second consumer gets a message a live one still holds).
    await waitFor(() => next.ids().includes(nackedMessage.id), { timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 1000));
    expect(next.ids()).toEqual([nackedMessage.id]);
    expect(held.message.id).toBe(heldMessage.id);
    await held.ack();
    await stopped.close();
  }, 60_000);

  it("a nack after the consumer closed writes no copy: the record comes back once", async () => {
    const name = unique("latenack");
    const producer = await connected();
    const m = message();
    await producer.send(queue(name), [m]);
    const first = collector({ autoAck: false });
    const handle = await (await connected()).consume(queue(name), first.options(5));
    await waitFor(() => first.deliveries.length === 1, { timeoutMs: 20_000 });
    await handle.close();
    await first.deliveries[0]!.nack();
    const second = collector();
    await (await connected()).consume(queue(name), second.options());
    await waitFor(() => second.deliveries.length >= 1, { timeoutMs: 20_000 });
    const marker = message();
    await producer.send(queue(name), [marker]);
    await waitFor(() => second.ids().includes(marker.id), { timeoutMs: 20_000 });
    expect(second.deliveries.map((d) => [d.message.id, d.message.attempt])).toEqual([
      [m.id, 2],
      [marker.id, 1],
    ]);
  }, 60_000);

  it("a nack whose copy fails to be written is written again: the record comes back and commits move on (issue 16)", async () => {
    const name = unique("failcopy");
    const adapter = await connected({ commitIntervalMs: 200 });
    const m = message();
    await adapter.send(queue(name), [m]);
    const got = collector({ autoAck: false });
    await adapter.consume(queue(name), got.options(5));
    await waitFor(() => got.deliveries.length === 1, { timeoutMs: 20_000 });
    // The broker refuses the first copy (as a produce timing out while a broker is away would).
    const ctx = (adapter as unknown as { context: ConsumerContext }).context;
    const republish = ctx.republish.bind(ctx);
    let tries = 0;
    (ctx as { republish: ConsumerContext["republish"] }).republish = (...args) =>
      ++tries === 1 ? Promise.reject(new Error("copy refused")) : republish(...args);
    await expect(got.deliveries[0]!.nack()).rejects.toThrow("copy refused");
    await waitFor(() => got.deliveries.length === 2, {
      timeoutMs: 10_000,
      message: () => `the nacked record did not come back (copies tried: ${tries})`,
    });
    expect([got.deliveries[1]!.message.id, got.deliveries[1]!.message.attempt]).toEqual([m.id, 2]);
    await got.deliveries[1]!.ack();
    // Nothing holds the partition's commit point: the group's lag drains to 0.
    const source = { kind: "queue", name } as const;
    await waitFor(async () => (await adapter.stats!(source)).depth === 0, {
      timeoutMs: 15_000,
      message: "the group's lag never drained",
    });
  }, 60_000);

  it("a nack longer than maxDelayMs is honoured in hops, not shortened; a send that long is refused", async () => {
    const name = unique("longnack");
    const adapter = await connected({ maxDelayMs: 1000 });
    await expect(adapter.send(queue(name), [message({ delayMs: 1001 })])).rejects.toBeInstanceOf(
      UnsupportedFeatureError,
    );
    const arrivals: Array<{ attempt: number; at: number }> = [];
    let nackedAt = 0;
    await adapter.consume(queue(name), {
      prefetch: 5,
      onDelivery: (d) => {
        arrivals.push({ attempt: d.message.attempt, at: Date.now() });
        if (arrivals.length === 1) {
          nackedAt = Date.now();
          void d.nack({ delayMs: 3500 });
        } else void d.ack();
      },
      onError: () => {},
    });
    await adapter.send(queue(name), [message()]);
    await waitFor(() => arrivals.length >= 2, { timeoutMs: 20_000 });
    expect(arrivals[1]!.attempt).toBe(2);
    expect(arrivals[1]!.at - nackedAt).toBeGreaterThanOrEqual(3500 - 5);
    await new Promise((r) => setTimeout(r, 500));
    expect(arrivals).toHaveLength(2);
  }, 60_000);
});
