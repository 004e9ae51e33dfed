import { INBOX_PREFIX } from "@omnibus/core";
import { check } from "../../assert.js";
import { adapterCase } from "../../case.js";

export const ephemeralDeleted = adapterCase({
  id: "adapter/ephemeral",
  title: "an ephemeral queue is gone with its messages once its consumer closed",
  timeoutMs: 30_000,
  async run(ctx) {
    const name = `${INBOX_PREFIX}${ctx.name("eph")}`;
    const source = { kind: "queue" as const, name, ephemeral: true };
    const owner = ctx.fresh();
    await owner.connect();
    const recorder = await ctx.consume(owner, source, { prefetch: 1 });
    const sender = await ctx.connect();
    const messages = ctx.messages(3);
    await sender.send({ kind: "queue", name }, messages);
    await recorder.waitForCount(1, 10_000, "a message sent to the ephemeral queue");
    // One delivery unsettled, two still queued: the close must take them all away.
    await ctx.bounded(recorder.handle.stop(), "recorder stop()");
    await ctx.bounded(recorder.handle.close(), "recorder close()");
    const again = await ctx.consume(await ctx.connect(), source, { autoAck: true });
    await ctx.observe(1_000);
    const leftover = again.ids().filter((id) => messages.some((m) => m.id === id));
    check(
      leftover.length === 0,
      `${leftover.length} messages of a closed ephemeral queue were delivered to a new consumer of that name: the queue was not deleted`,
    );
  },
});
