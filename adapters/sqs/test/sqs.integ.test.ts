import { randomUUID } from "node:crypto";
import { GetQueueAttributesCommand, GetQueueUrlCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { brokerUrl } from "@omnibus/brokers";
import {
  type Adapter,
  type Client,
  type ConsumerHandle,
  createClient,
  type Delivery,
  ErrorCode,
  type OutboundMessage,
  shortId,
  silentLogger,
} from "@omnibus/core";
import { setDifference, waitFor } from "@omnibus/core/testing";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { type SqsNative, type SqsOptions, sqs } from "../src/index.js";
import { brokerName, MAX_QUEUE_NAME } from "../src/names.js";

const endpoint = brokerUrl("sqs");
const enc = new TextEncoder();
const adapters: Adapter[] = [];
const clients: Client[] = [];
const handles: ConsumerHandle[] = [];

function adapter(options: SqsOptions = {}): Adapter<SqsNative> {
  // A 1 s long-poll wait: stop() and close() wait for the receive in flight (see SqsConsumer.stop).
  const a = sqs({ endpoint, visibilityTimeoutSeconds: 5, waitTimeSeconds: 1, persistent: false, ...options });
  adapters.push(a);
  return a;
}

function client(options: SqsOptions = {}): Client {
  const c = createClient({ adapter: adapter(options), logger: silentLogger });
  clients.push(c);
  return c;
}

function message(body: string | Uint8Array, extra: Partial<OutboundMessage> = {}): OutboundMessage {
  return {
    id: randomUUID(),
    body: typeof body === "string" ? enc.encode(body) : body,
    headers: {},
    timestamp: Date.now(),
    ...extra,
  };
}

/** Queues named here are deleted once the file is done (with the default name mapping). */
const made = new Set<string>();
const queueName = (label: string) => {
  const name = `it-${label}-${shortId()}`;
  made.add(name);
  return name;
};
afterAll(async () => {
  const cleanup = sqs({ endpoint, persistent: false });
  await cleanup.connect();
  for (const name of made)
    for (const q of [name, `${name}.dlq`]) await cleanup.deleteQueue!(q).catch(() => {});
  await cleanup.close();
});

async function consume(a: Adapter, queue: string, prefetch: number, onDelivery: (d: Delivery) => void) {
  const handle = await a.consume({ kind: "queue", name: queue }, { prefetch, onDelivery, onError: () => {} });
  handles.push(handle);
  return handle;
}

async function queueCounts(a: Adapter<SqsNative>, queue: string) {
  const { QueueUrl } = await a.native.sqs.send(new GetQueueUrlCommand({ QueueName: queue }));
  const out = await a.native.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    }),
  );
  return {
    visible: Number(out.Attributes?.ApproximateNumberOfMessages),
    invisible: Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible),
  };
}

afterEach(async () => {
  await Promise.allSettled(
    handles.splice(0).map(async (h) => {
      await h.stop();
      await h.close();
    }),
  );
  await Promise.allSettled(clients.splice(0).map((c) => c.close()));
  await Promise.allSettled(adapters.splice(0).map((a) => a.close()));
});

describe("sqs adapter on ElasticMQ", () => {
  it("a slow handler keeps its message: the visibility heartbeat prevents a duplicate", async () => {
    const queue = queueName("slow");
    const first = adapter({ visibilityTimeoutSeconds: 2 });
    const second = adapter({ visibilityTimeoutSeconds: 2 });
    const deliveries: Delivery[] = [];
    let acked = false;
    const onDelivery = (d: Delivery) => {
      deliveries.push(d);
      if (deliveries.length === 1) {
        // Runs for 2.5 visibility timeouts before it acks.
        setTimeout(() => void d.ack().then(() => (acked = true)), 5_000);
      }
    };
    await consume(first, queue, 1, onDelivery);
    await consume(second, queue, 1, onDelivery);
    await first.send({ kind: "queue", name: queue }, [message("slow one")]);
    await waitFor(() => acked, { timeoutMs: 20_000 });
    // ack() resolves once batched: wait for the delete itself.
    const gone = async () => {
      const counts = await queueCounts(first, queue);
      return counts.visible === 0 && counts.invisible === 0;
    };
    await waitFor(gone, { timeoutMs: 5_000 });
    expect(deliveries).toHaveLength(1);
  }, 30_000);

  it("a consumer that dies without settling: the message comes back after the visibility timeout, attempt 2", async () => {
    const queue = queueName("died");
    const a = adapter();
    await a.send({ kind: "queue", name: queue }, [message("held by a dead consumer")]);
    // A consumer that receives and then vanishes (no delete, no release).
    const { QueueUrl } = await a.native.sqs.send(new GetQueueUrlCommand({ QueueName: queue }));
    const dead = await a.native.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl,
        VisibilityTimeout: 2,
        WaitTimeSeconds: 5,
        MaxNumberOfMessages: 1,
      }),
    );
    expect(dead.Messages).toHaveLength(1);
    const diedAt = Date.now();
    const got: { attempt: number; at: number; body: string }[] = [];
    await consume(a, queue, 10, (d) => {
      got.push({ attempt: d.message.attempt, at: Date.now(), body: Buffer.from(d.message.body).toString() });
      void d.ack();
    });
    await waitFor(() => got.length === 1, { timeoutMs: 15_000 });
    expect(got[0]!.attempt).toBe(2);
    expect(got[0]!.body).toBe("held by a dead consumer");
    expect(got[0]!.at - diedAt).toBeGreaterThanOrEqual(1_500);
  }, 30_000);

  it("nack with a delay redelivers no sooner than the delay, with attempt + 1", async () => {
    const queue = queueName("nack");
    const a = adapter();
    const seen: { attempt: number; at: number }[] = [];
    let nackedAt = 0;
    await consume(a, queue, 10, (d) => {
      seen.push({ attempt: d.message.attempt, at: Date.now() });
      if (d.message.attempt === 1) {
        nackedAt = Date.now();
        void d.nack({ delayMs: 1_500 });
      } else void d.ack();
    });
    await a.send({ kind: "queue", name: queue }, [message("again")]);
    await waitFor(() => seen.length === 2, { timeoutMs: 15_000 });
    expect(seen.map((s) => s.attempt)).toEqual([1, 2]);
    expect(seen[1]!.at - nackedAt).toBeGreaterThanOrEqual(1_450);
  }, 30_000);

  it("never hands out more than prefetch unsettled deliveries", async () => {
    const queue = queueName("prefetch");
    const a = adapter();
    let unsettled = 0;
    let max = 0;
    const got: string[] = [];
    const acks: Promise<void>[] = [];
    await consume(a, queue, 5, (d) => {
      got.push(d.message.id);
      unsettled++;
      max = Math.max(max, unsettled);
      setTimeout(() => {
        unsettled--;
        acks.push(d.ack());
      }, 20);
    });
    const sent = Array.from({ length: 40 }, (_, i) => message(`m${i}`));
    for (let i = 0; i < sent.length; i += 10)
      await a.send({ kind: "queue", name: queue }, sent.slice(i, i + 10));
    await waitFor(() => acks.length >= 40, { timeoutMs: 20_000 });
    await Promise.all(acks);
    expect(max).toBeLessThanOrEqual(5);
    expect(
      setDifference(
        sent.map((m) => m.id),
        got,
      ),
    ).toEqual({ missing: [], unexpected: [], duplicates: [] });
  }, 30_000);

  it("splits one send by bytes as well as by count: 10 messages of 100 KB", async () => {
    const queue = queueName("bytes");
    const a = adapter();
    const sent = Array.from({ length: 10 }, (_, i) => message(String(i).repeat(100_000)));
    await a.send({ kind: "queue", name: queue }, sent);
    const got = new Map<string, string>();
    await consume(a, queue, 10, (d) => {
      got.set(d.message.id, Buffer.from(d.message.body).toString());
      void d.ack();
    });
    await waitFor(() => got.size === 10, { timeoutMs: 20_000 });
    for (const m of sent) expect(got.get(m.id)).toBe(Buffer.from(m.body).toString());
  }, 30_000);

  it("refuses a message over 256 KiB on the wire with MessageTooLargeError and sends nothing", async () => {
    const queue = queueName("large");
    const a = adapter();
    const fits = message("a".repeat(262_144 - 200));
    const tooLarge = message("b".repeat(200_000), { headers: { big: "c".repeat(62_200) } });
    await expect(a.send({ kind: "queue", name: queue }, [fits, tooLarge])).rejects.toMatchObject({
      code: ErrorCode.MessageTooLarge,
    });
    await a.send({ kind: "queue", name: queue }, [fits]);
    const got: string[] = [];
    await consume(a, queue, 10, (d) => {
      got.push(d.message.id);
      void d.ack();
    });
    await waitFor(() => got.length >= 1, { timeoutMs: 10_000 });
    expect(got).toEqual([fits.id]);
  }, 30_000);

  it("maps Omnibus names onto distinct, valid SQS names (dots, long names)", async () => {
    const bus = client();
    const base = queueName("names");
    const names = [`${base}.a`, `${base}_a`, `${base}-a`, `${base}.${"x".repeat(190 - base.length)}`];
    for (const name of names) made.add(name);
    const got = new Map<string, string[]>();
    for (const name of names) {
      got.set(name, []);
      await bus.consume(name, (m) => {
        got.get(name)!.push(m.body as string);
      });
    }
    for (const name of names) await bus.send(name, name);
    await waitFor(() => names.every((n) => got.get(n)!.length === 1), { timeoutMs: 15_000 });
    for (const name of names) expect(got.get(name)).toEqual([name]);
    for (const name of names) {
      const mapped = brokerName(name, { prefix: "", fifo: false, max: MAX_QUEUE_NAME });
      expect(mapped).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
    }
  }, 30_000);

  it("X.dlq and the valid name spelling its hashed form X_dlq-<hash> are two queues (issue 16)", async () => {
    const bus = client();
    const base = queueName("hashlike");
    const dotted = `${base}.dlq`;
    // The name that the old mapping kept as it was: exactly the hashed form of `dotted`.
    const plain = brokerName(dotted, { prefix: "", fifo: false, max: MAX_QUEUE_NAME });
    expect(plain).toMatch(/_dlq-[0-9a-f]{10}$/);
    made.add(plain);
    const toDotted = await bus.send(dotted, "for the dotted queue");
    const marker = await bus.send(plain, "marker");
    const got = { dotted: [] as string[], plain: [] as string[] };
    // The plain queue first: had both names one SQS queue, the dotted one's message (sent first)
    // would be in it too.
    await bus.consume(plain, (m) => {
      got.plain.push(m.id);
    });
    await waitFor(() => got.plain.includes(marker), { timeoutMs: 10_000 });
    await bus.consume(dotted, (m) => {
      got.dotted.push(m.id);
    });
    await waitFor(() => got.dotted.includes(toDotted) || got.plain.includes(toDotted), {
      timeoutMs: 10_000,
      message: () => `deliveries: ${JSON.stringify(got)}`,
    });
    expect(got).toEqual({ dotted: [toDotted], plain: [marker] });
  }, 30_000);

  it("deletes an ephemeral queue when its consumer closes", async () => {
    const a = adapter();
    const name = `omnibus.inbox.${shortId()}`;
    const handle = await a.consume(
      { kind: "queue", name, ephemeral: true },
      { prefetch: 10, onDelivery: (d) => void d.ack(), onError: () => {} },
    );
    const mapped = brokerName(name, { prefix: "", fifo: false, max: MAX_QUEUE_NAME });
    await expect(a.native.sqs.send(new GetQueueUrlCommand({ QueueName: mapped }))).resolves.toBeDefined();
    await handle.stop();
    await handle.close();
    await expect(a.native.sqs.send(new GetQueueUrlCommand({ QueueName: mapped }))).rejects.toMatchObject({
      name: "QueueDoesNotExist",
    });
  }, 30_000);

  it("stop() waits for the receive in flight: nothing it takes is lost or counted without being handed out", async () => {
    // SQS cannot cancel a receive (an aborted long poll still takes messages on the server), so a
    // message sent while a stopping consumer's receive is in flight either reaches that consumer
    // before stop() resolves, or stays in the queue: either way its first delivery is attempt 1.
    const queue = queueName("stopwait");
    const a = adapter({ waitTimeSeconds: 3 });
    const producer = adapter();
    const before: Delivery[] = [];
    let stopped = false;
    const after: Delivery[] = [];
    const handle = await consume(a, queue, 10, (d) => (stopped ? after : before).push(d));
    await new Promise((r) => setTimeout(r, 300)); // the first receive is in flight
    const stopping = handle.stop();
    await producer.send({ kind: "queue", name: queue }, [message("sent during stop")]);
    const startedAt = Date.now();
    await stopping;
    stopped = true;
    expect(Date.now() - startedAt).toBeLessThan(3_000 + 2_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(after).toHaveLength(0);
    for (const d of before) expect(d.message.attempt).toBe(1);
    if (before.length === 1) {
      await before[0]!.ack();
      return;
    }
    const got: Delivery[] = [];
    await consume(producer, queue, 10, (d) => {
      got.push(d);
      void d.ack();
    });
    await waitFor(() => got.length === 1, { timeoutMs: 10_000 });
    expect(got[0]!.message.attempt).toBe(1);
  }, 30_000);

  it.each([
    ["ElasticMQ", endpoint],
    ["fauxqs", brokerUrl("sns")],
  ])(
    "an ack or nack after close() is a no-op (%s): it cannot settle the delivery another consumer got since",
    async (_broker, at) => {
      const queue = queueName("lateack");
      const first = adapter({ endpoint: at });
      const second = adapter({ endpoint: at });
      await first.send({ kind: "queue", name: queue }, [message("released by close")]);
      const held: Delivery[] = [];
      const handle = await consume(first, queue, 10, (d) => held.push(d));
      await waitFor(() => held.length === 1, { timeoutMs: 10_000 });
      await handle.stop();
      await handle.close(); // gives it back at once
      const got: Delivery[] = [];
      await consume(second, queue, 10, (d) => got.push(d));
      await waitFor(() => got.length === 1, { timeoutMs: 10_000 });
      expect(got[0]!.message.attempt).toBe(2);
      // The first consumer's handler finishes late and settles its (released) delivery: no request
      // may go out for it (ElasticMQ and fauxqs refuse a stale receipt handle; AWS may not).
      const sent: string[] = [];
      first.native.sqs.middlewareStack.add(
        (next, context) => async (args) => {
          sent.push(String(context.commandName));
          return next(args);
        },
        { step: "initialize", name: "recordCommands" },
      );
      await held[0]!.ack();
      await held[0]!.nack({ delayMs: 0 });
      // Closing the adapter drains its delete and visibility batches: whatever the late settlements
      // queued has been sent once it resolved (no fixed wait).
      await first.close();
      expect(sent).toEqual([]);
      // Still the second consumer's: a nack brings it back (it was neither deleted nor moved).
      await got[0]!.nack();
      await waitFor(() => got.length === 2, { timeoutMs: 10_000 });
      expect(got[1]!.message.attempt).toBe(3);
      await got[1]!.ack();
      if (at !== endpoint) await second.deleteQueue!(queue); // the file's cleanup is on ElasticMQ
    },
    30_000,
  );

  it("a send that cannot reach the broker rejects with a PublishError (retryable)", async () => {
    const dead = sqs({ endpoint: "http://127.0.0.1:1", sqsClientConfig: { maxAttempts: 1 } });
    adapters.push(dead);
    const error = await dead.send({ kind: "queue", name: queueName("nowhere") }, [message("x")]).then(
      () => undefined,
      (e: unknown) => e as Error & { code: string; retryable: boolean },
    );
    expect(error?.code).toBe(ErrorCode.Publish);
    expect(error?.retryable).toBe(true);
  }, 30_000);

  it("with autoCreate off, a missing queue is a ConfigError", async () => {
    const a = adapter({ autoCreate: false });
    const queue = queueName("missing");
    await expect(a.send({ kind: "queue", name: queue }, [message("x")])).rejects.toMatchObject({
      code: ErrorCode.Config,
    });
    await expect(
      a.consume({ kind: "queue", name: queue }, { prefetch: 1, onDelivery: () => {}, onError: () => {} }),
    ).rejects.toMatchObject({ code: ErrorCode.Config });
  });

  it("without SNS, topics are an UnsupportedFeatureError and fanout is false", async () => {
    const a = adapter();
    expect(a.features.fanout).toBe(false);
    await expect(a.ensureGroup!("t", "g")).rejects.toMatchObject({ code: ErrorCode.UnsupportedFeature });
    await expect(a.send({ kind: "topic", name: "t" }, [message("x")])).rejects.toMatchObject({
      code: ErrorCode.UnsupportedFeature,
    });
    const bus = client();
    await expect(bus.publish("t", 1)).rejects.toMatchObject({ code: ErrorCode.UnsupportedFeature });
  });

  it("works from a URL through createClient, and a dead endpoint is a ConnectionError", async () => {
    const url = `sqs://${new URL(endpoint).host}?visibilityTimeout=5&waitTimeSeconds=1&persistent=false`;
    const bus = createClient({ url, logger: silentLogger });
    clients.push(bus);
    const queue = queueName("url");
    const got: unknown[] = [];
    await bus.consume(queue, (m) => {
      got.push(m.body);
    });
    await bus.send(queue, { hello: "sqs" });
    await waitFor(() => got.length === 1, { timeoutMs: 10_000 });
    expect(got).toEqual([{ hello: "sqs" }]);
    expect(bus.features.delay).toBe(true);
    const dead = sqs({ url: "sqs://AKID:topsecret@127.0.0.1:1" });
    adapters.push(dead);
    const error = await dead.connect().then(
      () => undefined,
      (e: unknown) => e as Error & { code: string },
    );
    expect(error?.code).toBe(ErrorCode.Connection);
    expect(error?.message).not.toContain("topsecret");
  }, 30_000);

  it("acks delete the messages (batched): nothing is left on the queue", async () => {
    const queue = queueName("acked");
    const a = adapter();
    const sent = Array.from({ length: 25 }, (_, i) => message(`m${i}`));
    for (let i = 0; i < 25; i += 10) await a.send({ kind: "queue", name: queue }, sent.slice(i, i + 10));
    const acks: Promise<void>[] = [];
    await consume(a, queue, 25, (d) => {
      acks.push(d.ack());
    });
    await waitFor(() => acks.length === 25, { timeoutMs: 10_000 });
    await Promise.all(acks);
    // ack() resolves once batched: the deletes follow within a round trip.
    const gone = async () => {
      const counts = await queueCounts(a, queue);
      return counts.visible === 0 && counts.invisible === 0;
    };
    await waitFor(gone, { timeoutMs: 5_000 });
  }, 30_000);

  it("turns off the AWS SDK's Node.js version warning through its documented switch", () => {
    expect(process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED).toBe("true");
  });
});
