import { check, equal, sameIds } from "../../assert.js";
import { adapterCase } from "../../case.js";
import { queue, sendAll } from "../helpers.js";

export const stopHalts = adapterCase({
  id: "adapter/stop",
  title:
    "after stop() no new deliveries arrive, and the deliveries already handed out can still be acked and nacked",
  timeoutMs: (env) => 45_000 + env.options.redeliveryAfterMs,
  async run(ctx) {
    const adapter = await ctx.connect();
    const address = queue(ctx, "stop");
    await sendAll(adapter, address, ctx.messages(10));
    const recorder = await ctx.consume(adapter, address, { prefetch: 4 });
    await recorder.waitForCount(4, 15_000, "a backlog of 10 with prefetch 4");
    await ctx.bounded(recorder.handle.stop(), "recorder stop()");
    const atStop = recorder.received.length;
    const [a, b, c] = recorder.received as [any, any, any];
    await recorder.ack(a);
    await recorder.ack(b);
    await recorder.nack(c);
    await sendAll(adapter, address, ctx.messages(5));
    await ctx.observe(800);
    check(
      recorder.received.length === atStop,
      () => `${recorder.received.length - atStop} deliveries arrived after stop() resolved`,
    );
    // The acks after stop() held: a new consumer gets neither acked message, but gets the nacked one.
    const next = await ctx.consume(await ctx.connect(), address, { autoAck: true });
    await ctx.waitUntil(
      () => next.ids().includes(c.message.id),
      ctx.options.redeliveryBoundMs + 10_000,
      () => "the delivery nacked after stop() did not come back to another consumer",
    );
    await ctx.bounded(recorder.handle.close(), "recorder close()");
    await ctx.waitUntil(
      () => next.received.length >= 10 + 5 - 2,
      ctx.options.redeliveryAfterMs + ctx.options.redeliveryBoundMs + 15_000,
      () => `the 13 messages not acked must reach the next consumer; ${next.received.length} did`,
    );
    await ctx.observe(300);
    check(!next.ids().includes(a.message.id), "a delivery acked after stop() came back");
    check(!next.ids().includes(b.message.id), "a delivery acked after stop() came back");
    equal(next.of(c.message.id)[0]!.message.attempt, 2, "attempt of the delivery nacked after stop()");
  },
});

export const stopReleases = adapterCase({
  id: "adapter/stop-releases",
  title:
    "stop() releases what was fetched and not handed out: another consumer gets the backlog while the first stays open",
  timeoutMs: 45_000,
  async run(ctx) {
    const producer = await ctx.connect();
    const address = queue(ctx, "release");
    const messages = ctx.messages(40);
    await sendAll(producer, address, messages);
    const first = await ctx.consume(await ctx.connect(), address, { prefetch: 3 });
    await first.waitForCount(3, 15_000, "a backlog of 40 with prefetch 3");
    await ctx.bounded(first.handle.stop(), "stop()");
    const held = new Set(first.ids());
    // Its handlers finish after stop(): the acks free prefetch slots, which must not be refilled.
    for (const r of first.received) await first.ack(r);
    // Everything the stopped consumer did not hand out must be available to others: while it
    // stays open, or — where a consumer owns its partitions until it closes — once it closed.
    const second = await ctx.consume(await ctx.connect(), address, { autoAck: true, prefetch: 50 });
    const owns = ctx.options.ownsPartitions;
    if (owns) await ctx.bounded(first.handle.close(), "close() of the stopped consumer");
    const rest = messages.map((m) => m.id).filter((id) => !held.has(id));
    await ctx.waitUntil(
      () => rest.every((id) => second.ids().includes(id)),
      ctx.options.redeliveryBoundMs + (owns ? ctx.options.redeliveryAfterMs : 0) + 10_000,
      () =>
        `the ${rest.length} messages the stopped consumer never handed out must reach another consumer ${
          owns ? "once it closed" : "while it stays open"
        }; ${rest.filter((id) => second.ids().includes(id)).length} did`,
    );
    for (const r of first.received) await first.ack(r);
    await ctx.observe(300);
    sameIds(
      [...first.ids(), ...second.ids()],
      messages.map((m) => m.id),
      "messages across the stopped and the second consumer",
    );
  },
});
