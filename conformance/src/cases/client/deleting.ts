import { type Client, deadLetterQueueFor } from "@omnibus/core";
import { check, sameIds } from "../../assert.js";
import { type CaseEnv, clientCase } from "../../case.js";

/** A subscription or consumer that records the ids it got (acking every message). */
interface Tally {
  readonly ids: string[];
}

async function tallyQueue(bus: Client, queue: string): Promise<Tally> {
  const ids: string[] = [];
  await bus.consume(queue, (m) => {
    ids.push(m.id);
  });
  return { ids };
}

async function tallyGroup(bus: Client, topic: string, group: string): Promise<Tally> {
  const ids: string[] = [];
  await bus.subscribe(topic, { group }, (m) => {
    ids.push(m.id);
  });
  return { ids };
}

/** Nothing of `old` reached `tally` (after a quiet window the caller waited). */
function noneOf(tally: Tally, old: readonly string[], what: string): void {
  const back = old.filter((id) => tally.ids.includes(id)).length;
  check(back === 0, `${what}: ${back} of ${old.length} messages sent before the delete were delivered`);
}

async function publishAll(bus: Client, topic: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(await bus.publish(topic, { i }));
  return ids;
}

async function sendAll(bus: Client, queue: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(await bus.send(queue, { i }));
  return ids;
}

/** A quiet window long enough for a message the broker still held to show up. */
const QUIET_MS = 1_000;

/** The adapter under test has the optional SPI method `method`. */
function has(env: CaseEnv, method: "deleteQueue" | "deleteTopic" | "deleteGroup"): boolean {
  return typeof env.options.adapter()[method] === "function";
}

export const clientDeleteQueue = clientCase({
  id: "client/delete-queue",
  title:
    "client.deleteQueue() removes a queue with its messages and its dead-letter queue (name.dlq); twice or on a missing queue it resolves; other queues keep theirs",
  skip: (env) => (has(env, "deleteQueue") ? undefined : "the adapter has no deleteQueue()"),
  timeoutMs: 90_000,
  async run(ctx) {
    const bus = await ctx.client();
    const doomed = ctx.name("delq");
    const dlq = deadLetterQueueFor({ kind: "queue", name: doomed });
    const other = ctx.name("keepq");
    const old = await sendAll(bus, doomed, 3);
    const oldDead = await sendAll(bus, dlq, 1);
    const kept = await sendAll(bus, other, 2);
    await bus.deleteQueue(doomed);
    await bus.deleteQueue(doomed); // twice: resolves
    await bus.deleteQueue(ctx.name("never")); // never existed: resolves
    const fresh = await sendAll(bus, doomed, 2);
    const consumer = await ctx.client();
    const onDoomed = await tallyQueue(consumer, doomed);
    const onDlq = await tallyQueue(consumer, dlq);
    const onOther = await tallyQueue(consumer, other);
    await ctx.waitUntil(
      () => fresh.every((id) => onDoomed.ids.includes(id)) && onOther.ids.length >= 2,
      30_000,
      () =>
        `after deleteQueue: the re-created queue got ${fresh.filter((id) => onDoomed.ids.includes(id)).length} of 2 sent after the delete; the other queue ${onOther.ids.length} of 2`,
    );
    await ctx.observe(QUIET_MS);
    noneOf(onDoomed, old, "the deleted queue");
    noneOf(onDlq, oldDead, `its dead-letter queue ${dlq}`);
    sameIds(onDoomed.ids, fresh, "messages of the re-created queue");
    sameIds(onOther.ids, kept, "messages of the other queue");
  },
});

export const clientDeleteGroup = clientCase({
  id: "client/delete-group",
  title:
    "client.deleteGroup() removes one group with its messages and its dead-letter queue; twice it resolves; the topic's other groups keep theirs",
  skip: (env) =>
    !has(env, "deleteGroup")
      ? "the adapter has no deleteGroup()"
      : env.features.fanout
        ? undefined
        : "features.fanout is false",
  timeoutMs: 90_000,
  async run(ctx) {
    const bus = await ctx.client();
    const topic = ctx.name("delgroup");
    const dlq = deadLetterQueueFor({ kind: "topic", name: topic, group: "gone" });
    await bus.ensureGroup(topic, "gone");
    await bus.ensureGroup(topic, "kept");
    const old = await publishAll(bus, topic, 3);
    const oldDead = await sendAll(bus, dlq, 1);
    await bus.deleteGroup(topic, "gone");
    await bus.deleteGroup(topic, "gone"); // twice: resolves
    await bus.deleteGroup(topic, "never"); // never existed: resolves
    await bus.deleteGroup(ctx.name("nothing"), "never"); // nor its topic
    await bus.ensureGroup(topic, "gone"); // the name again: a new group, from now on
    const fresh = await publishAll(bus, topic, 2);
    const consumer = await ctx.client();
    const gone = await tallyGroup(consumer, topic, "gone");
    const kept = await tallyGroup(consumer, topic, "kept");
    const dead = await tallyQueue(consumer, dlq);
    await ctx.waitUntil(
      () => fresh.every((id) => gone.ids.includes(id)) && kept.ids.length >= 5,
      30_000,
      () =>
        `after deleteGroup: the group made again got ${fresh.filter((id) => gone.ids.includes(id)).length} of 2 published after; the other group ${kept.ids.length} of 5`,
    );
    await ctx.observe(QUIET_MS);
    noneOf(gone, old, "the deleted group, made again");
    noneOf(dead, oldDead, `its dead-letter queue ${dlq}`);
    sameIds(gone.ids, fresh, "messages of the group made again");
    sameIds(kept.ids, [...old, ...fresh], "messages of the other group");
  },
});

export const clientDeleteTopic = clientCase({
  id: "client/delete-topic",
  title:
    "client.deleteTopic() removes a topic, its groups and their dead-letter queues; twice it resolves; other topics and a queue of the same name keep theirs",
  skip: (env) =>
    !has(env, "deleteTopic")
      ? "the adapter has no deleteTopic()"
      : env.features.fanout
        ? undefined
        : "features.fanout is false",
  timeoutMs: 90_000,
  async run(ctx) {
    const bus = await ctx.client();
    const topic = ctx.name("deltopic");
    const otherTopic = ctx.name("keeptopic");
    const dlq = deadLetterQueueFor({ kind: "topic", name: topic, group: "a" });
    await bus.ensureGroup(topic, "a");
    await bus.ensureGroup(topic, "b");
    await bus.ensureGroup(otherTopic, "a");
    const old = await publishAll(bus, topic, 3);
    const oldDead = await sendAll(bus, dlq, 1);
    const keptOther = await publishAll(bus, otherTopic, 2);
    const keptQueue = await sendAll(bus, topic, 1); // a queue of the topic's name
    await bus.deleteTopic(topic);
    await bus.deleteTopic(topic); // twice: resolves
    await bus.deleteTopic(ctx.name("never")); // never existed: resolves
    await bus.ensureGroup(topic, "a"); // the topic and group again: new, from now on
    const fresh = await publishAll(bus, topic, 2);
    const consumer = await ctx.client();
    const a = await tallyGroup(consumer, topic, "a");
    const b = await tallyGroup(consumer, topic, "b"); // a new group: nothing of before
    const other = await tallyGroup(consumer, otherTopic, "a");
    const queue = await tallyQueue(consumer, topic);
    const dead = await tallyQueue(consumer, dlq);
    await ctx.waitUntil(
      () => fresh.every((id) => a.ids.includes(id)) && other.ids.length >= 2 && queue.ids.length >= 1,
      30_000,
      () =>
        `after deleteTopic: group a made again got ${fresh.filter((id) => a.ids.includes(id)).length} of 2 published after; the other topic's group ${other.ids.length} of 2; the queue of the same name ${queue.ids.length} of 1`,
    );
    await ctx.observe(QUIET_MS);
    noneOf(a, old, "group a of the deleted topic, made again");
    noneOf(b, old, "group b of the deleted topic, subscribed again");
    noneOf(dead, oldDead, `the dead-letter queue ${dlq} of group a`);
    sameIds(a.ids, fresh, "messages of group a made again");
    sameIds(other.ids, keptOther, "messages of the other topic");
    sameIds(queue.ids, keptQueue, "messages of the queue named like the topic");
  },
});
