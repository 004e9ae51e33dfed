import type { Message, Producer, ProducerBatch } from "kafkajs";
import { describe, expect, it } from "vitest";
import { SendQueue } from "./sender.js";

/** A producer stand-in that records requests and acknowledges them when told to. */
function recorder() {
  const requests: ProducerBatch[] = [];
  const pending: Array<(error?: Error) => void> = [];
  const producer = {
    sendBatch(batch: ProducerBatch) {
      requests.push(batch);
      return new Promise((resolve, reject) => pending.push((e) => (e ? reject(e) : resolve([]))));
    },
  } as unknown as Producer;
  const ackNext = async (error?: Error) => {
    pending.shift()!(error);
    await new Promise((r) => setImmediate(r));
  };
  return { producer, requests, pending, ackNext };
}

const records = (n: number, tag = "m"): Message[] =>
  Array.from({ length: n }, (_, i) => ({ value: Buffer.from(`${tag}${i}`) }));

describe("SendQueue", () => {
  it("writes a lone send at once and merges what arrives meanwhile", async () => {
    const { producer, requests, ackNext } = recorder();
    const q = new SendQueue(producer, 1000, 10_000, (e) => e as Error);
    const first = q.send([{ topic: "a", records: records(1), sizes: [10] }]);
    const second = q.send([{ topic: "a", records: records(2, "x"), sizes: [10, 10] }]);
    const third = q.send([{ topic: "b", records: records(1, "y"), sizes: [10] }]);
    await new Promise((r) => setImmediate(r));
    expect(requests).toHaveLength(1);
    await ackNext();
    await first;
    expect(requests).toHaveLength(2);
    expect(requests[1]!.topicMessages!.map((t) => [t.topic, t.messages.length])).toEqual([
      ["a", 2],
      ["b", 1],
    ]);
    await ackNext();
    await Promise.all([second, third]);
  });

  it("splits by request size and keeps order", async () => {
    const { producer, requests, ackNext, pending } = recorder();
    const q = new SendQueue(producer, 25, 10_000, (e) => e as Error);
    const done = q.send([{ topic: "a", records: records(5), sizes: [10, 10, 10, 10, 10] }]);
    while (pending.length > 0) await ackNext();
    await done;
    const values = requests.flatMap((r) =>
      r.topicMessages!.flatMap((t) => t.messages.map((m) => String(m.value))),
    );
    expect(values).toEqual(["m0", "m1", "m2", "m3", "m4"]);
    expect(requests.map((r) => r.topicMessages![0]!.messages.length)).toEqual([2, 2, 1]);
  });

  it("rejects every send of a failed request with the mapped error", async () => {
    const { producer, ackNext } = recorder();
    const q = new SendQueue(producer, 1000, 10_000, (e) => new Error(`mapped: ${(e as Error).message}`));
    const send = q.send([{ topic: "a", records: records(1), sizes: [10] }]).catch((e: unknown) => e);
    await ackNext(new Error("boom"));
    expect(await send).toMatchObject({ message: "mapped: boom" });
  });

  it("makes senders wait while the buffer is full", async () => {
    const { producer, requests, ackNext } = recorder();
    const q = new SendQueue(producer, 100, 30, (e) => e as Error);
    const a = q.send([{ topic: "a", records: records(2), sizes: [10, 10] }]);
    let bDone = false;
    const b = q.send([{ topic: "a", records: records(2, "b"), sizes: [10, 10] }]).then(() => (bDone = true));
    await new Promise((r) => setImmediate(r));
    expect(requests).toHaveLength(1);
    await ackNext();
    await a;
    expect(bDone).toBe(false);
    expect(requests).toHaveLength(2);
    await ackNext();
    await b;
  });
});
