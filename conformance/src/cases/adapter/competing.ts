import { check, sameIds } from "../../assert.js";
import { adapterCase } from "../../case.js";
import { queue, sendAll } from "../helpers.js";

export const competing = adapterCase({
  id: "adapter/competing",
  title: "two consumers of one queue on two connections: each message reaches exactly one of them",
  timeoutMs: 60_000,
  async run(ctx) {
    const address = queue(ctx, "compete");
    const a = await ctx.consume(await ctx.connect(), address, { autoAck: true, prefetch: 10 });
    const b = await ctx.consume(await ctx.connect(), address, { autoAck: true, prefetch: 10 });
    const producer = await ctx.connect();
    const messages = ctx.messages(300);
    await sendAll(producer, address, messages);
    const all = () => [...a.ids(), ...b.ids()];
    await ctx.waitUntil(
      () => all().length >= messages.length,
      45_000,
      () =>
        `all 300 messages across both consumers; ${all().length} arrived (${a.received.length} + ${b.received.length})`,
    );
    await ctx.observe(300);
    sameIds(
      all(),
      messages.map((m) => m.id),
      "messages across two competing consumers",
    );
    const overlap = a.ids().filter((id) => b.ids().includes(id));
    check(overlap.length === 0, `${overlap.length} messages reached both consumers`);
  },
});
