import { check, sameIds } from "../../assert.js";
import { adapterCase } from "../../case.js";
import { queue, sendAll } from "../helpers.js";

export const prefetchBound = adapterCase({
  id: "adapter/prefetch",
  title:
    "a consumer never holds more than prefetch unsettled deliveries, and one ack lets exactly one more in",
  timeoutMs: 45_000,
  async run(ctx) {
    const adapter = await ctx.connect();
    const address = queue(ctx, "prefetch");
    const messages = ctx.messages(30);
    await sendAll(adapter, address, messages);
    const recorder = await ctx.consume(adapter, address, { prefetch: 5 });
    const count = () => recorder.received.length;
    await recorder.waitForCount(5, 15_000, "a backlog of 30 with prefetch 5");
    await ctx.observe(500);
    check(
      count() === 5,
      () => `with prefetch 5 and nothing settled, exactly 5 deliveries may arrive; ${count()} did`,
    );
    await recorder.ack(recorder.received[0]!);
    await recorder.ack(recorder.received[1]!);
    await ctx.observe(1_000);
    check(
      count() <= 7,
      () => `after 2 acks at most 2 more deliveries may arrive (7 in all) with prefetch 5; ${count()} did`,
    );
    // Drain the rest, settling as they come, and check the bound held throughout.
    await ctx.waitUntil(
      async () => {
        for (const r of recorder.received) if (r.settled === undefined) await recorder.ack(r);
        return recorder.received.length >= 30;
      },
      20_000,
      () => `all 30 messages while acking; ${recorder.received.length} arrived`,
    );
    check(
      recorder.maxUnsettled <= 5,
      () => `${recorder.maxUnsettled} deliveries were unsettled at once with prefetch 5`,
    );
    sameIds(
      recorder.ids(),
      messages.map((m) => m.id),
      "messages of the backlog",
    );
  },
});
