import { check, equal } from "../../assert.js";
import { adapterCase } from "../../case.js";
import { queue, sendAll } from "../helpers.js";

export const settleOnce = adapterCase({
  id: "adapter/settle-once",
  title:
    "settling a delivery twice is harmless: a double ack frees one prefetch slot, a nack after an ack and an ack after a nack change nothing",
  timeoutMs: 45_000,
  async run(ctx) {
    const adapter = await ctx.connect();
    const address = queue(ctx, "twice");
    const messages = ctx.messages(4);
    await sendAll(adapter, address, messages);
    const recorder = await ctx.consume(adapter, address, { prefetch: 2 });
    await recorder.waitForCount(2, 15_000, "a backlog of 4 with prefetch 2");
    const [first, second] = recorder.received as [
      (typeof recorder.received)[number],
      (typeof recorder.received)[number],
    ];
    // Double ack of the first: exactly one slot frees up.
    await first.delivery.ack();
    await first.delivery.ack();
    first.settled = "ack";
    await recorder.waitForCount(3, 15_000, "after acking one delivery (twice)");
    await ctx.observe(500);
    check(
      recorder.received.length === 3,
      () =>
        `a double ack must free one prefetch slot: expected 3 deliveries with prefetch 2, got ${recorder.received.length}`,
    );
    // Nack the second, then ack and nack it again: it comes back exactly once, with attempt 2.
    await second.delivery.nack();
    await second.delivery.ack();
    await second.delivery.nack();
    second.settled = "nack";
    // The third: ack, then a late nack that must not bring it back.
    const third = recorder.received[2]!;
    await third.delivery.ack();
    await third.delivery.nack();
    third.settled = "ack";
    await ctx.waitUntil(
      async () => {
        for (const r of recorder.received) if (r.settled === undefined) await recorder.ack(r);
        return recorder.received.length >= 5;
      },
      15_000,
      () => `4 messages + 1 redelivery of the nacked one; ${recorder.received.length} deliveries`,
    );
    await ctx.observe(800);
    for (const r of recorder.received) if (r.settled === undefined) await recorder.ack(r);
    const count = (id: string) => recorder.of(id).length;
    equal(count(first.message.id), 1, "deliveries of the message acked twice");
    equal(count(second.message.id), 2, "deliveries of the message nacked, then acked and nacked again");
    equal(count(third.message.id), 1, "deliveries of the message acked, then nacked");
    equal(
      recorder.of(second.message.id)[1]!.message.attempt,
      2,
      "attempt of the nacked message's redelivery",
    );
    equal(recorder.received.length, 5, "deliveries in all (4 messages, one nacked once)");
  },
});

export const ackIsolated = adapterCase({
  id: "adapter/ack-isolated",
  title:
    "acking one delivery settles no other: after a close, the earlier unsettled ones come back and the acked one does not",
  timeoutMs: (env) => 45_000 + env.options.redeliveryAfterMs,
  async run(ctx) {
    const address = queue(ctx, "isolated");
    const producer = await ctx.connect();
    const messages = ctx.messages(5);
    await sendAll(producer, address, messages);
    const first = await ctx.consume(await ctx.connect(), address, { prefetch: 10 });
    await first.waitForCount(5, 15_000, "5 messages");
    await ctx.observe(200);
    const last = first.received[first.received.length - 1]!;
    await first.ack(last);
    await ctx.bounded(first.handle.stop(), "first stop()");
    await ctx.bounded(first.handle.close(), "first close()");
    const rescuer = await ctx.consume(await ctx.connect(), address, { autoAck: true });
    const others = first.received.filter((r) => r !== last).map((r) => r.message.id);
    await ctx.waitUntil(
      () => others.every((id) => rescuer.ids().includes(id)),
      ctx.options.redeliveryAfterMs + ctx.options.redeliveryBoundMs + 10_000,
      () =>
        `the ${others.length} deliveries left unsettled at close must come back; ${
          others.filter((id) => rescuer.ids().includes(id)).length
        } did (an ack of the last one must not settle them)`,
    );
    await ctx.observe(500);
    check(!rescuer.ids().includes(last.message.id), "the acked message came back after the consumer closed");
  },
});
