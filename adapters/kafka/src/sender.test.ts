import type { Message, Producer, ProducerBatch } from "kafkajs";
import { describe, expect, it } from "vitest";
import { produceFailure } from "./errors.js";
import { type FailureAction, type ProducerSource, SendQueue, type SendQueueOptions } from "./sender.js";

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

/** A source that always hands out the same producer and counts renewals. */
function single(producer: Producer) {
  const source = {
    renewed: 0,
    acquire: async () => producer,
    renew() {
      source.renewed++;
    },
  };
  return source;
}

const options = (overrides: Partial<SendQueueOptions> = {}): SendQueueOptions => ({
  maxRequestBytes: 1000,
  maxBufferedBytes: 10_000,
  deliveryTimeoutMs: 30_000,
  toError: (e) => e as Error,
  classify: produceFailure,
  minBackoffMs: 1,
  maxBackoffMs: 5,
  ...overrides,
});

const records = (n: number, tag = "m"): Message[] =>
  Array.from({ length: n }, (_, i) => ({ value: Buffer.from(`${tag}${i}`) }));

const tick = () => new Promise((r) => setTimeout(r, 20));

/** kafkajs's errors, as its classes build them (name, retriable, type, cause). */
const connectionError = () =>
  Object.assign(new Error("Connection error: connect ECONNREFUSED 127.0.0.1:9"), {
    name: "KafkaJSNonRetriableError",
    retriable: false,
    cause: Object.assign(new Error("Connection error: connect ECONNREFUSED 127.0.0.1:9"), {
      name: "KafkaJSConnectionError",
      retriable: true,
    }),
  });
const protocolError = (type: string, retriable: boolean) =>
  Object.assign(new Error(type), { name: "KafkaJSProtocolError", type, retriable });

describe("SendQueue", () => {
  it("writes a lone send at once and merges what arrives meanwhile", async () => {
    const { producer, requests, ackNext } = recorder();
    const q = new SendQueue(single(producer), options());
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
    const q = new SendQueue(single(producer), options({ maxRequestBytes: 25 }));
    const done = q.send([{ topic: "a", records: records(5), sizes: [10, 10, 10, 10, 10] }]);
    while (requests.length < 3 || pending.length > 0) {
      if (pending.length > 0) await ackNext();
      else await new Promise((r) => setImmediate(r));
    }
    await done;
    const values = requests.flatMap((r) =>
      r.topicMessages!.flatMap((t) => t.messages.map((m) => String(m.value))),
    );
    expect(values).toEqual(["m0", "m1", "m2", "m3", "m4"]);
    expect(requests.map((r) => r.topicMessages![0]!.messages.length)).toEqual([2, 2, 1]);
  });

  it("rejects every send of a request refused for good with the mapped error, and renews the producer", async () => {
    const { producer, ackNext } = recorder();
    const source = single(producer);
    const q = new SendQueue(
      source,
      options({ toError: (e) => new Error(`mapped: ${(e as Error).message}`) }),
    );
    const send = q.send([{ topic: "a", records: records(1), sizes: [10] }]).catch((e: unknown) => e);
    await new Promise((r) => setImmediate(r));
    await ackNext(protocolError("MESSAGE_TOO_LARGE", false));
    expect(await send).toMatchObject({ message: "mapped: MESSAGE_TOO_LARGE" });
    expect(source.renewed).toBe(1);
  });

  it("sends a request that failed on the connection again, as it was and with the same producer", async () => {
    const { producer, requests, ackNext } = recorder();
    const source = single(producer);
    const q = new SendQueue(source, options());
    const send = q.send([{ topic: "a", records: records(3), sizes: [10, 10, 10] }]);
    await new Promise((r) => setImmediate(r));
    await ackNext(connectionError());
    await tick();
    await ackNext(protocolError("NOT_LEADER_OR_FOLLOWER", true));
    await tick();
    expect(requests).toHaveLength(3);
    await ackNext();
    await send;
    // The same records in the same request: the broker knows their sequence numbers.
    expect(requests[2]!.topicMessages).toBe(requests[0]!.topicMessages);
    expect(source.renewed).toBe(0);
  });

  it("gives up after deliveryTimeoutMs and renews the producer before the next request", async () => {
    const { producer, requests, ackNext, pending } = recorder();
    const source = single(producer);
    const q = new SendQueue(source, options({ deliveryTimeoutMs: 50, minBackoffMs: 20, maxBackoffMs: 20 }));
    const send = q.send([{ topic: "a", records: records(1), sizes: [10] }]).catch((e: unknown) => e);
    for (let i = 0; i < 20 && source.renewed === 0; i++) {
      if (pending.length > 0) await ackNext(connectionError());
      await tick();
    }
    expect(await send).toMatchObject({ name: "KafkaJSNonRetriableError" });
    expect(source.renewed).toBe(1);
    expect(requests.length).toBeGreaterThan(1);
  });

  it("renews the producer and sends again when the broker refuses its sequence numbers", async () => {
    const { producer, requests, ackNext } = recorder();
    const source = single(producer);
    const q = new SendQueue(source, options());
    const send = q.send([{ topic: "a", records: records(1), sizes: [10] }]);
    await new Promise((r) => setImmediate(r));
    await ackNext(protocolError("OUT_OF_ORDER_SEQUENCE_NUMBER", false));
    await tick();
    expect(source.renewed).toBe(1);
    expect(requests).toHaveLength(2);
    await ackNext();
    await send;
  });

  it("fails queued and waiting sends when closed, and stops sending the request in flight again", async () => {
    const { producer, requests, ackNext } = recorder();
    const q = new SendQueue(single(producer), options({ maxBufferedBytes: 15 }));
    const inFlight = q.send([{ topic: "a", records: records(1), sizes: [10] }]).catch((e: unknown) => e);
    const waiting = q.send([{ topic: "a", records: records(1, "w"), sizes: [10] }]).catch((e: unknown) => e);
    await new Promise((r) => setImmediate(r));
    q.close();
    expect(await waiting).toMatchObject({ name: "SendQueueClosedError" });
    await ackNext(connectionError());
    expect(await inFlight).toMatchObject({ name: "SendQueueClosedError" });
    expect(requests).toHaveLength(1);
    expect(
      await q.send([{ topic: "a", records: records(1), sizes: [10] }]).catch((e: unknown) => e),
    ).toMatchObject({ name: "SendQueueClosedError" });
  });

  it("makes senders wait while the buffer is full", async () => {
    const { producer, requests, ackNext } = recorder();
    const q = new SendQueue(single(producer), options({ maxRequestBytes: 100, maxBufferedBytes: 30 }));
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

/**
 * The root cause of "confirmed but lost" after a connection cut, in miniature: a broker that
 * keeps the idempotent producer's sequence numbers per partition as Kafka does, and a producer
 * that numbers records as kafkajs 2.2.4 does — it takes the numbers of a failed request back even
 * when the broker wrote it (the response was lost with the connection). The next request reuses
 * them: the broker refuses it, or, with as many records as the lost one, acknowledges it as a
 * duplicate without writing it.
 */
function idempotentBroker() {
  const log: string[] = [];
  /** producer id → last sequence written, and the last batch (first sequence, count). */
  const state = new Map<number, { next: number; last: { first: number; count: number } | undefined }>();
  let ids = 0;
  /** The next request is written, but its response is lost. */
  let loseResponse = false;

  const producer = (): Producer & { id: number } => {
    const id = ++ids;
    let sequence = 0;
    return {
      id,
      async sendBatch(batch: ProducerBatch) {
        const values = batch.topicMessages!.flatMap((t) => t.messages.map((m) => String(m.value)));
        const first = sequence;
        sequence += values.length;
        try {
          const s = state.get(id) ?? { next: 0, last: undefined };
          state.set(id, s);
          if (s.last !== undefined && s.last.first === first && s.last.count === values.length) return []; // duplicate
          if (first !== s.next) throw protocolError("OUT_OF_ORDER_SEQUENCE_NUMBER", false);
          log.push(...values);
          s.next = first + values.length;
          s.last = { first, count: values.length };
          if (loseResponse) {
            loseResponse = false;
            throw connectionError();
          }
          return [];
        } catch (error) {
          sequence = first; // kafkajs: eosManager.updateSequence(topic, partition, -messages.length)
          throw error;
        }
      },
    } as unknown as Producer & { id: number };
  };
  return {
    log,
    producer,
    loseNextResponse: () => {
      loseResponse = true;
    },
  };
}

/** A source over {@link idempotentBroker}: renewing makes a producer with a new id. */
function renewing(broker: ReturnType<typeof idempotentBroker>) {
  let current = broker.producer();
  const source: ProducerSource & { renewed: number } = {
    renewed: 0,
    acquire: async () => current,
    renew(p) {
      if (p !== current) return;
      source.renewed++;
      current = broker.producer();
    },
  };
  return source;
}

describe("SendQueue with an idempotent broker", () => {
  const send = (q: SendQueue, tag: string) =>
    q.send([{ topic: "t", records: records(2, tag), sizes: [10, 10] }]).then(
      () => "ok",
      () => "failed",
    );

  it("never confirms a request the broker did not write after a lost response (the connection-cut loss)", async () => {
    const broker = idempotentBroker();
    const never = (): FailureAction => "fail";
    // Without renewal (as the adapter was): the failed request's numbers are reused.
    const old = new SendQueue(
      { acquire: async () => stuck, renew: () => {} },
      options({ classify: never, deliveryTimeoutMs: 0 }),
    );
    const stuck = broker.producer();
    await send(old, "a");
    broker.loseNextResponse();
    expect(await send(old, "b")).toBe("failed"); // written, but the sender cannot know
    expect(await send(old, "c")).toBe("ok"); // acknowledged as a duplicate of b: not written
    expect(broker.log).toEqual(["a0", "a1", "b0", "b1"]);

    // The fix, part one: the same request is sent again with the same numbers.
    broker.log.length = 0;
    const source = renewing(broker);
    const q = new SendQueue(source, options());
    await send(q, "a");
    broker.loseNextResponse();
    expect(await send(q, "b")).toBe("ok");
    expect(await send(q, "c")).toBe("ok");
    expect(broker.log).toEqual(["a0", "a1", "b0", "b1", "c0", "c1"]);
    expect(source.renewed).toBe(0);
  });

  it("renews the producer once a request failed for good, so later requests are written", async () => {
    const broker = idempotentBroker();
    const source = renewing(broker);
    const q = new SendQueue(source, options({ deliveryTimeoutMs: 0 }));
    await send(q, "a");
    broker.loseNextResponse();
    // Part two: given up at once (deliveryTimeoutMs 0); it was written all the same.
    expect(await send(q, "b")).toBe("failed");
    expect(source.renewed).toBe(1);
    expect(await send(q, "c")).toBe("ok");
    expect(await send(q, "d")).toBe("ok");
    expect(broker.log).toEqual(["a0", "a1", "b0", "b1", "c0", "c1", "d0", "d1"]);
  });
});

describe("produceFailure", () => {
  it("sends again what may pass, renews on refused sequence numbers, fails what the records cause", () => {
    expect(produceFailure(connectionError())).toBe("retry");
    expect(produceFailure(Object.assign(new Error("t"), { name: "KafkaJSRequestTimeoutError" }))).toBe(
      "retry",
    );
    expect(
      produceFailure(
        Object.assign(new Error("x"), {
          name: "KafkaJSNumberOfRetriesExceeded",
          retriable: false,
          cause: Object.assign(new Error("closed"), {
            name: "KafkaJSConnectionClosedError",
            retriable: true,
          }),
        }),
      ),
    ).toBe("retry");
    expect(produceFailure(protocolError("NOT_LEADER_OR_FOLLOWER", true))).toBe("retry");
    expect(produceFailure(protocolError("OUT_OF_ORDER_SEQUENCE_NUMBER", false))).toBe("renew");
    expect(produceFailure(protocolError("UNKNOWN_PRODUCER_ID", false))).toBe("renew");
    expect(produceFailure(protocolError("MESSAGE_TOO_LARGE", false))).toBe("fail");
    expect(produceFailure(protocolError("UNKNOWN_TOPIC_OR_PARTITION", true))).toBe("fail");
    expect(produceFailure(protocolError("TOPIC_AUTHORIZATION_FAILED", false))).toBe("fail");
    expect(produceFailure(new TypeError("bug"))).toBe("fail");
  });
});
