import { sameIds } from "../../assert.js";
import { adapterCase } from "../../case.js";
import { queue, sendAll } from "../helpers.js";

export const backlogKept = adapterCase({
  id: "adapter/backlog",
  title: "a queue keeps messages sent before its first consumer existed",
  timeoutMs: 30_000,
  async run(ctx) {
    const producer = await ctx.connect();
    const address = queue(ctx, "backlog");
    const messages = ctx.messages(20);
    await sendAll(producer, address, messages);
    const consumer = await ctx.connect();
    const recorder = await ctx.consume(consumer, address, { autoAck: true });
    await ctx.waitUntil(
      () => recorder.received.length >= 20,
      15_000,
      () =>
        `all 20 messages sent before the first consumer must reach it; ${recorder.received.length} arrived`,
    );
    await ctx.observe(200);
    sameIds(
      recorder.ids(),
      messages.map((m) => m.id),
      "messages sent before the first consumer",
    );
  },
});

export const sendConfirmed = adapterCase({
  id: "adapter/send-confirmed",
  title: "send() resolves only once the broker has the message: closing the sender right after loses nothing",
  timeoutMs: 45_000,
  async run(ctx) {
    const address = queue(ctx, "confirmed");
    // Make the queue exist first, as a consumer would, then let it go.
    const setup = await ctx.connect();
    const warm = await ctx.consume(setup, address, { prefetch: 1 });
    await ctx.bounded(warm.handle.stop(), "warm stop()");
    await ctx.bounded(warm.handle.close(), "warm close()");
    const sent: string[] = [];
    for (let round = 0; round < 3; round++) {
      const producer = ctx.fresh();
      await producer.connect();
      const messages = ctx.messages(10, (i) => ({ headers: { round: String(round), i: String(i) } }));
      await Promise.all([
        producer.send(address, messages.slice(0, 5)),
        producer.send(address, messages.slice(5)),
      ]);
      sent.push(...messages.map((m) => m.id));
      // The sender goes away the moment send() resolved: whatever it still buffered is gone.
      await ctx.bounded(producer.close(), "producer close()");
    }
    const consumer = await ctx.connect();
    const recorder = await ctx.consume(consumer, address, { autoAck: true });
    await ctx.waitUntil(
      () => recorder.received.length >= sent.length,
      15_000,
      () =>
        `every message whose send() resolved must be on the broker; ${recorder.received.length} of ${sent.length} arrived`,
    );
    await ctx.observe(200);
    sameIds(recorder.ids(), sent, "messages whose send() resolved before the sender closed");
  },
});

export const concurrentSends = adapterCase({
  id: "adapter/concurrent-sends",
  title: "many sends in flight at once (20 calls × 50 messages): every message arrives exactly once",
  timeoutMs: 60_000,
  async run(ctx) {
    const adapter = await ctx.connect();
    const address = queue(ctx, "parallel");
    const recorder = await ctx.consume(adapter, address, { autoAck: true, prefetch: 200 });
    const calls = Array.from({ length: 20 }, (_, call) =>
      ctx.messages(50, (i) => ({ headers: { call: String(call), i: String(i) } })),
    );
    await Promise.all(calls.map((messages) => sendAll(adapter, address, messages)));
    const ids = calls.flat().map((m) => m.id);
    await ctx.waitUntil(
      () => recorder.received.length >= ids.length,
      45_000,
      () => `all ${ids.length} messages of 20 concurrent sends; ${recorder.received.length} arrived`,
    );
    await ctx.observe(300);
    sameIds(recorder.ids(), ids, "messages of 20 concurrent send() calls");
  },
});
