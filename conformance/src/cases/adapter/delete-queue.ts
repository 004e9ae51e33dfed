import { check, sameIds } from "../../assert.js";
import { adapterCase } from "../../case.js";
import { queue, sendAll } from "../helpers.js";

export const deleteQueue = adapterCase({
  id: "adapter/delete-queue",
  title:
    "deleteQueue() removes a queue with its messages; the adapter then sends to it and to other queues as before",
  skip: ({ options }) =>
    typeof options.adapter().deleteQueue === "function" ? undefined : "the adapter has no deleteQueue()",
  timeoutMs: 60_000,
  async run(ctx) {
    const adapter = await ctx.connect();
    const doomed = queue(ctx, "doomed");
    const other = queue(ctx, "other");
    const warm = await ctx.consume(adapter, doomed, { prefetch: 1 });
    await ctx.bounded(warm.handle.stop(), "warm stop()");
    await ctx.bounded(warm.handle.close(), "warm close()");
    const old = ctx.messages(3);
    await sendAll(adapter, doomed, old);
    await adapter.deleteQueue!(doomed.name);
    const fresh = ctx.messages(2);
    await sendAll(adapter, other, fresh);
    const again = ctx.messages(2);
    await sendAll(adapter, doomed, again);
    const onOther = await ctx.consume(adapter, other, { autoAck: true });
    const onDoomed = await ctx.consume(await ctx.connect(), doomed, { autoAck: true });
    await ctx.waitUntil(
      () => onOther.received.length >= 2 && again.every((m) => onDoomed.ids().includes(m.id)),
      30_000,
      () =>
        `after deleteQueue: the other queue got ${onOther.received.length} of 2; the re-created queue got ${
          again.filter((m) => onDoomed.ids().includes(m.id)).length
        } of 2 sent after the delete`,
    );
    await ctx.observe(500);
    const survivors = old.filter((m) => onDoomed.ids().includes(m.id)).length;
    check(survivors === 0, `${survivors} messages sent before deleteQueue() were still delivered`);
    sameIds(
      onOther.ids(),
      fresh.map((m) => m.id),
      "messages of the other queue",
    );
  },
});
