import { check, sameIds } from "../../assert.js";
import { clientCase } from "../../case.js";

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

export const clientCompeting = clientCase({
  id: "client/competing",
  title: "competing consumers: 1,000 messages over 3 consumers, every id exactly once, the work shared",
  timeoutMs: 90_000,
  async run(ctx) {
    const queue = ctx.name("compete");
    const received: string[] = [];
    const perConsumer = [0, 0, 0];
    for (let i = 0; i < 3; i++) {
      const bus = await ctx.client();
      await bus.consume(
        queue,
        async (m) => {
          received.push(m.id);
          perConsumer[i]!++;
          await tick();
        },
        { concurrency: 4 },
      );
    }
    const producer = await ctx.client();
    const ids: string[] = [];
    for (let batch = 0; batch < 10; batch++) {
      ids.push(
        ...(await producer.sendBatch(
          queue,
          Array.from({ length: 100 }, (_, i) => ({ body: { batch, i } })),
        )),
      );
    }
    await ctx.waitUntil(
      () => received.length >= 1000,
      60_000,
      () => `1,000 messages; ${received.length} arrived`,
    );
    await ctx.observe(300);
    sameIds(received, ids, "messages across 3 competing consumers");
    check(
      perConsumer.filter((n) => n > 0).length >= 2,
      `the work must be shared; per consumer: ${perConsumer.join(", ")}`,
    );
  },
});

export const clientFanout = clientCase({
  id: "client/fanout",
  title: "topic fan-out: each group gets every id, members of a group share them",
  skip: ({ features }) => (features.fanout ? undefined : "features.fanout is false"),
  timeoutMs: 90_000,
  async run(ctx) {
    const topic = ctx.name("fan");
    const a: string[] = [];
    const b: string[] = [];
    const members = [0, 0];
    for (let i = 0; i < 2; i++) {
      const bus = await ctx.client();
      await bus.subscribe(topic, { group: "a" }, async (m) => {
        a.push(m.id);
        members[i]!++;
        await tick();
      });
    }
    const other = await ctx.client();
    await other.subscribe(topic, { group: "b" }, (m) => {
      b.push(m.id);
    });
    const publisher = await ctx.client();
    const ids: string[] = [];
    for (let i = 0; i < 200; i++) ids.push(await publisher.publish(topic, { i }));
    await ctx.waitUntil(
      () => a.length >= 200 && b.length >= 200,
      60_000,
      () => `group a got ${a.length} of 200, group b ${b.length}`,
    );
    await ctx.observe(300);
    sameIds(a, ids, "messages of group a");
    sameIds(b, ids, "messages of group b");
    check(
      members.every((n) => n > 0),
      `both members of group a must get some; they got ${members.join(", ")}`,
    );
  },
});

export const clientGroupOffline = clientCase({
  id: "client/group-offline",
  title:
    "a group made with ensureGroup, and a group whose consumers went away, get everything published meanwhile",
  skip: ({ features }) => (features.fanout ? undefined : "features.fanout is false"),
  timeoutMs: 90_000,
  async run(ctx) {
    const topic = ctx.name("offline");
    const bus = await ctx.client();
    await bus.ensureGroup(topic, "late");
    const first: string[] = [];
    const sub = await bus.subscribe(topic, { group: "away" }, (m) => {
      first.push(m.id);
    });
    const warmup = await bus.publish(topic, { warmup: true });
    await ctx.waitUntil(
      () => first.includes(warmup),
      30_000,
      () => "the group's first message did not arrive",
    );
    await sub.close();
    const ids: string[] = [];
    for (let i = 0; i < 50; i++) ids.push(await bus.publish(topic, { i }));
    const late: string[] = [];
    const away: string[] = [];
    const consumer = await ctx.client();
    await consumer.subscribe(topic, { group: "late" }, (m) => {
      late.push(m.id);
    });
    await consumer.subscribe(topic, { group: "away" }, (m) => {
      away.push(m.id);
    });
    await ctx.waitUntil(
      () => late.length >= 51 && away.length >= 50,
      60_000,
      () => `the ensured group got ${late.length} of 51, the group that went away ${away.length} of 50`,
    );
    await ctx.observe(300);
    sameIds(late, [warmup, ...ids], "messages of the group made by ensureGroup");
    sameIds(away, ids, "messages published while the group had no consumer");
  },
});

export const clientGroupStartsNow = clientCase({
  id: "client/group-starts-now",
  title: "a brand-new group gets only what is published after it was created",
  skip: ({ features }) => (features.fanout ? undefined : "features.fanout is false"),
  timeoutMs: 60_000,
  async run(ctx) {
    const topic = ctx.name("newgroup");
    const bus = await ctx.client();
    const old: string[] = [];
    await bus.subscribe(topic, { group: "old" }, (m) => {
      old.push(m.id);
    });
    const before: string[] = [];
    for (let i = 0; i < 5; i++) before.push(await bus.publish(topic, { i }));
    await ctx.waitUntil(
      () => old.length >= 5,
      30_000,
      () => `the existing group got ${old.length} of 5`,
    );
    const fresh: string[] = [];
    const other = await ctx.client();
    await other.subscribe(topic, { group: "new" }, (m) => {
      fresh.push(m.id);
    });
    const after: string[] = [];
    for (let i = 0; i < 5; i++) after.push(await bus.publish(topic, { i }));
    await ctx.waitUntil(
      () => after.every((id) => fresh.includes(id)),
      30_000,
      () =>
        `the new group got ${after.filter((id) => fresh.includes(id)).length} of the 5 published after it`,
    );
    await ctx.observe(500);
    sameIds(fresh, after, "messages of a group created after 5 earlier publishes");
  },
});
