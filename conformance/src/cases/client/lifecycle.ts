import { createClient, ErrorCode, type Message, silentLogger } from "@omnibus/core";
import { check, equal, failsWith, idDifference, sameIds } from "../../assert.js";
import { clientCase } from "../../case.js";

const never = () => new Promise<void>(() => {});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const clientCrash = clientCase({
  id: "client/crash",
  title: "a consumer whose connection dies mid-handler loses nothing, and settled messages do not come back",
  timeoutMs: (env) => 90_000 + env.options.redeliveryAfterMs,
  async run(ctx) {
    const queue = ctx.name("crash");
    const victimAdapter = ctx.fresh();
    const victim = createClient({ adapter: victimAdapter, logger: silentLogger, closeTimeoutMs: 100 });
    ctx.defer(() => victim.close(), "closing the victim client");
    const settled: string[] = [];
    let stuck: string | undefined;
    await victim.consume(
      queue,
      async (m) => {
        if ((m.body as number) < 5) {
          settled.push(m.id); // handled and acked before the crash
          return;
        }
        stuck ??= m.id;
        await never(); // never finishes: the process "dies" mid-handler
      },
      { concurrency: 1, prefetch: 1 },
    );
    const producer = await ctx.client();
    const first = await producer.sendBatch(
      queue,
      Array.from({ length: 5 }, (_, i) => ({ body: i })),
    );
    await ctx.waitUntil(
      () => settled.length >= 5,
      30_000,
      () => `the victim handled ${settled.length} of 5`,
    );
    const rest = await producer.sendBatch(
      queue,
      Array.from({ length: 10 }, (_, i) => ({ body: 5 + i })),
    );
    await ctx.waitUntil(
      () => stuck !== undefined,
      30_000,
      () => "the victim never started the handler that hangs",
    );
    await ctx.observe(250); // let the acks of the first 5 reach the broker, as they would in a live process
    await ctx.bounded(victimAdapter.close(), "the victim adapter's close()"); // the connection goes away; nothing more is settled
    const survivor: string[] = [];
    const rescuer = await ctx.client();
    await rescuer.consume(queue, (m) => {
      survivor.push(m.id);
    });
    await ctx.waitUntil(
      () => idDifference(rest, survivor).missing.length === 0,
      ctx.options.redeliveryAfterMs + 30_000,
      () => `${idDifference(rest, survivor).missing.length} of the 10 unsettled messages did not come back`,
    );
    await ctx.observe(500);
    check(survivor.includes(stuck!), "the message held by the dead consumer must come back");
    sameIds(survivor, rest, "messages the rescuer got (the 5 settled before the crash must not come back)");
    sameIds(
      [...settled, ...survivor],
      [...first, ...rest],
      "every message, across the victim and the rescuer",
    );
  },
});

export const clientConcurrency = clientCase({
  id: "client/concurrency",
  title: "never more than `concurrency` handlers run at once, and that many do",
  timeoutMs: 60_000,
  async run(ctx) {
    const bus = await ctx.client();
    const queue = ctx.name("concurrency");
    let inFlight = 0;
    let max = 0;
    let done = 0;
    await bus.consume(
      queue,
      async () => {
        inFlight++;
        max = Math.max(max, inFlight);
        await sleep(10);
        inFlight--;
        done++;
      },
      { concurrency: 3, prefetch: 20 },
    );
    await bus.sendBatch(
      queue,
      Array.from({ length: 60 }, (_, i) => ({ body: i })),
    );
    await ctx.waitUntil(
      () => done >= 60,
      30_000,
      () => `60 handled; ${done} were`,
    );
    equal(max, 3, "most handlers running at once with concurrency 3");
  },
});

export const clientShutdown = clientCase({
  id: "client/shutdown",
  title: "close() waits for in-flight handlers; nothing is lost and nothing handled comes back",
  timeoutMs: (env) => 60_000 + env.options.redeliveryAfterMs,
  async run(ctx) {
    const queue = ctx.name("shutdown");
    const bus = await ctx.client();
    let started = 0;
    let finished = 0;
    const handled: string[] = [];
    await bus.consume(
      queue,
      async (m) => {
        started++;
        await sleep(300);
        handled.push(m.id);
        finished++;
      },
      { concurrency: 4 },
    );
    const producer = await ctx.client();
    const ids = await producer.sendBatch(
      queue,
      Array.from({ length: 30 }, (_, i) => ({ body: i })),
    );
    await ctx.waitUntil(
      () => started >= 1,
      30_000,
      () => "no handler started",
    );
    await ctx.bounded(bus.close(), "client close()");
    equal(finished, started, "handlers finished by the time close() resolved (of those started)");
    const rest: string[] = [];
    const next = await ctx.client();
    await next.consume(queue, (m) => {
      rest.push(m.id);
    });
    await ctx.waitUntil(
      () => idDifference(ids, [...handled, ...rest]).missing.length === 0,
      30_000 + ctx.options.redeliveryAfterMs,
      () =>
        `${idDifference(ids, [...handled, ...rest]).missing.length} of 30 messages missing after a graceful close`,
    );
    await ctx.observe(500);
    sameIds([...handled, ...rest], ids, "messages across the closed consumer and the next one");
  },
});

export const clientClosed = clientCase({
  id: "client/closed",
  title:
    "send and consume after close() fail with OMNIBUS_CLOSED; closing one subscription leaves the others running",
  timeoutMs: 30_000,
  async run(ctx) {
    const bus = await ctx.client();
    const q1 = ctx.name("sub1");
    const q2 = ctx.name("sub2");
    const got1: string[] = [];
    const got2: string[] = [];
    const sub1 = await bus.consume(q1, (m) => {
      got1.push(m.id);
    });
    await bus.consume(q2, (m) => {
      got2.push(m.id);
    });
    await sub1.close();
    const id1 = await bus.send(q1, "to the closed subscription");
    const id2 = await bus.send(q2, "still running");
    await ctx.waitUntil(
      () => got2.includes(id2),
      30_000,
      () => "the subscription left open stopped receiving",
    );
    await ctx.observe(300);
    check(!got1.includes(id1), "a closed subscription still received a message");
    await ctx.bounded(bus.close(), "client close()");
    await failsWith(() => bus.send(q2, "after close"), [ErrorCode.Closed], "send() after close()");
    await failsWith(() => bus.consume(q2, () => {}), [ErrorCode.Closed], "consume() after close()");
    await failsWith(() => bus.request(q2, 1), [ErrorCode.Closed], "request() after close()");
  },
});

export const clientBatchSplit = clientCase({
  id: "client/batch-split",
  title: "a sendBatch larger than the adapter's maxBatchSize is split, and every message arrives once",
  timeoutMs: 60_000,
  async run(ctx) {
    const bus = await ctx.client();
    const queue = ctx.name("split");
    const got: Message[] = [];
    await bus.consume(queue, (m) => {
      got.push(m);
    });
    const size = Math.min(Math.max(2 * bus.features.maxBatchSize + 3, 25), 2_500);
    const ids = await bus.sendBatch(
      queue,
      Array.from({ length: size }, (_, i) => ({ body: { i } })),
    );
    equal(ids.length, size, "ids returned by sendBatch");
    await ctx.waitUntil(
      () => got.length >= size,
      45_000,
      () => `${size} messages; ${got.length} arrived`,
    );
    await ctx.observe(300);
    sameIds(
      got.map((m) => m.id),
      ids,
      `messages of a sendBatch of ${size}`,
    );
  },
});
