import {
  type Adapter,
  bytesCodec,
  type Client,
  createClient,
  ErrorCode,
  Headers,
  idempotency,
  type Message,
  memoryIdempotencyStore,
  shortId,
  silentLogger,
} from "@omnibus/core";
import { deferred, setDifference, waitFor } from "@omnibus/core/testing";
import { afterEach, describe, expect, it } from "vitest";

/** Options of {@link describeConformance}. */
export interface ConformanceOptions {
  /** Shown in the test names, e.g. `"rabbitmq"`. */
  name: string;
  /**
   * Builds a fresh, unconnected adapter for one client. Called once synchronously at collection
   * time to read `features`, then once per client in the tests.
   */
  adapter: () => Adapter;
  /**
   * Builds an adapter pointed at an address where no broker listens: `connect()` (or the first
   * send) must then fail with an OmnibusError within `timeouts.connectFailMs`, never hang.
   */
  unreachable?: () => Adapter;
  /** Multiplies every deadline, for slow brokers (Kafka group joins). @default 1 */
  timeScale?: number;
  /**
   * How long until a delivery held by a consumer that died is redelivered to another one
   * (visibility timeout, idle claim time…). The crash case waits this long plus a margin.
   * @default 5000
   */
  redeliveryAfterMs?: number;
}

/** Every case's name, for listing and for adapter authors reading a report. */
export const conformanceCases = [
  "round trip: body, headers, key, correlation id",
  "round trip: binary, empty and identical bodies",
  "competing consumers: every id exactly once across 3 consumers (1,000 messages)",
  "topic fan-out: each group gets every id, members of a group share them",
  "topic fan-out: a group keeps messages while its consumers are offline",
  "nack: a failed message comes back with attempt + 1",
  "dead letter: a message failing every attempt lands in the DLQ with its headers; the queue keeps flowing",
  "dead letter: an undecodable body goes to the DLQ at once",
  "crash: a consumer that dies mid-handler loses nothing",
  "concurrency: never more than N handlers in flight",
  "ordering by key: 1,000 messages over 16 keys arrive in order per key",
  "delay: a delayed message arrives no sooner than its delay",
  "priority: higher priority first from a backlog",
  "unsupported features fail at the call site",
  "request-reply: the reply matches the request; 200 concurrent requests",
  "request-reply: timeout and remote error are typed",
  "idempotency: duplicates are handled once, also two copies in flight at once",
  "shutdown: close() waits for in-flight handlers and loses nothing",
  "shutdown: send after close fails with the closed code; closing one subscription leaves others running",
  "bad input: too large, invalid names and bad URLs give typed errors, not hangs",
] as const;

const fastRetry = { initialDelayMs: 20, maxDelayMs: 200, jitter: 0 };

/**
 * Register the conformance suite for an adapter with vitest. Call it at the top level of a test
 * file. Cases for features the adapter does not declare are skipped with the reason in their
 * name; every declared feature is tested.
 *
 * @example
 * ```ts
 * import { describeConformance } from "@omnibus/conformance";
 * import { rabbitmq } from "@omnibus/rabbitmq";
 * describeConformance({ name: "rabbitmq", adapter: () => rabbitmq({ url: process.env.OMNIBUS_RABBITMQ_URL }) });
 * ```
 */
export function describeConformance(options: ConformanceOptions): void {
  const features = options.adapter().features;
  const scale = options.timeScale ?? 1;
  const t = (ms: number) => Math.round(ms * scale);
  const redeliveryAfterMs = options.redeliveryAfterMs ?? 5_000;
  const clients: Client[] = [];

  const client = async (extra: Parameters<typeof createClient>[0] = {}): Promise<Client> => {
    const c = createClient({
      adapter: options.adapter(),
      logger: silentLogger,
      retry: fastRetry,
      closeTimeoutMs: t(10_000),
      ...extra,
    });
    clients.push(c);
    await c.connect();
    return c;
  };
  const name = (label: string) => `conf-${label}-${shortId()}`;
  const wait = <T>(cond: () => T, ms: number, message?: () => string) =>
    waitFor(cond, { timeoutMs: t(ms), intervalMs: 5, ...(message ? { message } : {}) });

  afterEach(async () => {
    const all = clients.splice(0);
    await Promise.allSettled(all.map((c) => c.close()));
  });

  const skip = (declared: boolean, what: string) => (declared ? "" : ` (skipped: ${what} not declared)`);

  describe(`conformance: ${options.name}`, () => {
    it(
      conformanceCases[0],
      async () => {
        const bus = await client();
        const queue = name("rt");
        const got: Message[] = [];
        await bus.consume(queue, (m) => {
          got.push(m);
        });
        const body = { text: "héllo wörld ✓ 日本語 🚀", n: 42, nested: { list: [1, "two", null] } };
        const headers = {
          unicode: "ünïcødé ✓ 日本",
          odd: 'a b:c;d=e,"q"/\\',
          empty: "",
          "x-dash_under.dot": "1",
        };
        const before = Date.now();
        const id = await bus.send(queue, body, { headers, key: "customer-7", correlationId: "corr-1" });
        await wait(() => got.length === 1, 10_000);
        const m = got[0]!;
        expect(m.id).toBe(id);
        expect(m.body).toEqual(body);
        for (const [k, v] of Object.entries(headers)) expect(m.headers[k], `header ${k}`).toBe(v);
        expect(m.key).toBe("customer-7");
        expect(m.correlationId).toBe("corr-1");
        expect(m.attempt).toBe(1);
        expect(m.timestamp.getTime()).toBeGreaterThanOrEqual(before - 1000);
        expect(m.timestamp.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
      },
      t(30_000),
    );

    it(
      conformanceCases[1],
      async () => {
        const bus = await client();
        const queue = name("bin");
        const got = new Map<string, Message>();
        await bus.consume(queue, (m) => {
          got.set(m.id, m);
        });
        const binary = new Uint8Array(256).map((_, i) => i);
        const binId = await bus.send(queue, binary, { codec: bytesCodec });
        const emptyId = await bus.send(queue, new Uint8Array(0), { codec: bytesCodec });
        const undefinedId = await bus.send(queue, undefined);
        const same = await bus.sendBatch(queue, [{ body: "same" }, { body: "same" }, { body: "same" }]);
        await wait(
          () => got.size === 6,
          10_000,
          () => `got ${got.size} of 6`,
        );
        expect(Buffer.from(got.get(binId)!.body as Uint8Array)).toEqual(Buffer.from(binary));
        expect((got.get(emptyId)!.body as Uint8Array).byteLength).toBe(0);
        expect(got.get(undefinedId)!.body).toBeUndefined();
        expect(new Set(same).size).toBe(3);
        for (const id of same) expect(got.get(id)!.body).toBe("same");
      },
      t(30_000),
    );

    it(
      conformanceCases[2],
      async () => {
        const queue = name("compete");
        const received: string[] = [];
        const perConsumer = [0, 0, 0];
        for (let i = 0; i < 3; i++) {
          const bus = await client();
          await bus.consume(
            queue,
            async (m) => {
              received.push(m.id);
              perConsumer[i]!++;
              await new Promise((r) => setTimeout(r, 1));
            },
            { concurrency: 4 },
          );
        }
        const producer = await client();
        const ids: string[] = [];
        for (let batch = 0; batch < 10; batch++) {
          ids.push(
            ...(await producer.sendBatch(
              queue,
              Array.from({ length: 100 }, (_, i) => ({ body: { batch, i } })),
            )),
          );
        }
        await wait(
          () => received.length >= 1000,
          60_000,
          () => `received ${received.length} of 1000`,
        );
        const diff = setDifference(ids, received);
        expect(diff).toEqual({ missing: [], unexpected: [], duplicates: [] });
        expect(
          perConsumer.filter((n) => n > 0).length,
          `per consumer: ${perConsumer}`,
        ).toBeGreaterThanOrEqual(2);
      },
      t(90_000),
    );

    it.skipIf(!features.fanout)(
      conformanceCases[3] + skip(features.fanout, "fanout"),
      async () => {
        const topic = name("fan");
        const byGroup: Record<string, string[]> = { a: [], b: [] };
        const members = [0, 0];
        for (let i = 0; i < 2; i++) {
          const bus = await client();
          await bus.subscribe(topic, { group: "a" }, async (m) => {
            byGroup.a!.push(m.id);
            members[i]!++;
            await new Promise((r) => setTimeout(r, 1));
          });
        }
        const other = await client();
        await other.subscribe(topic, { group: "b" }, (m) => {
          byGroup.b!.push(m.id);
        });
        const publisher = await client();
        const ids: string[] = [];
        for (let i = 0; i < 200; i++) ids.push(await publisher.publish(topic, { i }));
        await wait(
          () => byGroup.a!.length >= 200 && byGroup.b!.length >= 200,
          60_000,
          () => `a=${byGroup.a!.length} b=${byGroup.b!.length}`,
        );
        expect(setDifference(ids, byGroup.a!)).toEqual({ missing: [], unexpected: [], duplicates: [] });
        expect(setDifference(ids, byGroup.b!)).toEqual({ missing: [], unexpected: [], duplicates: [] });
        expect(
          members.every((n) => n > 0),
          `members of group a: ${members}`,
        ).toBe(true);
      },
      t(90_000),
    );

    it.skipIf(!features.fanout)(
      conformanceCases[4] + skip(features.fanout, "fanout"),
      async () => {
        const topic = name("offline");
        const bus = await client();
        await bus.ensureGroup(topic, "late");
        // A group that was online, then went away.
        const first: string[] = [];
        const sub = await bus.subscribe(topic, { group: "away" }, (m) => {
          first.push(m.id);
        });
        const warmup = await bus.publish(topic, { warmup: true });
        await wait(() => first.includes(warmup), 30_000);
        await sub.close();
        const ids: string[] = [];
        for (let i = 0; i < 50; i++) ids.push(await bus.publish(topic, { i }));
        const late: string[] = [];
        const away: string[] = [];
        const consumer = await client();
        await consumer.subscribe(topic, { group: "late" }, (m) => {
          late.push(m.id);
        });
        await consumer.subscribe(topic, { group: "away" }, (m) => {
          away.push(m.id);
        });
        await wait(
          () => late.length >= 51 && away.length >= 50,
          60_000,
          () => `late=${late.length} away=${away.length}`,
        );
        expect(setDifference([warmup, ...ids], late)).toEqual({
          missing: [],
          unexpected: [],
          duplicates: [],
        });
        expect(setDifference(ids, away)).toEqual({ missing: [], unexpected: [], duplicates: [] });
      },
      t(90_000),
    );

    it(
      conformanceCases[5],
      async () => {
        const bus = await client();
        const queue = name("nack");
        const attempts = new Map<string, number[]>();
        await bus.consume(queue, (m) => {
          const seen = attempts.get(m.id) ?? [];
          seen.push(m.attempt);
          attempts.set(m.id, seen);
          if (m.attempt === 1) throw new Error("fail the first time");
        });
        const ids = await bus.sendBatch(
          queue,
          Array.from({ length: 20 }, (_, i) => ({ body: i })),
        );
        await wait(() => ids.every((id) => attempts.get(id)?.length === 2), 30_000);
        for (const id of ids) expect(attempts.get(id)).toEqual([1, 2]);
      },
      t(60_000),
    );

    it(
      conformanceCases[6],
      async () => {
        const bus = await client();
        const queue = name("dlq");
        const handled: string[] = [];
        const poisonAttempts: number[] = [];
        await bus.consume(
          queue,
          (m) => {
            if ((m.body as { poison?: boolean }).poison) {
              poisonAttempts.push(m.attempt);
              throw new Error("poison pill");
            }
            handled.push(m.id);
          },
          { retry: { maxAttempts: 3 } },
        );
        const dead: Message[] = [];
        await bus.consume(`${queue}.dlq`, (m) => {
          dead.push(m);
        });
        const poisonId = await bus.send(queue, { poison: true });
        const good = await bus.sendBatch(
          queue,
          Array.from({ length: 20 }, (_, i) => ({ body: { i } })),
        );
        await wait(() => dead.length >= 1 && handled.length >= 20, 30_000);
        expect(setDifference(good, handled)).toEqual({ missing: [], unexpected: [], duplicates: [] });
        expect(dead).toHaveLength(1);
        const d = dead[0]!;
        expect(d.id).toBe(poisonId);
        expect(d.body).toEqual({ poison: true });
        expect(d.headers[Headers.DeadLetterReason]).toBe("poison pill");
        expect(d.headers[Headers.DeadLetterAttempts]).toBe("3");
        expect(d.headers[Headers.DeadLetterOrigin]).toBe(`queue:${queue}`);
        expect(poisonAttempts).toEqual([1, 2, 3]);
      },
      t(60_000),
    );

    it(
      conformanceCases[7],
      async () => {
        const bus = await client();
        const queue = name("undecodable");
        const handled: string[] = [];
        await bus.consume(queue, (m) => {
          handled.push(m.id);
        });
        const dead: Message[] = [];
        await bus.consume(
          `${queue}.dlq`,
          (m) => {
            dead.push(m);
          },
          { codec: bytesCodec },
        );
        // Bytes that claim to be JSON but are not.
        const bad = await bus.send(queue, new TextEncoder().encode("{not json"), {
          codec: { ...bytesCodec, contentType: "application/json" },
        });
        const fine = await bus.send(queue, { ok: true });
        await wait(() => dead.length >= 1 && handled.length >= 1, 30_000);
        expect(handled).toEqual([fine]);
        expect(dead.map((m) => m.id)).toEqual([bad]);
        expect(dead[0]!.headers[Headers.DeadLetterCode]).toBe(ErrorCode.Decode);
        expect(dead[0]!.headers[Headers.DeadLetterAttempts]).toBe("1");
      },
      t(60_000),
    );

    it(
      conformanceCases[8],
      async () => {
        const queue = name("crash");
        const victimAdapter = options.adapter();
        const victim = createClient({ adapter: victimAdapter, logger: silentLogger, closeTimeoutMs: 100 });
        clients.push(victim);
        const started = deferred();
        const victimGot: string[] = [];
        await victim.consume(
          queue,
          async (m) => {
            victimGot.push(m.id);
            started.resolve();
            await new Promise(() => {}); // never finishes: the process "dies" mid-handler
          },
          { concurrency: 1, prefetch: 1 },
        );
        const producer = await client();
        const ids = await producer.sendBatch(
          queue,
          Array.from({ length: 10 }, (_, i) => ({ body: i })),
        );
        await started.promise;
        // The connection goes away without anything being settled.
        await victimAdapter.close();
        const survivor: Message[] = [];
        const rescuer = await client();
        await rescuer.consume(queue, (m) => {
          survivor.push(m);
        });
        await wait(
          () =>
            setDifference(
              ids,
              survivor.map((m) => m.id),
            ).missing.length === 0,
          redeliveryAfterMs + 30_000,
          () =>
            `missing ${
              setDifference(
                ids,
                survivor.map((m) => m.id),
              ).missing.length
            }`,
        );
        const redelivered = survivor.find((m) => m.id === victimGot[0]);
        expect(redelivered, "the message held by the dead consumer").toBeDefined();
        expect(
          setDifference(
            ids,
            survivor.map((m) => m.id),
          ).unexpected,
        ).toEqual([]);
      },
      t(90_000) + redeliveryAfterMs,
    );

    it(
      conformanceCases[9],
      async () => {
        const bus = await client();
        const queue = name("concurrency");
        let inFlight = 0;
        let max = 0;
        let done = 0;
        await bus.consume(
          queue,
          async () => {
            inFlight++;
            max = Math.max(max, inFlight);
            await new Promise((r) => setTimeout(r, 10));
            inFlight--;
            done++;
          },
          { concurrency: 3, prefetch: 20 },
        );
        await bus.sendBatch(
          queue,
          Array.from({ length: 60 }, (_, i) => ({ body: i })),
        );
        await wait(() => done === 60, 30_000);
        expect(max).toBe(3);
      },
      t(60_000),
    );

    it.skipIf(!features.orderingByKey)(
      conformanceCases[10] + skip(features.orderingByKey, "orderingByKey"),
      async () => {
        const bus = await client();
        const queue = name("order");
        const seen = new Map<string, number[]>();
        let count = 0;
        await bus.consume(
          queue,
          (m) => {
            if (m.attempt !== 1) return;
            const { k, n } = m.body as { k: string; n: number };
            const list = seen.get(k) ?? [];
            list.push(n);
            seen.set(k, list);
            count++;
          },
          { concurrency: 1 },
        );
        const items = Array.from({ length: 1000 }, (_, n) => {
          const k = `key-${n % 16}`;
          return { body: { k, n }, key: k };
        });
        for (let i = 0; i < items.length; i += 100) await bus.sendBatch(queue, items.slice(i, i + 100));
        await wait(
          () => count >= 1000,
          60_000,
          () => `received ${count}`,
        );
        expect(seen.size).toBe(16);
        for (const [k, list] of seen) {
          const expected = items.filter((item) => item.key === k).map((item) => item.body.n);
          expect(list, `order of ${k}`).toEqual(expected);
        }
      },
      t(90_000),
    );

    it.skipIf(!features.delay)(
      conformanceCases[11] + skip(features.delay, "delay"),
      async () => {
        const bus = await client();
        const queue = name("delay");
        const arrivals = new Map<string, number>();
        await bus.consume(queue, (m) => {
          arrivals.set(m.id, Date.now());
        });
        const sentAt = Date.now();
        const delayed = await bus.send(queue, "later", { delayMs: 1500 });
        const now = await bus.send(queue, "now");
        await wait(() => arrivals.has(delayed) && arrivals.has(now), 30_000);
        expect(arrivals.get(delayed)! - sentAt).toBeGreaterThanOrEqual(1400);
        expect(arrivals.get(now)!).toBeLessThan(arrivals.get(delayed)!);
      },
      t(60_000),
    );

    it.skipIf(!features.priority)(
      conformanceCases[12] + skip(features.priority, "priority"),
      async () => {
        const bus = await client();
        const queue = name("prio");
        // Make the queue exist (and be declared with priorities) before the backlog builds up.
        const warm: string[] = [];
        const sub = await bus.consume(queue, (m) => {
          warm.push(m.id);
        });
        const w = await bus.send(queue, "warm", { priority: 0 });
        await wait(() => warm.includes(w), 30_000);
        await sub.close();
        const low = await bus.sendBatch(
          queue,
          Array.from({ length: 30 }, (_, i) => ({ body: { i }, priority: 0 })),
        );
        const high = await bus.sendBatch(
          queue,
          Array.from({ length: 30 }, (_, i) => ({ body: { i }, priority: features.maxPriority })),
        );
        const order: string[] = [];
        const consumer = await client();
        await consumer.consume(
          queue,
          (m) => {
            order.push(m.id);
          },
          { concurrency: 1, prefetch: 1 },
        );
        await wait(() => order.length >= 60, 30_000);
        const highSet = new Set(high);
        const firstHalf = order.slice(0, 30).filter((id) => highSet.has(id)).length;
        expect(firstHalf, "high-priority messages among the first 30").toBeGreaterThanOrEqual(28);
        expect(setDifference([...low, ...high], order).missing).toEqual([]);
      },
      t(60_000),
    );

    it(
      conformanceCases[13],
      async () => {
        const bus = await client();
        const queue = name("unsupported");
        if (!features.delay) {
          await expect(bus.send(queue, 1, { delayMs: 1000 })).rejects.toMatchObject({
            code: ErrorCode.UnsupportedFeature,
          });
        } else if (Number.isFinite(features.maxDelayMs)) {
          await expect(bus.send(queue, 1, { delayMs: features.maxDelayMs + 1 })).rejects.toMatchObject({
            code: ErrorCode.UnsupportedFeature,
          });
        }
        if (!features.priority) {
          await expect(bus.send(queue, 1, { priority: 1 })).rejects.toMatchObject({
            code: ErrorCode.UnsupportedFeature,
          });
        } else {
          await expect(bus.send(queue, 1, { priority: features.maxPriority + 1 })).rejects.toMatchObject({
            code: ErrorCode.Config,
          });
        }
        if (!features.fanout) {
          await expect(bus.publish(queue, 1)).rejects.toMatchObject({ code: ErrorCode.UnsupportedFeature });
        } else {
          // Publishing to a topic nobody subscribed to is not an error.
          await expect(bus.publish(name("nobody"), 1)).resolves.toBeTypeOf("string");
        }
      },
      t(30_000),
    );

    it(
      conformanceCases[14],
      async () => {
        const server = await client();
        const caller = await client();
        const queue = name("rpc");
        await server.reply(queue, (m) => {
          const { a, b } = m.body as { a: number; b: number };
          return { sum: a + b, id: m.id };
        });
        const one = (await caller.request(queue, { a: 2, b: 3 }, { timeoutMs: t(10_000) })) as {
          sum: number;
        };
        expect(one.sum).toBe(5);
        const answers = await Promise.all(
          Array.from({ length: 200 }, (_, i) =>
            caller
              .request(queue, { a: i, b: 1000 }, { timeoutMs: t(30_000) })
              .then((r) => (r as { sum: number }).sum),
          ),
        );
        expect(answers).toEqual(Array.from({ length: 200 }, (_, i) => i + 1000));
      },
      t(60_000),
    );

    it(
      conformanceCases[15],
      async () => {
        const server = await client();
        const caller = await client();
        const queue = name("rpcerr");
        const silent = name("rpcnobody");
        await server.reply(queue, () => {
          throw Object.assign(new Error("out of stock"), { code: "OUT_OF_STOCK" });
        });
        await expect(caller.request(queue, {}, { timeoutMs: t(10_000) })).rejects.toMatchObject({
          code: ErrorCode.RemoteError,
          remoteMessage: "out of stock",
          remoteCode: "OUT_OF_STOCK",
        });
        const started = Date.now();
        await expect(caller.request(silent, {}, { timeoutMs: 300 })).rejects.toMatchObject({
          code: ErrorCode.RequestTimeout,
        });
        expect(Date.now() - started).toBeLessThan(t(5_000));
      },
      t(60_000),
    );

    it(
      conformanceCases[16],
      async () => {
        const store = memoryIdempotencyStore();
        const handled = new Map<string, number>();
        const queue = name("idem");
        const consumers: Client[] = [];
        for (let i = 0; i < 2; i++) {
          const bus = await client({
            adapter: options.adapter(),
            use: [idempotency({ store, retryDelayMs: 50 })],
            logger: silentLogger,
            retry: { ...fastRetry, maxAttempts: 50 },
          });
          consumers.push(bus);
          await bus.consume(
            queue,
            async (m) => {
              handled.set(m.id, (handled.get(m.id) ?? 0) + 1);
              await new Promise((r) => setTimeout(r, (m.body as { slow?: boolean }).slow ? 200 : 1));
            },
            { concurrency: 8 },
          );
        }
        const producer = await client();
        const ids = Array.from({ length: 50 }, () => `idem-${shortId()}`);
        // Every id twice, plus slow ones sent twice back to back so both copies are in flight together.
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
        await wait(() => [...ids, ...slow].every((id) => handled.has(id)), 30_000);
        // Give duplicates time to be seen (they are retried after 50 ms); wait until the queue is quiet.
        let last = -1;
        await wait(() => {
          const total = [...handled.values()].reduce((a, b) => a + b, 0);
          const quiet = total === last;
          last = total;
          return quiet;
        }, 30_000);
        for (const id of [...ids, ...slow]) expect(handled.get(id), id).toBe(1);
      },
      t(60_000),
    );

    it(
      conformanceCases[17],
      async () => {
        const queue = name("shutdown");
        const bus = await client();
        let started = 0;
        let finished = 0;
        const handled: string[] = [];
        await bus.consume(
          queue,
          async (m) => {
            started++;
            await new Promise((r) => setTimeout(r, 300));
            handled.push(m.id);
            finished++;
          },
          { concurrency: 4 },
        );
        const producer = await client();
        const ids = await producer.sendBatch(
          queue,
          Array.from({ length: 30 }, (_, i) => ({ body: i })),
        );
        await wait(() => started >= 1, 30_000);
        await bus.close();
        expect(finished).toBe(started);
        const rest: string[] = [];
        const next = await client();
        await next.consume(queue, (m) => {
          rest.push(m.id);
        });
        await wait(
          () => setDifference(ids, [...handled, ...rest]).missing.length === 0,
          30_000 + redeliveryAfterMs,
          () => `missing ${setDifference(ids, [...handled, ...rest]).missing.length}`,
        );
        expect(setDifference(ids, [...handled, ...rest]).unexpected).toEqual([]);
      },
      t(60_000) + redeliveryAfterMs,
    );

    it(
      conformanceCases[18],
      async () => {
        const bus = await client();
        const q1 = name("sub1");
        const q2 = name("sub2");
        const got1: string[] = [];
        const got2: string[] = [];
        const sub1 = await bus.consume(q1, (m) => {
          got1.push(m.id);
        });
        await bus.consume(q2, (m) => {
          got2.push(m.id);
        });
        await sub1.close();
        const id2 = await bus.send(q2, "still running");
        await wait(() => got2.includes(id2), 30_000);
        expect(got1).toEqual([]);
        await bus.close();
        await expect(bus.send(q2, "after close")).rejects.toMatchObject({ code: ErrorCode.Closed });
        await expect(bus.consume(q2, () => {})).rejects.toMatchObject({ code: ErrorCode.Closed });
      },
      t(30_000),
    );

    it(
      conformanceCases[19],
      async () => {
        const bus = await client();
        const queue = name("bad");
        const tooBig = new Uint8Array(Math.min(features.maxMessageBytes + 1, 512 * 1024 * 1024));
        await expect(bus.send(queue, tooBig, { codec: bytesCodec })).rejects.toMatchObject({
          code: ErrorCode.MessageTooLarge,
        });
        for (const bad of ["", "has space", "slash/name", "star*", ".dot", "x".repeat(201), "a..b"]) {
          await expect(bus.send(bad, 1), JSON.stringify(bad)).rejects.toMatchObject({
            code: ErrorCode.Config,
          });
        }
        await expect(bus.consume("bad name", () => {})).rejects.toMatchObject({ code: ErrorCode.Config });
        await expect(bus.send(queue, 1, { headers: { n: 1 as unknown as string } })).rejects.toMatchObject({
          code: ErrorCode.Config,
        });
        expect(() => createClient({ url: "nope://x:secret@host" })).toThrowError(
          expect.objectContaining({ code: ErrorCode.Config, message: expect.not.stringContaining("secret") }),
        );
        // Nothing oversized reached the queue: the first message consumed is the marker.
        const got: string[] = [];
        await bus.consume(queue, (m) => {
          got.push(m.id);
        });
        const marker = await bus.send(queue, "marker");
        await wait(() => got.includes(marker), 30_000);
        expect(got).toEqual([marker]);
        if (options.unreachable) {
          const broken = createClient({ adapter: options.unreachable(), logger: silentLogger });
          clients.push(broken);
          const started = Date.now();
          const error = await broken.send(queue, 1).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(error, "send through an unreachable broker").toMatchObject({
            code: expect.stringMatching(/^OMNIBUS_(CONNECTION|CONFIG|PUBLISH)$/),
          });
          expect(Date.now() - started).toBeLessThan(t(30_000));
        }
      },
      t(60_000),
    );
  });
}
