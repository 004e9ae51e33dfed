import { DeadLetterError, type DestinationStats } from "@omnibus/core";
import { check } from "../../assert.js";
import { clientCase } from "../../case.js";

const show = (s: DestinationStats | undefined) =>
  s === undefined
    ? "nothing yet"
    : `depth ${s.depth}, in flight ${s.inFlight ?? "not reported"}, lag ${s.lag}, dead letters ${s.deadLetters}`;

export const clientStats = clientCase({
  id: "client/stats",
  title:
    "client.stats() reports a backlog as depth and lag, zero lag once it is handled, and the dead-letter queue's depth",
  skip: ({ options }) =>
    typeof options.adapter().stats === "function" ? undefined : "the adapter has no stats()",
  timeoutMs: 90_000,
  async run(ctx) {
    const bus = await ctx.client();
    const queue = ctx.name("cstats");
    const empty = await bus.stats(queue);
    check(
      empty.lag === 0 && empty.deadLetters === 0,
      `a queue never used: expected lag 0 and no dead letters, got ${show(empty)}`,
    );
    // Declare the queue with a consumer first (a broker may drop what is sent to a queue nobody declared).
    const warm = await bus.consume(queue, () => {
      throw new Error("the warm-up consumer must not get anything");
    });
    await warm.close();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await bus.send(queue, { i }));
    const doomed = new Set(ids.slice(0, 2));
    let last: DestinationStats | undefined;
    const until = async (ok: (s: DestinationStats) => boolean, expected: string) =>
      ctx.waitUntil(
        async () => {
          last = await bus.stats(queue);
          if (ok(last)) return true;
          await new Promise((resolve) => setTimeout(resolve, 50));
          return false;
        },
        20_000,
        () => `queue ${queue}: expected ${expected}; client.stats() said ${show(last)}`,
      );
    await until(
      (s) => s.lag === 5 && s.depth === 5 && s.deadLetters === 0,
      "depth 5, lag 5, no dead letters",
    );
    const handled = new Set<string>();
    await bus.consume(queue, (m) => {
      if (doomed.has(m.id)) throw new DeadLetterError("conformance: dead-letter this one");
      handled.add(m.id);
    });
    await ctx.waitUntil(
      () => handled.size === 3,
      20_000,
      () => `handled ${handled.size} of 3`,
    );
    await until((s) => s.lag === 0 && s.deadLetters === 2, "lag 0 and 2 dead letters");
    check(
      last!.deadLetterQueue === `${queue}.dlq`,
      `deadLetterQueue: expected ${queue}.dlq, got ${last!.deadLetterQueue}`,
    );
  },
});
