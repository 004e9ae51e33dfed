import { type Client, idempotency, memoryIdempotencyStore, shortId } from "@omnibus/core";
import { equal, within } from "../../assert.js";
import { clientCase } from "../../case.js";
import { FAST_RETRY } from "../../context.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const clientIdempotency = clientCase({
  id: "client/idempotency",
  title:
    "idempotency: with every id sent twice, and slow copies in flight at once on two consumers, each id is handled once",
  timeoutMs: 60_000,
  async run(ctx) {
    const store = memoryIdempotencyStore();
    const handled = new Map<string, number>();
    const queue = ctx.name("idem");
    const consumers: Client[] = [];
    for (let i = 0; i < 2; i++) {
      const bus = await ctx.client({
        use: [idempotency({ store, retryDelayMs: 50 })],
        retry: { ...FAST_RETRY, maxAttempts: 50 },
      });
      consumers.push(bus);
      await bus.consume(
        queue,
        async (m) => {
          handled.set(m.id, (handled.get(m.id) ?? 0) + 1);
          await sleep((m.body as { slow?: boolean }).slow ? 200 : 1);
        },
        { concurrency: 8 },
      );
    }
    const producer = await ctx.client();
    const ids = Array.from({ length: 50 }, () => `idem-${shortId()}`);
    await producer.sendBatch(
      queue,
      [...ids, ...ids].map((id) => ({ id, body: { id } })),
    );
    const slow = Array.from({ length: 5 }, () => `slow-${shortId()}`);
    await producer.sendBatch(
      queue,
      slow.flatMap((id) => [
        { id, body: { slow: true } },
        { id, body: { slow: true } },
      ]),
    );
    await ctx.waitUntil(
      () => [...ids, ...slow].every((id) => handled.has(id)),
      30_000,
      () => `${handled.size} of 55 ids handled`,
    );
    let last = -1;
    await ctx.waitUntil(
      () => {
        const total = [...handled.values()].reduce((a, b) => a + b, 0);
        const quiet = total === last;
        last = total;
        return quiet;
      },
      30_000,
      () => "the consumers never went quiet",
    );
    await ctx.observe(500);
    for (const id of [...ids, ...slow]) equal(handled.get(id), 1, `handler runs for id ${id}`);
  },
});

export const clientIdempotencyRelease = clientCase({
  id: "client/idempotency-release",
  title:
    "idempotency: a failed handler releases its claim, so the retry runs promptly, not after the lock expires",
  timeoutMs: 40_000,
  async run(ctx) {
    const bus = await ctx.client({
      use: [idempotency({ store: memoryIdempotencyStore(), lockMs: 20_000, retryDelayMs: 20_000 })],
    });
    const queue = ctx.name("release");
    const at: number[] = [];
    await bus.consume(queue, (m) => {
      at.push(Date.now());
      if (m.attempt === 1) throw new Error("fails once");
    });
    await bus.send(queue, 1);
    await ctx.waitUntil(
      () => at.length >= 2,
      15_000,
      () => `the retry after a failure did not run (${at.length} run)`,
    );
    within(
      at[1]! - at[0]!,
      0,
      20 + ctx.t(ctx.options.redeliveryBoundMs),
      "time from the failure to the retry under idempotency (backoff 20 ms)",
    );
  },
});
