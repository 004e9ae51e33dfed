import { equal } from "../../assert.js";
import { adapterCase } from "../../case.js";
import { bytes, queue, sendAll, text } from "../helpers.js";

export const ordering = adapterCase({
  id: "adapter/ordering",
  title:
    "messages with the same key reach one consumer in send order (first deliveries; 200 messages over 8 keys)",
  skip: ({ features }) => (features.orderingByKey ? undefined : "features.orderingByKey is false"),
  timeoutMs: 60_000,
  async run(ctx) {
    const adapter = await ctx.connect();
    const address = queue(ctx, "order");
    const recorder = await ctx.consume(adapter, address, { autoAck: true, prefetch: 50 });
    // Keys in runs of 5, interleaved: a reordering of neighbours shows within a key.
    const messages = ctx.messages(200, (n) => ({
      key: `key-${Math.floor(n / 5) % 8}`,
      body: bytes(String(n)),
    }));
    for (let i = 0; i < messages.length; i += 25) await sendAll(adapter, address, messages.slice(i, i + 25));
    await ctx.waitUntil(
      () => new Set(recorder.ids()).size >= 200,
      45_000,
      () => `all 200 messages; ${new Set(recorder.ids()).size} arrived`,
    );
    for (let k = 0; k < 8; k++) {
      const key = `key-${k}`;
      const expected = messages.filter((m) => m.key === key).map((m) => text(m.body));
      const got = recorder.received
        .filter((r) => r.message.key === key && r.message.attempt === 1)
        .map((r) => text(r.message.body));
      equal(got, expected, `order of the first deliveries of ${key}`);
    }
  },
});
