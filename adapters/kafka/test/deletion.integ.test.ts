import { INBOX_PREFIX, PublishError } from "@omnibus/core";
import { waitFor } from "@omnibus/core/testing";
import { afterEach, describe, expect, it } from "vitest";
import { queueTopic } from "../src/names.js";
import { closeAll, collector, connected, message, messages, unique } from "./helpers.js";

afterEach(closeAll);

const queue = (name: string) => ({ kind: "queue", name }) as const;

/** Resolves with how long `promise` took, in ms. */
async function timed(promise: Promise<unknown>): Promise<number> {
  const start = Date.now();
  await promise;
  return Date.now() - start;
}

describe("kafka adapter: deleted topics (kafkajs #1622)", () => {
  it("a producer that wrote to a queue keeps sending after deleteQueue, to other queues and to the queue again", async () => {
    const adapter = await connected();
    const doomed = unique("doomed");
    const other = unique("other");
    await adapter.send(queue(doomed), messages(3));
    await adapter.deleteQueue!(doomed);
    // Before the fix every metadata refresh asked for the deleted topic and failed, so this send
    // (a topic the producer had not written to) failed after ~20 s of retries.
    expect(await timed(adapter.send(queue(other), [message()]))).toBeLessThan(5_000);
    const again = messages(2);
    await adapter.send(queue(doomed), again);
    const c = collector();
    await (await connected()).consume(queue(doomed), c.options());
    await waitFor(() => c.deliveries.length >= 2, { timeoutMs: 20_000 });
    // Keyless messages spread over the partitions: no order between them, only the set.
    expect([...c.ids()].sort()).toEqual(again.map((m) => m.id).sort());
  }, 60_000);

  it("a topic deleted by another client does not break this client's sends", async () => {
    const owner = await connected();
    const sender = await connected();
    const gone = unique("gone");
    await sender.send(queue(gone), [message()]);
    await owner.deleteQueue!(gone);
    await waitFor(async () => !(await owner.native.admin.listTopics()).includes(queueTopic(gone)), {
      timeoutMs: 10_000,
    });
    expect(await timed(sender.send(queue(unique("fresh")), [message()]))).toBeLessThan(5_000);
    // Sending to it again creates it again, as any send to a queue does.
    await sender.send(queue(gone), [message()]);
    expect(await owner.native.admin.listTopics()).toContain(queueTopic(gone));
  }, 60_000);

  it("a reply to an inbox whose consumer closed fails at once, creates nothing and spoils no other send", async () => {
    const requester = await connected();
    const replier = await connected();
    const inbox = `${INBOX_PREFIX}${unique("inbox")}`;
    const c = collector();
    const handle = await requester.consume({ kind: "queue", name: inbox, ephemeral: true }, c.options());
    await replier.send(queue(inbox), [message()]);
    await waitFor(() => c.deliveries.length === 1, { timeoutMs: 20_000 });
    const bystander = unique("bystander");
    await replier.send(queue(bystander), [message()]);
    await handle.close();
    await waitFor(async () => !(await replier.native.admin.listTopics()).includes(queueTopic(inbox)), {
      timeoutMs: 10_000,
    });
    // A big send in flight, then a late reply and an ordinary send merged into the next request:
    // the reply fails quickly, the ordinary send succeeds.
    const big = replier.send(queue(bystander), messages(500));
    const reply = replier.send(queue(inbox), [message()]);
    const ordinary = replier.send(queue(bystander), [message()]);
    const started = Date.now();
    const [r, o] = await Promise.allSettled([reply, ordinary, big]);
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(r.status).toBe("rejected");
    expect((r as PromiseRejectedResult).reason).toBeInstanceOf(PublishError);
    expect(o.status).toBe("fulfilled");
    // A reply to an inbox this adapter never wrote to is refused too, without creating it.
    const never = `${INBOX_PREFIX}${unique("never")}`;
    await expect(replier.send(queue(never), [message()])).rejects.toBeInstanceOf(PublishError);
    const topics = await replier.native.admin.listTopics();
    expect(topics).not.toContain(queueTopic(inbox));
    expect(topics).not.toContain(queueTopic(never));
  }, 60_000);
});
