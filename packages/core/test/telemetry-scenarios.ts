// What every broker must show with the real OpenTelemetry SDK: one connected trace per message
// from send to process, request → reply → back, and metric counts after a known workload. Used by
// telemetry.test.ts (memory) and telemetry.integ.test.ts (every real broker).
import { type Client, createClient, DeadLetterError, shortId, silentLogger } from "@omnibus/core";
import { waitFor } from "@omnibus/core/testing";
import { SpanKind } from "@opentelemetry/api";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { expect } from "vitest";
import { type Sdk, sameSpan, sdk, spanWith, total, useContextManager } from "./otel.js";

const WAIT = { timeoutMs: 30_000 };

/** Two clients (producer, consumer) on `url`, traced into one SDK; closes and deletes after `run`. */
async function withClients(
  url: string,
  consumerContext: "link" | "parent",
  run: (
    producer: Client,
    consumer: Client,
    telemetry: Sdk,
    cleanup: (fn: () => Promise<unknown>) => void,
  ) => Promise<void>,
): Promise<void> {
  useContextManager();
  const telemetry = sdk();
  const options = {
    url,
    logger: silentLogger,
    retry: { initialDelayMs: 20, maxDelayMs: 100, jitter: 0 },
    telemetry: {
      tracerProvider: telemetry.tracerProvider,
      meterProvider: telemetry.meterProvider,
      consumerContext,
    },
  };
  const producer = createClient(options);
  const consumer = createClient(options);
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    await run(producer, consumer, telemetry, (fn) => cleanups.push(fn));
  } finally {
    await consumer.close();
    for (const fn of cleanups.reverse()) await fn().catch(() => {});
    await producer.close();
    await telemetry.shutdown();
  }
}

/** The span that produced message `id`: the send span of a single send, a create span in a batch. */
function producerOf(spans: readonly ReadableSpan[], queue: string, id: string): ReadableSpan | undefined {
  return (
    spanWith(spans, `send ${queue}`, "messaging.message.id", id) ??
    spanWith(spans, `create ${queue}`, "messaging.message.id", id)
  );
}

/**
 * Send one message and a batch of two to a queue; each process span is linked to (or, with
 * `consumerContext: "parent"`, the child of) the span that produced its message.
 */
export async function sendToProcess(
  url: string,
  system: string,
  consumerContext: "link" | "parent",
): Promise<void> {
  await withClients(url, consumerContext, async (producer, consumer, telemetry, cleanup) => {
    const queue = `otel-${shortId()}`;
    const handled = new Set<string>();
    cleanup(() => producer.deleteQueue(queue));
    await consumer.consume(queue, (m) => {
      handled.add(m.id);
    });
    const ids = [
      await producer.send(queue, { n: 1 }),
      ...(await producer.sendBatch(queue, [{ body: 2 }, { body: 3 }])),
    ];
    await waitFor(() => ids.every((id) => handled.has(id)), WAIT);
    await waitFor(
      () => ids.every((id) => spanWith(telemetry.spans(), `process ${queue}`, "messaging.message.id", id)),
      WAIT,
    );
    const spans = telemetry.spans();
    for (const id of ids) {
      const made = producerOf(spans, queue, id);
      const processed = spanWith(spans, `process ${queue}`, "messaging.message.id", id)!;
      expect(made, `the producer span of ${id}`).toBeDefined();
      expect(made!.kind).toBe(SpanKind.PRODUCER);
      expect(processed.kind).toBe(SpanKind.CONSUMER);
      expect(processed.attributes).toMatchObject({
        "messaging.system": system,
        "messaging.destination.name": queue,
        "messaging.operation.type": "process",
        "messaging.operation.name": "process",
        "messaging.message.id": id,
        "omnibus.message.attempt": 1,
      });
      expect(made!.attributes).toMatchObject({
        "messaging.system": system,
        "messaging.destination.name": queue,
      });
      if (consumerContext === "parent") {
        expect(
          sameSpan(processed.parentSpanContext, made!.spanContext()),
          `process ${id} is the child of its producer`,
        ).toBe(true);
      } else {
        expect(
          processed.links.some((l) => sameSpan(l.context, made!.spanContext())),
          `process ${id} links its producer`,
        ).toBe(true);
      }
      expect(processed.events.map((e) => e.name)).toEqual(["ack"]);
    }
    const batch = spans.find(
      (s) => s.name === `send ${queue}` && s.attributes["messaging.batch.message_count"] === 2,
    )!;
    expect(batch.kind).toBe(SpanKind.CLIENT);
    expect(batch.links.length).toBe(2);
  });
}

/**
 * request → reply: the replier's process span is linked to (or the child of) the request's send
 * span, the reply's send span is its child, and the requester's process span of the reply is the
 * child of the request's send span, linked to the reply's send span.
 */
export async function requestToReply(url: string, consumerContext: "link" | "parent"): Promise<void> {
  await withClients(url, consumerContext, async (requester, replier, telemetry, cleanup) => {
    const queue = `otel-rpc-${shortId()}`;
    cleanup(() => requester.deleteQueue(queue));
    await replier.reply(queue, (m) => ({ echo: m.body }));
    const answer = await requester.request(queue, { ping: 1 }, { timeoutMs: 20_000 });
    expect(answer).toEqual({ echo: { ping: 1 } });
    const inbox = "omnibus.inbox.{client}";
    // The replier's process span ends once its reply is sent: maybe after the reply arrived.
    const names = [`send ${queue}`, `process ${queue}`, `send ${inbox}`, `process ${inbox}`];
    await waitFor(() => names.every((n) => telemetry.spans().some((s) => s.name === n)), WAIT);
    const spans = telemetry.spans();
    const request = spans.find((s) => s.name === `send ${queue}`)!;
    const served = spans.find((s) => s.name === `process ${queue}`)!;
    const reply = spans.find((s) => s.name === `send ${inbox}`)!;
    const back = spans.find((s) => s.name === `process ${inbox}`)!;
    for (const [what, span] of Object.entries({ request, served, reply, back }))
      expect(span, what).toBeDefined();
    if (consumerContext === "parent") {
      expect(sameSpan(served.parentSpanContext, request.spanContext())).toBe(true);
    } else {
      expect(served.links.some((l) => sameSpan(l.context, request.spanContext()))).toBe(true);
    }
    expect(
      sameSpan(reply.parentSpanContext, served.spanContext()),
      "the reply is sent from the process span",
    ).toBe(true);
    expect(reply.attributes["messaging.destination.temporary"]).toBe(true);
    expect(
      sameSpan(back.parentSpanContext, request.spanContext()),
      "the reply's process span is the request's child",
    ).toBe(true);
    expect(
      back.links.some((l) => sameSpan(l.context, reply.spanContext())),
      "it links the reply's send",
    ).toBe(true);
    expect(back.attributes["messaging.message.conversation_id"]).toBe(
      served.attributes["messaging.message.conversation_id"],
    );
    if (consumerContext === "parent") {
      // One trace from the request to its reply.
      const traces = new Set([request, served, reply, back].map((s) => s.spanContext().traceId));
      expect(traces.size).toBe(1);
    }
  });
}

/**
 * A known workload: 5 messages sent, 4 handled on the first attempt, 1 failing once and then
 * dead-lettered (maxAttempts 2). The counters must say exactly that.
 */
export async function metricsAfterWorkload(url: string, system: string): Promise<void> {
  await withClients(url, "link", async (producer, consumer, telemetry, cleanup) => {
    const queue = `otel-metrics-${shortId()}`;
    cleanup(() => producer.deleteQueue(queue));
    const handled = new Set<string>();
    const doomed = `doomed-${shortId()}`;
    let attempts = 0;
    await consumer.consume(
      queue,
      (m) => {
        if (m.id === doomed) {
          attempts++;
          if (m.attempt === 1) throw new Error("transient");
          throw new DeadLetterError("poison");
        }
        handled.add(m.id);
      },
      { retry: { maxAttempts: 2 } },
    );
    await producer.send(queue, { poison: true }, { id: doomed });
    const ids = await producer.sendBatch(
      queue,
      [1, 2, 3, 4].map((n) => ({ body: n })),
    );
    await waitFor(() => ids.every((id) => handled.has(id)) && attempts === 2, WAIT);
    // An adapter without stats() (Pub/Sub: the emulator has no backlog API) has no broker gauges;
    // its dead letter is seen through the DLQ send counter instead.
    const brokerState = typeof consumer.adapter.stats === "function";
    const dlq = { "messaging.destination.name": `${queue}.dlq` };
    if (brokerState) await waitFor(async () => (await consumer.stats(queue)).deadLetters === 1, WAIT);
    else
      await waitFor(
        async () => total(await telemetry.metrics(), "messaging.client.sent.messages", dlq) === 1,
        WAIT,
      );
    const dest = { "messaging.system": system, "messaging.destination.name": queue };
    await waitFor(
      async () => total(await telemetry.metrics(), "messaging.process.duration", dest) === 6,
      WAIT,
    );
    const m = await telemetry.metrics();
    expect(total(m, "messaging.client.sent.messages", dest)).toBe(5);
    expect(total(m, "messaging.client.sent.messages", dlq)).toBe(1);
    expect(total(m, "messaging.client.operation.duration", dest)).toBe(2); // one send, one batch
    expect(total(m, "messaging.client.consumed.messages", dest)).toBe(6); // 4 + the doomed one twice
    expect(total(m, "messaging.process.duration", { ...dest, "error.type": "Error" })).toBe(1);
    expect(total(m, "messaging.process.duration", { ...dest, "error.type": "OMNIBUS_DEAD_LETTER" })).toBe(1);
    expect(total(m, "omnibus.messages.retried", dest)).toBe(1);
    expect(total(m, "omnibus.messages.dead_lettered", dest)).toBe(1);
    expect(total(m, "omnibus.handlers.active", dest)).toBe(0);
    // The broker gauges of the consumer's queue: everything settled, one dead letter. Acks reach
    // some brokers after the handler returned (Kafka commits offsets in the background: a lag of 1
    // was read once right after the workload), so the gauges are read until they settle.
    if (!brokerState) return;
    let gauges = m;
    await waitFor(async () => {
      gauges = await telemetry.metrics();
      return total(gauges, "omnibus.consumer.lag", dest) === 0;
    }, WAIT);
    expect(total(gauges, "omnibus.consumer.lag", dest)).toBe(0);
    expect(total(gauges, "omnibus.dead_letter.depth", dest)).toBe(1);
  });
}
