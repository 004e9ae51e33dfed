import {
  bytesCodec,
  DeadLetterError,
  ErrorCode,
  HeaderNames,
  type Message,
  RetryLaterError,
} from "@omnibus/core";
import { afterDelay, check, equal, sameBytes, sameIds, within } from "../../assert.js";
import { clientCase } from "../../case.js";
import { bytes, randomBody } from "../helpers.js";

export const clientNack = clientCase({
  id: "client/retry",
  title: "a handler that throws gets the message again with attempt + 1",
  timeoutMs: 60_000,
  async run(ctx) {
    const bus = await ctx.client();
    const queue = ctx.name("nack");
    const attempts = new Map<string, number[]>();
    await bus.consume(queue, (m) => {
      attempts.set(m.id, [...(attempts.get(m.id) ?? []), m.attempt]);
      if (m.attempt === 1) throw new Error("fail the first time");
    });
    const ids = await bus.sendBatch(
      queue,
      Array.from({ length: 20 }, (_, i) => ({ body: i })),
    );
    await ctx.waitUntil(
      () => ids.every((id) => (attempts.get(id)?.length ?? 0) >= 2),
      30_000,
      () =>
        `messages handled twice: ${ids.filter((id) => (attempts.get(id)?.length ?? 0) >= 2).length} of 20`,
    );
    await ctx.observe(300);
    for (const id of ids) equal(attempts.get(id), [1, 2], `attempts of message ${id}`);
  },
});

export const clientBackoff = clientCase({
  id: "client/backoff",
  title: "retries wait the retry policy's backoff: no sooner than initialDelayMs × multiplier^(attempt-1)",
  timeoutMs: 40_000,
  async run(ctx) {
    const bus = await ctx.client({
      retry: { maxAttempts: 3, initialDelayMs: 400, multiplier: 2, maxDelayMs: 5_000, jitter: 0 },
    });
    const queue = ctx.name("backoff");
    const at: number[] = [];
    await bus.consume(queue, (m) => {
      at.push(Date.now());
      if (m.attempt < 3) throw new Error(`fail attempt ${m.attempt}`);
    });
    await bus.send(queue, "x");
    await ctx.waitUntil(
      () => at.length >= 3,
      25_000,
      () => `3 attempts; ${at.length} ran`,
    );
    const bound = ctx.t(ctx.options.redeliveryBoundMs);
    afterDelay(
      at[1]! - at[0]!,
      400,
      400 + bound,
      "time from the 1st failure to the 2nd attempt (backoff 400 ms)",
    );
    afterDelay(
      at[2]! - at[1]!,
      800,
      800 + bound,
      "time from the 2nd failure to the 3rd attempt (backoff 800 ms)",
    );
  },
});

export const clientRetryLater = clientCase({
  id: "client/retry-later",
  title: "RetryLaterError(ms) brings the message back no sooner than ms, whatever the backoff",
  timeoutMs: 40_000,
  async run(ctx) {
    const bus = await ctx.client();
    const queue = ctx.name("later");
    const at: number[] = [];
    await bus.consume(queue, (m) => {
      at.push(Date.now());
      if (m.attempt === 1) throw new RetryLaterError(1_200);
    });
    await bus.send(queue, "x");
    await ctx.waitUntil(
      () => at.length >= 2,
      25_000,
      () => `2 attempts; ${at.length} ran`,
    );
    afterDelay(
      at[1]! - at[0]!,
      1_200,
      1_200 + ctx.t(ctx.options.redeliveryBoundMs),
      "time from RetryLaterError(1200) to the next attempt",
    );
  },
});

export const clientTimestampStable = clientCase({
  id: "client/timestamp",
  title: "timestamp is the send time, the same on every redelivery and on the dead-letter copy",
  timeoutMs: 60_000,
  async run(ctx) {
    const bus = await ctx.client();
    const queue = ctx.name("ts");
    const seen: number[] = [];
    await bus.consume(
      queue,
      (m) => {
        seen.push(m.timestamp.getTime());
        throw new Error("always");
      },
      { retry: { maxAttempts: 3 } },
    );
    const dead: Message[] = [];
    await bus.consume(`${queue}.dlq`, (m) => {
      dead.push(m);
    });
    const before = Date.now();
    await bus.send(queue, { n: 1 });
    const after = Date.now();
    await ctx.waitUntil(
      () => dead.length >= 1,
      40_000,
      () => `the dead-letter copy; ${seen.length} attempts ran`,
    );
    equal(seen.length, 3, "attempts before dead-lettering");
    within(seen[0]!, before, after, "timestamp of the first delivery (between send() and its return)", "");
    equal(seen[1], seen[0], "timestamp of the 2nd delivery");
    equal(seen[2], seen[0], "timestamp of the 3rd delivery");
    equal(dead[0]!.timestamp.getTime(), seen[0], "timestamp of the dead-letter copy");
  },
});

export const clientDeadLetter = clientCase({
  id: "client/dead-letter",
  title:
    "a message failing every attempt lands in the DLQ with reason, code, attempts and origin; the queue keeps flowing",
  timeoutMs: 60_000,
  async run(ctx) {
    const bus = await ctx.client();
    const queue = ctx.name("dlq");
    const handled: string[] = [];
    const poisonAttempts: number[] = [];
    await bus.consume(
      queue,
      (m) => {
        if ((m.body as { poison?: boolean }).poison) {
          poisonAttempts.push(m.attempt);
          throw Object.assign(new Error("poison pill"), { code: "E_POISON" });
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
    await ctx.waitUntil(
      () => dead.length >= 1 && handled.length >= 20,
      30_000,
      () => `dead: ${dead.length}, handled: ${handled.length} of 20`,
    );
    await ctx.observe(300);
    sameIds(handled, good, "good messages handled while a poison message was retried");
    equal(dead.length, 1, "messages in the DLQ");
    const d = dead[0]!;
    equal(d.id, poisonId, "id of the dead-lettered message");
    equal(d.body, { poison: true }, "body of the dead-lettered message");
    equal(d.headers[HeaderNames.DeadLetterReason], "poison pill", "dead-letter reason header");
    equal(
      d.headers[HeaderNames.DeadLetterCode],
      "E_POISON",
      "dead-letter code header (the error's own code)",
    );
    equal(d.headers[HeaderNames.DeadLetterAttempts], "3", "dead-letter attempts header");
    equal(d.headers[HeaderNames.DeadLetterOrigin], `queue:${queue}`, "dead-letter origin header");
    check(
      !Number.isNaN(Date.parse(d.headers[HeaderNames.DeadLetterAt] ?? "")),
      "dead-letter time header must be an ISO date",
    );
    equal(poisonAttempts, [1, 2, 3], "attempts of the poison message");
  },
});

export const clientDeadLetterOriginal = clientCase({
  id: "client/dead-letter-original",
  title: "the dead-letter copy keeps the original body bytes, every header, the key and the correlation id",
  timeoutMs: 60_000,
  async run(ctx) {
    const bus = await ctx.client();
    const queue = ctx.name("dlqorig");
    await bus.consume(
      queue,
      () => {
        throw new Error("always fails");
      },
      { retry: { maxAttempts: 2 } },
    );
    const dead: Message[] = [];
    await bus.consume(
      `${queue}.dlq`,
      (m) => {
        dead.push(m);
      },
      { codec: bytesCodec },
    );
    // JSON with its own spacing: a copy re-encoded from the decoded value would differ.
    const jsonBytes = bytes('{ "spaced" :  [1, 2 ,3] }');
    const binary = randomBody(2_048);
    const headers = { "X-Trace": "Trace-Value", unicode: "✓ 日本", empty: "" };
    const ids = [
      await bus.send(queue, jsonBytes, {
        codec: { ...bytesCodec, contentType: "application/json" },
        headers,
        key: "k-7",
        correlationId: "c-9",
      }),
      await bus.send(queue, binary, { codec: bytesCodec, headers, key: "k-8" }),
    ];
    await ctx.waitUntil(
      () => dead.length >= 2,
      40_000,
      () => `2 dead-letter copies; ${dead.length} arrived`,
    );
    const byId = new Map(dead.map((m) => [m.id, m]));
    const [j, b] = ids.map((id) => byId.get(id));
    check(j && b, "the dead-letter copies must keep the original ids");
    sameBytes(j.rawBody, jsonBytes, "body bytes of the dead-lettered JSON message");
    sameBytes(b.rawBody, binary, "body bytes of the dead-lettered binary message");
    for (const m of [j, b]) {
      for (const [name, value] of Object.entries(headers))
        equal(m.headers[name], value, `header ${JSON.stringify(name)} on the dead-letter copy`);
    }
    equal(j.key, "k-7", "key of the dead-letter copy");
    equal(j.correlationId, "c-9", "correlationId of the dead-letter copy");
    equal(
      b.headers[HeaderNames.ContentType],
      bytesCodec.contentType,
      "content type of the dead-lettered binary message",
    );
  },
});

export const clientDeadLetterNow = clientCase({
  id: "client/dead-letter-now",
  title: "DeadLetterError, and maxAttempts 1, dead-letter on the first failure",
  timeoutMs: 40_000,
  async run(ctx) {
    const bus = await ctx.client();
    const a = ctx.name("dlnow");
    const b = ctx.name("dlone");
    const runs = { a: 0, b: 0 };
    await bus.consume(a, () => {
      runs.a++;
      throw new DeadLetterError("no point retrying");
    });
    await bus.consume(
      b,
      () => {
        runs.b++;
        throw new Error("plain failure");
      },
      { retry: { maxAttempts: 1 } },
    );
    const dead: Message[] = [];
    for (const q of [a, b])
      await bus.consume(`${q}.dlq`, (m) => {
        dead.push(m);
      });
    await bus.send(a, 1);
    await bus.send(b, 2);
    await ctx.waitUntil(
      () => dead.length >= 2,
      30_000,
      () => `2 dead-letter copies; ${dead.length} arrived`,
    );
    await ctx.observe(300);
    equal(runs, { a: 1, b: 1 }, "handler runs before dead-lettering");
    const fromA = dead.find((m) => m.body === 1);
    const fromB = dead.find((m) => m.body === 2);
    equal(
      fromA?.headers[HeaderNames.DeadLetterCode],
      ErrorCode.DeadLetter,
      "dead-letter code after DeadLetterError",
    );
    equal(fromA?.headers[HeaderNames.DeadLetterAttempts], "1", "attempts after DeadLetterError");
    equal(fromB?.headers[HeaderNames.DeadLetterAttempts], "1", "attempts with maxAttempts 1");
  },
});

export const clientUndecodable = clientCase({
  id: "client/undecodable",
  title: "a body that cannot be decoded goes to the DLQ at once with OMNIBUS_DECODE",
  timeoutMs: 60_000,
  async run(ctx) {
    const bus = await ctx.client();
    const queue = ctx.name("undecodable");
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
    const bad = await bus.send(queue, bytes("{not json"), {
      codec: { ...bytesCodec, contentType: "application/json" },
    });
    const fine = await bus.send(queue, { ok: true });
    await ctx.waitUntil(
      () => dead.length >= 1 && handled.length >= 1,
      30_000,
      () => `dead: ${dead.length}, handled: ${handled.length}`,
    );
    await ctx.observe(300);
    equal(handled, [fine], "ids handled");
    equal(
      dead.map((m) => m.id),
      [bad],
      "ids dead-lettered",
    );
    equal(dead[0]!.headers[HeaderNames.DeadLetterCode], ErrorCode.Decode, "dead-letter code");
    equal(
      dead[0]!.headers[HeaderNames.DeadLetterAttempts],
      "1",
      "attempts before dead-lettering an undecodable body",
    );
  },
});

export const clientValidation = clientCase({
  id: "client/validation",
  title: "a received body that fails the contract's schema goes to the DLQ at once with OMNIBUS_VALIDATION",
  timeoutMs: 60_000,
  async run(ctx) {
    const queue = ctx.name("schema");
    const schema = {
      "~standard": {
        version: 1 as const,
        vendor: "conformance",
        validate: (value: unknown) =>
          typeof (value as { n?: unknown } | null)?.n === "number"
            ? { value }
            : { issues: [{ message: "n must be a number", path: ["n"] }] },
      },
    };
    const consumer = await ctx.client({ contract: { queues: { [queue]: schema } } });
    const handled: unknown[] = [];
    await consumer.consume(queue, (m) => {
      handled.push(m.body);
    });
    const dead: Message[] = [];
    await consumer.consume(`${queue}.dlq`, (m) => {
      dead.push(m);
    });
    const producer = await ctx.client();
    const bad = await producer.send(queue, { n: "not a number" });
    await producer.send(queue, { n: 1 });
    await ctx.waitUntil(
      () => dead.length >= 1 && handled.length >= 1,
      30_000,
      () => `dead: ${dead.length}, handled: ${handled.length}`,
    );
    equal(handled, [{ n: 1 }], "bodies handled");
    equal(dead[0]!.id, bad, "id dead-lettered");
    equal(dead[0]!.headers[HeaderNames.DeadLetterCode], ErrorCode.Validation, "dead-letter code");
  },
});
