import type { Adapter, Source, SourceStats } from "@omnibus/core";
import { check } from "../../assert.js";
import { adapterCase, type CaseContext } from "../../case.js";
import { group, queue, sendAll, topic } from "../helpers.js";

const noStats = ({ options }: { options: { adapter: () => Adapter } }) =>
  typeof options.adapter().stats === "function" ? undefined : "the adapter has no stats()";

const show = (s: SourceStats | undefined) =>
  s === undefined ? "nothing yet" : `depth ${s.depth}, in flight ${s.inFlight ?? "not reported"}`;

/** Wait until the stats of `source` satisfy `ok`; the failure says what they were. */
async function statsUntil(
  ctx: CaseContext,
  adapter: Adapter,
  source: Source,
  ok: (s: SourceStats) => boolean,
  expected: string,
): Promise<SourceStats> {
  let last: SourceStats | undefined;
  await ctx.waitUntil(
    async () => {
      last = await adapter.stats!(source);
      check(
        Number.isInteger(last.depth) && last.depth >= 0,
        `stats().depth must be a whole number >= 0, got ${String(last.depth)}`,
      );
      check(
        last.inFlight === undefined || (Number.isInteger(last.inFlight) && last.inFlight >= 0),
        `stats().inFlight must be undefined or a whole number >= 0, got ${String(last.inFlight)}`,
      );
      if (ok(last)) return true;
      await new Promise((resolve) => setTimeout(resolve, 50)); // one broker call per 50 ms at most
      return false;
    },
    20_000,
    () => `${source.kind} ${source.name}: expected ${expected}; stats() said ${show(last)}`,
  );
  return last!;
}

const lag = (s: SourceStats) => s.depth + (s.inFlight ?? 0);

export const statsMove = adapterCase({
  id: "adapter/stats",
  title:
    "stats() reports zeros for a queue that does not exist, the depth of a backlog, the deliveries held in flight, and zeros again once all are acked",
  skip: noStats,
  timeoutMs: 90_000,
  async run(ctx) {
    const adapter = await ctx.connect();
    const q = queue(ctx, "stats");
    const none = await adapter.stats!(queue(ctx, "never"));
    check(
      none.depth === 0 && (none.inFlight ?? 0) === 0,
      `a queue never used: expected zeros, got ${show(none)}`,
    );
    // The queue exists (a consumer declared it) before the backlog is sent, as on a real system.
    const warm = await ctx.consume(adapter, q, { prefetch: 1 });
    await ctx.bounded(warm.handle.stop(), "warm stop()");
    await ctx.bounded(warm.handle.close(), "warm close()");
    const sent = ctx.messages(6);
    await sendAll(adapter, q, sent);
    await statsUntil(
      ctx,
      adapter,
      q,
      (s) => s.depth === 6 && (s.inFlight ?? 0) === 0,
      "depth 6, in flight 0",
    );
    const held = await ctx.consume(await ctx.connect(), q, { prefetch: 2 });
    await held.waitForCount(2, 20_000, "2 deliveries to the consumer with prefetch 2");
    const holding = await statsUntil(
      ctx,
      adapter,
      q,
      (s) => (s.inFlight === undefined ? s.depth === 4 || s.depth === 6 : s.depth === 4 && s.inFlight === 2),
      "depth 4 and 2 in flight (or, without in-flight counts, depth 4 or 6)",
    );
    ctx.note(`holding 2 of 6: ${show(holding)}`);
    await held.ack(held.received[0]!);
    await held.ack(held.received[1]!);
    await held.waitForCount(4, 20_000, "2 more deliveries once 2 were acked");
    for (const r of held.received.slice(2)) await held.ack(r);
    await held.waitForCount(6, 20_000, "the last 2 deliveries");
    for (const r of held.received.slice(4)) await held.ack(r);
    await statsUntil(ctx, adapter, q, (s) => lag(s) === 0, "depth 0, in flight 0 once all 6 were acked");
  },
});

export const statsGroups = adapterCase({
  id: "adapter/stats-groups",
  title:
    "stats() of a topic group counts what was published since the group exists and not yet acked by it, apart from the topic's other groups",
  skip: (env) => (env.features.fanout ? noStats(env) : "features.fanout is false"),
  timeoutMs: 90_000,
  async run(ctx) {
    const adapter = await ctx.connect();
    const address = topic(ctx, "stats");
    const billing = group(address, "billing");
    const audit = group(address, "audit");
    await adapter.ensureGroup!(address.name, "billing");
    await adapter.ensureGroup!(address.name, "audit");
    await statsUntil(ctx, adapter, billing, (s) => lag(s) === 0, "a new group's lag 0");
    await sendAll(adapter, address, ctx.messages(5));
    await statsUntil(ctx, adapter, billing, (s) => lag(s) === 5, "lag 5 after 5 published");
    await statsUntil(ctx, adapter, audit, (s) => lag(s) === 5, "lag 5 after 5 published");
    const consumer = await ctx.consume(await ctx.connect(), billing, { autoAck: true });
    await consumer.waitForCount(5, 20_000, "5 deliveries to group billing");
    await statsUntil(ctx, adapter, billing, (s) => lag(s) === 0, "lag 0 once its 5 were acked");
    const other = await adapter.stats!(audit);
    check(lag(other) === 5, `group audit consumed nothing: expected lag 5, got ${show(other)}`);
  },
});
