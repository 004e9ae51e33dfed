import type { OutboundMessage } from "@omnibus/core";
import { describe, expect, it } from "vitest";
import {
  BODY_ATTRIBUTE,
  chunkBatches,
  decodeMessage,
  deduplicationId,
  delaySeconds,
  encodeMessage,
  fifoId,
  MAX_WIRE_BYTES,
  META_ATTRIBUTE,
  PLACEHOLDER_BODY,
  safeText,
} from "./wire.js";

const enc = new TextEncoder();

function roundTrip(m: OutboundMessage) {
  const wire = encodeMessage(m);
  return {
    wire,
    back: decodeMessage(wire.body, wire.attributes, { messageId: "sqs-id", sentTimestamp: "9" }),
  };
}

describe("encodeMessage / decodeMessage", () => {
  it("round-trips text bodies and every field exactly", () => {
    const m: OutboundMessage = {
      id: "id-1",
      body: enc.encode('{"a":"héllo\r\n😀"}'),
      headers: { empty: "", ünï: "çødé \u0000 \uFFFF", "omnibus-content-type": "application/json" },
      key: "",
      correlationId: "c-1",
      replyTo: "inbox",
      timestamp: 1_700_000_000_123,
    };
    const { wire, back } = roundTrip(m);
    expect(wire.body).toBe('{"a":"héllo\r\n😀"}');
    expect(Object.keys(wire.attributes)).toEqual([META_ATTRIBUTE]);
    // the metadata JSON itself must be text SQS accepts (U+0000 and U+FFFF escaped)
    expect(safeText(enc.encode(wire.attributes[META_ATTRIBUTE]!.StringValue!))).toBeDefined();
    expect(back).toEqual({
      id: "id-1",
      body: Buffer.from(m.body),
      headers: m.headers,
      key: "",
      correlationId: "c-1",
      replyTo: "inbox",
      timestamp: m.timestamp,
    });
  });

  it("sends binary bodies as a Binary attribute and empty bodies as a placeholder", () => {
    const binary = new Uint8Array([0, 255, 1, 0xc3]);
    const a = roundTrip({ id: "b", body: binary, headers: {}, timestamp: 1 });
    expect(a.wire.body).toBe(PLACEHOLDER_BODY);
    expect(a.wire.attributes[BODY_ATTRIBUTE]!.BinaryValue).toBe(binary);
    expect([...a.back.body]).toEqual([...binary]);
    const e = roundTrip({ id: "e", body: new Uint8Array(0), headers: {}, timestamp: 1 });
    expect(e.wire.body).toBe(PLACEHOLDER_BODY);
    expect(e.back.body.byteLength).toBe(0);
    const dash = roundTrip({ id: "d", body: enc.encode(PLACEHOLDER_BODY), headers: {}, timestamp: 1 });
    expect(Buffer.from(dash.back.body).toString()).toBe(PLACEHOLDER_BODY);
  });

  it("with bmpOnly, sends text with emoji as bytes and escapes them in the metadata", () => {
    const m: OutboundMessage = { id: "e", body: enc.encode("rocket 🚀"), headers: { h: "🚀" }, timestamp: 1 };
    const wire = encodeMessage(m, { bmpOnly: true });
    expect(wire.body).toBe(PLACEHOLDER_BODY);
    expect(wire.attributes[META_ATTRIBUTE]!.StringValue).not.toMatch(/[\uD800-\uDFFF]/);
    const back = decodeMessage(wire.body, wire.attributes, { messageId: "x", sentTimestamp: "1" });
    expect(Buffer.from(back.body).toString()).toBe("rocket 🚀");
    expect(back.headers).toEqual({ h: "🚀" });
    expect(encodeMessage(m).body).toBe("rocket 🚀");
  });

  it("keeps a leading byte-order mark", () => {
    const body = new Uint8Array([0xef, 0xbb, 0xbf, 0x41]);
    expect([...roundTrip({ id: "x", body, headers: {}, timestamp: 1 }).back.body]).toEqual([...body]);
  });

  it("counts size the way SQS does: body plus attribute names, types and values", () => {
    const body = new Uint8Array(1000).fill(0xff);
    const { wire } = roundTrip({ id: "s", body, headers: {}, timestamp: 1 });
    const meta = wire.attributes[META_ATTRIBUTE]!.StringValue!;
    expect(wire.size).toBe(1 + META_ATTRIBUTE.length + 6 + meta.length + BODY_ATTRIBUTE.length + 6 + 1000);
  });

  it("reads messages that did not come from Omnibus", () => {
    const back = decodeMessage(
      "plain",
      { color: { DataType: "String", StringValue: "blue" }, n: { DataType: "Number", StringValue: "3" } },
      { messageId: "m-1", sentTimestamp: "1700000000000" },
    );
    expect(back).toEqual({
      id: "m-1",
      body: Buffer.from("plain"),
      headers: { color: "blue", n: "3" },
      timestamp: 1_700_000_000_000,
    });
  });
});

describe("helpers", () => {
  it("safeText rejects invalid UTF-8 and characters SQS refuses", () => {
    expect(safeText(enc.encode("ok\t\n"))).toBe("ok\t\n");
    expect(safeText(new Uint8Array([0xc3]))).toBeUndefined();
    expect(safeText(enc.encode("a\u0001"))).toBeUndefined();
    expect(safeText(enc.encode("\uFFFE"))).toBeUndefined();
  });

  it("chunkBatches keeps order, 10 per batch and 256 KiB per batch", () => {
    const items = Array.from({ length: 25 }, (_, i) => ({ i, size: 100 }));
    expect(chunkBatches(items).map((b) => b.length)).toEqual([10, 10, 5]);
    expect(
      chunkBatches(items)
        .flat()
        .map((x) => x.i),
    ).toEqual(items.map((x) => x.i));
    const big = Array.from({ length: 4 }, (_, i) => ({ i, size: MAX_WIRE_BYTES / 2 }));
    expect(chunkBatches(big).map((b) => b.length)).toEqual([2, 2]);
  });

  it("delaySeconds rounds up so a message never comes early", () => {
    expect(delaySeconds(undefined)).toBe(0);
    expect(delaySeconds(1)).toBe(1);
    expect(delaySeconds(1000)).toBe(1);
    expect(delaySeconds(1001)).toBe(2);
  });

  it("deduplicationId: the message id, or id and correlation id together", () => {
    expect(deduplicationId({ id: "order-42" })).toBe("order-42");
    const a = deduplicationId({ id: "req-1", correlationId: "c-1" });
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(deduplicationId({ id: "req-1", correlationId: "c-1" })).toBe(a); // a resend is deduplicated
    expect(deduplicationId({ id: "req-1", correlationId: "c-2" })).not.toBe(a); // another request is not
    expect(deduplicationId({ id: "req-1c", correlationId: "-1" })).not.toBe(a);
  });

  it("fifoId keeps valid ids and hashes others", () => {
    expect(fifoId("order-42")).toBe("order-42");
    expect(fifoId("ünï")).toMatch(/^[0-9a-f]{64}$/);
    expect(fifoId("x".repeat(129))).toMatch(/^[0-9a-f]{64}$/);
  });
});
