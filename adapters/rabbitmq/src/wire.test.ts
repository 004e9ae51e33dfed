import type { ConsumeMessage } from "amqplib";
import { describe, expect, it } from "vitest";
import {
  delayBucket,
  deliveryAttempt,
  inboundMessage,
  messageBytes,
  overlongField,
  publishOptions,
  WireHeader,
} from "./wire.js";

function consumed(
  options: ReturnType<typeof publishOptions>,
  redelivered = false,
  extra: Record<string, unknown> = {},
) {
  return {
    content: Buffer.from("body"),
    fields: { deliveryTag: 1, redelivered, exchange: "", routingKey: "q", consumerTag: "c" },
    properties: { ...options, headers: { ...options.headers, ...extra } },
  } as unknown as ConsumeMessage;
}

describe("wire mapping", () => {
  it("round-trips id, headers, key, correlation id, reply-to, millisecond timestamp and priority", () => {
    const out = publishOptions(
      {
        id: "m-1",
        headers: { ü: "☃", empty: "", CC: "not routing", BCC: "neither" },
        key: "k",
        correlationId: "c",
        replyTo: "r",
        timestamp: 1_700_000_000_123,
        priority: 4,
      },
      true,
    );
    expect(out.persistent).toBe(true);
    expect(out.mandatory).toBe(true);
    expect(out.priority).toBe(4);
    expect(out.timestamp).toBe(1_700_000_000);
    expect(out.headers?.CC).toBeUndefined(); // RabbitMQ would route on it
    const back = inboundMessage(consumed(out));
    expect(back).toMatchObject({
      id: "m-1",
      headers: { ü: "☃", empty: "", CC: "not routing", BCC: "neither" },
      key: "k",
      correlationId: "c",
      replyTo: "r",
      timestamp: 1_700_000_000_123,
      attempt: 1,
    });
  });

  it("writes no extra header for whole-second timestamps and no key", () => {
    const out = publishOptions({ id: "m", headers: {}, timestamp: 1_700_000_000_000 }, false);
    expect(out.headers).toBeUndefined(); // no header table at all
    expect(inboundMessage(consumed(out)).timestamp).toBe(1_700_000_000_000);
  });

  it("strips broker headers (dead-lettering, delivery count) from the message headers", () => {
    const out = publishOptions({ id: "m", headers: { a: "1" }, timestamp: 0 }, false, 3);
    const back = inboundMessage(
      consumed(out, false, {
        "x-death": [{ count: 1 }],
        "x-first-death-queue": "omnibus.delay.100",
        "x-first-death-reason": "expired",
        "x-first-death-exchange": "omnibus.delay.100",
        "x-delivery-count": 2,
      }),
    );
    expect(back.headers).toEqual({ a: "1" });
    expect(back.attempt).toBe(5);
  });

  it("counts attempts: header base + x-delivery-count (quorum) or the redelivered flag (classic)", () => {
    expect(deliveryAttempt(undefined, false)).toBe(1);
    expect(deliveryAttempt(undefined, true)).toBe(2);
    expect(deliveryAttempt({ [WireHeader.Attempt]: "3" }, false)).toBe(3);
    expect(deliveryAttempt({ [WireHeader.Attempt]: "3" }, true)).toBe(4);
    expect(deliveryAttempt({ "x-delivery-count": 4 }, true)).toBe(5);
    expect(deliveryAttempt({ [WireHeader.Attempt]: "2", "x-delivery-count": 1 }, true)).toBe(3);
    expect(deliveryAttempt({ [WireHeader.Attempt]: "junk" }, false)).toBe(1);
  });

  it("turns foreign header values into strings and survives missing properties", () => {
    const msg = {
      content: Buffer.alloc(0),
      fields: { deliveryTag: 7, redelivered: false, exchange: "ex", routingKey: "", consumerTag: "c" },
      properties: { headers: { n: 5, b: true, s: "x", nested: { a: 1 } } },
    } as unknown as ConsumeMessage;
    const m = inboundMessage(msg);
    expect(m.headers).toEqual({ n: "5", b: "true", s: "x" });
    expect(m.id).toBe("ex/7");
    expect(m.key).toBeUndefined();
  });

  it("sizes messages like core: body plus UTF-8 header names and values", () => {
    expect(messageBytes({ body: new Uint8Array(10), headers: { ab: "é" } })).toBe(10 + 2 + 2);
  });
});

describe("AMQP short strings", () => {
  it("names the first field over 255 bytes: id, correlationId, replyTo, a header name", () => {
    const base = { id: "m", headers: { a: "x".repeat(100_000) }, timestamp: 0 };
    expect(overlongField(base)).toBeUndefined();
    expect(overlongField({ ...base, id: "i".repeat(255), correlationId: "é".repeat(127) })).toBeUndefined();
    expect(overlongField({ ...base, id: "i".repeat(256) })).toBe("id");
    expect(overlongField({ ...base, correlationId: "é".repeat(128) })).toBe("correlationId");
    expect(overlongField({ ...base, replyTo: "r".repeat(300) })).toBe("replyTo");
    expect(overlongField({ ...base, headers: { ["h".repeat(256)]: "" } })).toMatch(/^header name/);
    expect(overlongField({ ...base, headers: { ["h".repeat(255)]: "" } })).toBeUndefined();
  });
});

describe("delay buckets", () => {
  it("never rounds down, exact below 100 ms, at most ~10% over", () => {
    expect(delayBucket(0)).toBe(0);
    expect(delayBucket(1)).toBe(1);
    expect(delayBucket(99)).toBe(99);
    expect(delayBucket(100)).toBe(100);
    expect(delayBucket(101)).toBe(110);
    expect(delayBucket(1500)).toBe(1500);
    expect(delayBucket(1501)).toBe(1600);
    expect(delayBucket(12.2)).toBe(13);
    for (let d = 1; d < 5_000_000; d = Math.ceil(d * 1.37)) {
      const b = delayBucket(d);
      expect(b).toBeGreaterThanOrEqual(d);
      expect(b).toBeLessThanOrEqual(Math.max(d, Math.ceil(d * 1.1)));
    }
  });
});
