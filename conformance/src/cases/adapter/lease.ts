import { check } from "../../assert.js";
import { adapterCase } from "../../case.js";
import { queue } from "../helpers.js";

/** How long the case holds a delivery: three leases, or 3 s where the adapter has none. */
const holdMs = (leaseMs: number | undefined) => (leaseMs === undefined ? 3_000 : 3 * leaseMs);

export const leaseHeld = adapterCase({
  id: "adapter/lease",
  title:
    "a delivery held unsettled by a live consumer for three leases is not handed to another consumer (the adapter extends its lease)",
  timeoutMs: (env) => 30_000 + holdMs(env.options.leaseMs),
  async run(ctx) {
    const address = queue(ctx, "lease");
    const holder = await ctx.consume(await ctx.connect(), address, { prefetch: 1 });
    const producer = await ctx.connect();
    const m = ctx.message();
    await producer.send(address, [m]);
    await holder.waitForCount(1, 15_000, "the message");
    // A competitor joins while the delivery is held; it must not get it while the holder lives.
    const rival = await ctx.consume(await ctx.connect(), address, { prefetch: 10, autoAck: true });
    const hold = holdMs(ctx.options.leaseMs);
    await ctx.observe(hold);
    check(
      rival.of(m.id).length === 0,
      `a delivery held for ${ctx.t(hold)} ms by a live consumer was handed to another consumer (lease: ${
        ctx.options.leaseMs === undefined ? "none declared" : `${ctx.options.leaseMs} ms`
      })`,
    );
    check(holder.of(m.id).length === 1, `the holder got its held delivery ${holder.of(m.id).length} times`);
    await holder.ack(holder.received[0]!);
    await ctx.observe(500);
    check(rival.of(m.id).length === 0, "the held delivery reached another consumer after it was acked");
  },
});
