import { check, sameIds } from "../../assert.js";
import { adapterCase } from "../../case.js";
import { queue, sendAll } from "../helpers.js";

export const priority = adapterCase({
  id: "adapter/priority",
  title: "from a backlog, higher-priority messages are delivered first",
  skip: ({ features }) => (features.priority ? undefined : "features.priority is false"),
  timeoutMs: 45_000,
  async run(ctx) {
    const adapter = await ctx.connect();
    const address = queue(ctx, "prio");
    // Let the queue exist (declared with priorities) before the backlog builds up.
    const warm = await ctx.consume(adapter, address, { autoAck: true });
    const w = ctx.message({ priority: 0 });
    await adapter.send(address, [w]);
    await warm.waitForCount(1, 15_000, "the first message");
    await ctx.bounded(warm.handle.stop(), "warm stop()");
    await ctx.bounded(warm.handle.close(), "warm close()");
    const low = ctx.messages(20, () => ({ priority: 0 }));
    const high = ctx.messages(20, () => ({ priority: adapter.features.maxPriority }));
    await sendAll(adapter, address, low);
    await sendAll(adapter, address, high);
    const recorder = await ctx.consume(adapter, address, { prefetch: 1 });
    await ctx.waitUntil(
      async () => {
        for (const r of recorder.received) if (r.settled === undefined) await recorder.ack(r);
        return recorder.received.length >= 40;
      },
      20_000,
      () => `40 messages of the backlog; ${recorder.received.length} arrived`,
    );
    const highIds = new Set(high.map((m) => m.id));
    const firstHalf = recorder
      .ids()
      .slice(0, 20)
      .filter((id) => highIds.has(id)).length;
    check(
      firstHalf >= 18,
      `of the first 20 messages delivered, ${firstHalf} had the high priority (expected at least 18 of 20)`,
    );
    sameIds(
      recorder.ids(),
      [...low, ...high].map((m) => m.id),
      "messages of the backlog",
    );
  },
});
