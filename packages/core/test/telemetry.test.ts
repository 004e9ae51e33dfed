// Tracing and metrics with the real OpenTelemetry SDK on the reference broker (@omnibus/memory);
// the same scenarios run on every real broker in telemetry.integ.test.ts.
import { createClient, SEMCONV_VERSION, shortId, silentLogger } from "@omnibus/core";
import { waitFor } from "@omnibus/core/testing";
import { propagation, SpanKind, trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { afterEach, describe, expect, it } from "vitest";
import { sameSpan, sdk, spanWith, useContextManager } from "./otel.js";
import { metricsAfterWorkload, requestToReply, sendToProcess } from "./telemetry-scenarios.js";

const url = "memory://telemetry";

describe("tracing and metrics (memory)", () => {
  afterEach(() => propagation.disable());

  it("pins the semantic conventions version", () => {
    expect(SEMCONV_VERSION).toBe("1.30.0");
  });

  it("links each process span to the span that produced its message", () =>
    sendToProcess(url, "memory", "link"));
  it("makes the producer span the parent with consumerContext: parent", () =>
    sendToProcess(url, "memory", "parent"));
  it("traces request → reply → back (link)", () => requestToReply(url, "link"));
  it("traces request → reply → back in one trace (parent)", () => requestToReply(url, "parent"));
  it("counts a known workload", () => metricsAfterWorkload(url, "memory"));

  it("carries W3C traceparent through the application's global propagator, and tracestate", async () => {
    useContextManager();
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    const telemetry = sdk();
    const bus = createClient({
      url,
      logger: silentLogger,
      telemetry: { tracerProvider: telemetry.tracerProvider, meterProvider: telemetry.meterProvider },
    });
    try {
      const topic = `otel-topic-${shortId()}`;
      const seen: Record<string, string>[] = [];
      await bus.subscribe(topic, { group: "g" }, (m) => {
        seen.push({ ...m.headers });
      });
      const id = await bus.publish(topic, { x: 1 });
      await waitFor(() => seen.length === 1);
      const sent = spanWith(telemetry.spans(), `send ${topic}`, "messaging.message.id", id)!;
      expect(sent.kind).toBe(SpanKind.PRODUCER);
      expect(sent.attributes["messaging.operation.name"]).toBe("publish");
      const sc = sent.spanContext();
      expect(seen[0]!.traceparent).toBe(`00-${sc.traceId}-${sc.spanId}-01`);
      await waitFor(
        () => spanWith(telemetry.spans(), `process ${topic}`, "messaging.message.id", id) !== undefined,
      );
      const processed = spanWith(telemetry.spans(), `process ${topic}`, "messaging.message.id", id)!;
      expect(processed.attributes).toMatchObject({
        "messaging.consumer.group.name": "g",
        "messaging.destination.subscription.name": "g",
      });
      expect(processed.links.some((l) => sameSpan(l.context, sc))).toBe(true);
      await bus.deleteTopic(topic);
    } finally {
      await bus.close();
      await telemetry.shutdown();
    }
  });

  it("records a failed handler on its span (error.type, status) and the retry as a nack event", async () => {
    useContextManager();
    const telemetry = sdk();
    const bus = createClient({
      url,
      logger: silentLogger,
      retry: { initialDelayMs: 10, jitter: 0 },
      telemetry: { tracerProvider: telemetry.tracerProvider, meterProvider: telemetry.meterProvider },
    });
    try {
      const queue = `otel-fail-${shortId()}`;
      let calls = 0;
      await bus.consume(queue, () => {
        if (++calls === 1) throw Object.assign(new Error("db down"), { code: "DB_DOWN" });
      });
      const id = await bus.send(queue, 1);
      await waitFor(() => telemetry.spans().filter((s) => s.name === `process ${queue}`).length === 2);
      const [first, second] = telemetry.spans().filter((s) => s.name === `process ${queue}`);
      expect(first!.attributes).toMatchObject({
        "messaging.message.id": id,
        "error.type": "DB_DOWN",
        "omnibus.message.attempt": 1,
      });
      expect(first!.status.code).toBe(2); // ERROR
      expect(first!.events.map((e) => e.name)).toContain("nack");
      expect(second!.attributes).toMatchObject({ "omnibus.message.attempt": 2 });
      expect(second!.events.map((e) => e.name)).toEqual(["ack"]);
      await bus.deleteQueue(queue);
    } finally {
      await bus.close();
      await telemetry.shutdown();
    }
  });

  it("records nothing and adds no header with telemetry: { enabled: false }", async () => {
    const telemetry = sdk();
    const bus = createClient({
      url,
      logger: silentLogger,
      telemetry: { enabled: false, tracerProvider: telemetry.tracerProvider },
    });
    try {
      const queue = `otel-off-${shortId()}`;
      const seen: Record<string, string>[] = [];
      await bus.consume(queue, (m) => {
        seen.push({ ...m.headers });
      });
      await bus.send(queue, 1);
      await waitFor(() => seen.length === 1);
      expect(seen[0]).toEqual({});
      expect(telemetry.spans()).toEqual([]);
      await bus.deleteQueue(queue);
    } finally {
      await bus.close();
      await telemetry.shutdown();
    }
  });

  it("finds a global tracer provider registered after the client connected (none: no spans, no headers)", async () => {
    const telemetry = sdk();
    const bus = createClient({ url, logger: silentLogger });
    try {
      const queue = `otel-global-${shortId()}`;
      const seen: Record<string, string>[] = [];
      await bus.consume(queue, (m) => {
        seen.push({ ...m.headers });
      });
      await bus.send(queue, 1); // no SDK yet
      await waitFor(() => seen.length === 1);
      expect(seen[0]).toEqual({});
      trace.setGlobalTracerProvider(telemetry.tracerProvider);
      const id = await bus.send(queue, 2);
      await waitFor(() => seen.length === 2);
      expect(seen[1]!.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      await waitFor(
        () => spanWith(telemetry.spans(), `process ${queue}`, "messaging.message.id", id) !== undefined,
      );
      await bus.deleteQueue(queue);
    } finally {
      trace.disable();
      await bus.close();
      await telemetry.shutdown();
    }
  });

  it("rejects a malformed telemetry option with OMNIBUS_CONFIG", () => {
    expect(() => createClient({ url, telemetry: { consumerContext: "child" as "link" } })).toThrow(
      expect.objectContaining({ code: "OMNIBUS_CONFIG" }),
    );
  });
});
