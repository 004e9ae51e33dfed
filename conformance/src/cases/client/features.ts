import { ErrorCode } from "@omnibus/core";
import { afterDelay, check, equal, failsWith } from "../../assert.js";
import { clientCase } from "../../case.js";

export const clientOrdering = clientCase({
  id: "client/ordering",
  title:
    "ordering by key: with one consumer, 1,000 messages over 16 keys reach the handlers in send order per key, also with concurrency 8",
  skip: ({ features }) => (features.orderingByKey ? undefined : "features.orderingByKey is false"),
  timeoutMs: 90_000,
  async run(ctx) {
    const bus = await ctx.client();
    const queue = ctx.name("order");
    const seen = new Map<string, number[]>();
    const running = new Set<string>();
    let overlap: string | undefined;
    let count = 0;
    await bus.consume(
      queue,
      async (m) => {
        const { k, n } = m.body as { k: string; n: number };
        if (running.has(k)) overlap ??= k;
        running.add(k);
        await new Promise((resolve) => setTimeout(resolve, n % 3));
        running.delete(k);
        if (m.attempt !== 1) return;
        seen.set(k, [...(seen.get(k) ?? []), n]);
        count++;
      },
      { concurrency: 8 },
    );
    // Keys in runs of 4, interleaved: a reordering of neighbours shows within a key.
    const keyOf = (n: number) => `key-${Math.floor(n / 4) % 16}`;
    const items = Array.from({ length: 1000 }, (_, n) => ({ body: { k: keyOf(n), n }, key: keyOf(n) }));
    for (let i = 0; i < items.length; i += 100) await bus.sendBatch(queue, items.slice(i, i + 100));
    await ctx.waitUntil(
      () => count >= 1000,
      60_000,
      () => `1,000 messages; ${count} handled`,
    );
    check(overlap === undefined, `two messages of ${overlap} ran at once: a key's handlers must not overlap`);
    equal(seen.size, 16, "keys seen");
    for (const [k, list] of seen) {
      const expected = items.filter((item) => item.key === k).map((item) => item.body.n);
      equal(list, expected, `handling order of ${k}`);
    }
  },
});

export const clientDelay = clientCase({
  id: "client/delay",
  title: "a delayed message arrives no sooner than its delay, after an undelayed one sent later",
  skip: ({ features }) => (features.delay ? undefined : "features.delay is false"),
  timeoutMs: 60_000,
  async run(ctx) {
    const bus = await ctx.client();
    const queue = ctx.name("delay");
    const arrivals = new Map<string, number>();
    await bus.consume(queue, (m) => {
      arrivals.set(m.id, Date.now());
    });
    const sentAt = Date.now();
    const delayed = await bus.send(queue, "later", { delayMs: 1500 });
    const now = await bus.send(queue, "now");
    await ctx.waitUntil(
      () => arrivals.has(delayed) && arrivals.has(now),
      30_000,
      () => `delayed arrived: ${arrivals.has(delayed)}, undelayed: ${arrivals.has(now)}`,
    );
    const d = arrivals.get(delayed)! - sentAt;
    const n = arrivals.get(now)! - sentAt;
    afterDelay(
      d,
      1500,
      1500 + ctx.t(ctx.options.redeliveryBoundMs) + n,
      "arrival of a message sent with delayMs 1500 (ms after send)",
    );
    check(n < d, `the undelayed message must arrive first; it came at +${n} ms, the delayed one at +${d} ms`);
  },
});

export const clientPriority = clientCase({
  id: "client/priority",
  title: "priority: from a backlog, higher priority first",
  skip: ({ features }) => (features.priority ? undefined : "features.priority is false"),
  timeoutMs: 60_000,
  async run(ctx) {
    const bus = await ctx.client();
    const queue = ctx.name("prio");
    const warm: string[] = [];
    const sub = await bus.consume(queue, (m) => {
      warm.push(m.id);
    });
    const w = await bus.send(queue, "warm", { priority: 0 });
    await ctx.waitUntil(
      () => warm.includes(w),
      30_000,
      () => "the first message did not arrive",
    );
    await sub.close();
    const low = await bus.sendBatch(
      queue,
      Array.from({ length: 30 }, (_, i) => ({ body: { i }, priority: 0 })),
    );
    const high = await bus.sendBatch(
      queue,
      Array.from({ length: 30 }, (_, i) => ({ body: { i }, priority: bus.features.maxPriority })),
    );
    const order: string[] = [];
    const consumer = await ctx.client();
    await consumer.consume(
      queue,
      (m) => {
        order.push(m.id);
      },
      { concurrency: 1, prefetch: 1 },
    );
    await ctx.waitUntil(
      () => order.length >= 60,
      30_000,
      () => `60 messages; ${order.length} arrived`,
    );
    const highSet = new Set(high);
    const firstHalf = order.slice(0, 30).filter((id) => highSet.has(id)).length;
    check(
      firstHalf >= 28,
      `of the first 30 handled, ${firstHalf} had the high priority (expected at least 28)`,
    );
    check(
      low.every((id) => order.includes(id)),
      "low-priority messages were lost",
    );
  },
});

export const clientUnsupported = clientCase({
  id: "client/unsupported",
  title:
    "undeclared delay, priority and topics fail at the call site with OMNIBUS_UNSUPPORTED_FEATURE; out-of-range values with a typed error",
  timeoutMs: 30_000,
  async run(ctx) {
    const bus = await ctx.client();
    const queue = ctx.name("unsupported");
    const f = bus.features;
    if (!f.delay) {
      await failsWith(
        () => bus.send(queue, 1, { delayMs: 1000 }),
        [ErrorCode.UnsupportedFeature],
        "a delayed send without features.delay",
      );
    } else if (Number.isFinite(f.maxDelayMs)) {
      await failsWith(
        () => bus.send(queue, 1, { delayMs: f.maxDelayMs + 1 }),
        [ErrorCode.UnsupportedFeature],
        "a delay over maxDelayMs",
      );
    }
    if (!f.priority) {
      await failsWith(
        () => bus.send(queue, 1, { priority: 1 }),
        [ErrorCode.UnsupportedFeature],
        "a priority without features.priority",
      );
    } else {
      await failsWith(
        () => bus.send(queue, 1, { priority: f.maxPriority + 1 }),
        [ErrorCode.Config],
        "a priority over maxPriority",
      );
    }
    if (!f.fanout) {
      await failsWith(
        () => bus.publish(queue, 1),
        [ErrorCode.UnsupportedFeature],
        "publish() without features.fanout",
      );
      await failsWith(
        () => bus.subscribe(queue, { group: "g" }, () => {}),
        [ErrorCode.UnsupportedFeature],
        "subscribe() without features.fanout",
      );
    } else {
      const id = await bus.publish(ctx.name("nobody"), 1);
      check(typeof id === "string", "publishing to a topic nobody subscribed to must resolve with an id");
    }
  },
});
