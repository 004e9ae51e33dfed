import { check, equal } from "../../assert.js";
import { adapterCase } from "../../case.js";
import { queue, sendAll } from "../helpers.js";

export const closeReleases = adapterCase({
  id: "adapter/close-releases",
  title:
    "closing a consumer with unsettled deliveries gives them back to another consumer with attempt + 1; acked ones stay gone",
  timeoutMs: (env) => 45_000 + env.options.redeliveryAfterMs,
  async run(ctx) {
    const address = queue(ctx, "closerel");
    const producer = await ctx.connect();
    const messages = ctx.messages(6);
    await sendAll(producer, address, messages);
    const first = await ctx.consume(await ctx.connect(), address, { prefetch: 6 });
    await first.waitForCount(6, 15_000, "6 messages");
    const acked = first.received.slice(0, 3);
    for (const r of acked) await first.ack(r);
    const unsettled = first.received.slice(3).map((r) => r.message.id);
    await ctx.bounded(first.handle.stop(), "first stop()");
    await ctx.bounded(first.handle.close(), "first close()");
    const second = await ctx.consume(await ctx.connect(), address, { autoAck: true });
    await ctx.waitUntil(
      () => unsettled.every((id) => second.ids().includes(id)),
      ctx.options.redeliveryAfterMs + ctx.options.redeliveryBoundMs + 10_000,
      () =>
        `the 3 deliveries unsettled at close must come back; ${unsettled.filter((id) => second.ids().includes(id)).length} did`,
    );
    await ctx.observe(500);
    for (const r of acked)
      check(!second.ids().includes(r.message.id), "a message acked before close came back");
    for (const id of unsettled)
      equal(second.of(id)[0]!.message.attempt, 2, "attempt of a delivery released by close");
  },
});

export const crashAttempts = adapterCase({
  id: "adapter/crash",
  title:
    "a consumer whose adapter closes without settling loses nothing: its deliveries come back, attempt growing with every death",
  timeoutMs: (env) => 60_000 + 2 * env.options.redeliveryAfterMs,
  async run(ctx) {
    const address = queue(ctx, "crash");
    const producer = await ctx.connect();
    const messages = ctx.messages(3);
    await sendAll(producer, address, messages);
    const ids = messages.map((m) => m.id);
    const wait = ctx.options.redeliveryAfterMs + ctx.options.redeliveryBoundMs + 10_000;
    for (const expectedAttempt of [1, 2]) {
      // A consumer takes everything, settles nothing, and its connection goes away.
      const victim = ctx.fresh();
      await victim.connect();
      const recorder = await ctx.consume(victim, address, { prefetch: 10 });
      await ctx.waitUntil(
        () => ids.every((id) => recorder.ids().includes(id)),
        wait,
        () => `consumer ${expectedAttempt} must get all 3 messages; it got ${recorder.received.length}`,
      );
      for (const r of recorder.received)
        equal(r.message.attempt, expectedAttempt, `attempt after ${expectedAttempt - 1} consumer death(s)`);
      await ctx.bounded(victim.close(), "victim close()");
    }
    const survivor = await ctx.consume(await ctx.connect(), address, { autoAck: true });
    await ctx.waitUntil(
      () => ids.every((id) => survivor.ids().includes(id)),
      wait,
      () => `after two consumer deaths the 3 messages must come back; ${survivor.received.length} did`,
    );
    for (const r of survivor.received) equal(r.message.attempt, 3, "attempt after two consumer deaths");
  },
});

export const closeIdempotent = adapterCase({
  id: "adapter/close-twice",
  title: "stop() and close() of a consumer, and close() of the adapter, may each be called twice",
  timeoutMs: 30_000,
  async run(ctx) {
    const adapter = ctx.fresh();
    await adapter.connect();
    const recorder = await ctx.consume(adapter, queue(ctx, "twice"));
    await ctx.bounded(recorder.handle.stop(), "recorder stop()");
    await ctx.bounded(recorder.handle.stop(), "recorder stop()");
    await ctx.bounded(recorder.handle.close(), "recorder close()");
    await ctx.bounded(recorder.handle.close(), "recorder close()");
    await ctx.bounded(adapter.close(), "adapter close()");
    await ctx.bounded(adapter.close(), "adapter close()");
  },
});
