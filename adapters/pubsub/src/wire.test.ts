import type { OutboundMessage } from "@omnibus/core/adapter";
import { describe, expect, it } from "vitest";
import { decode, encode } from "./wire.js";

const base: OutboundMessage = {
  id: "01a2-id",
  body: new Uint8Array([0, 1, 2, 255]),
  headers: { "Content-Type": "x", ünï: "", "omnibus-attempt-reason": "r" },
  key: "k",
  correlationId: "c",
  replyTo: "inbox",
  timestamp: 1_700_000_000_123,
};

const roundTrip = (m: OutboundMessage) => {
  const w = encode(m);
  return { wire: w, back: decode(w.data, w.attributes, w.orderingKey, "pubsub-id") };
};

describe("pubsub wire", () => {
  it("puts headers in attributes when they fit, and reads every field back", () => {
    const { wire, back } = roundTrip(base);
    expect(wire.attributes["Content-Type"]).toBe("x");
    expect(wire.attributes["omnibus:framed"]).toBeUndefined();
    expect(wire.orderingKey).toBe("k");
    expect(back).toEqual({ ...base, body: base.body, key: "k" });
  });

  it("frames a message whose headers exceed Pub/Sub's attribute limits", () => {
    for (const headers of [
      { big: "v".repeat(1025) },
      { ["k".repeat(257)]: "v" },
      { googfoo: "1" },
      { "omnibus:id": "spoof" },
      Object.fromEntries(Array.from({ length: 96 }, (_, i) => [`h${i}`, "v"])),
    ]) {
      const m = { ...base, headers };
      const { wire, back } = roundTrip(m);
      expect(wire.attributes["omnibus:framed"]).toBe("1");
      expect(back.headers).toEqual(headers);
      expect(back.id).toBe(base.id);
      expect([...back.body]).toEqual([...base.body]);
      expect(back.correlationId).toBe("c");
    }
  });

  it("copies the body and keeps empty bodies and keys apart from none", () => {
    const body = new Uint8Array([7]);
    const w = encode({ ...base, body, key: undefined });
    body[0] = 9;
    expect([...w.data]).toEqual([7]);
    expect(w.orderingKey).toBeUndefined();
    const empty = roundTrip({
      ...base,
      body: new Uint8Array(0),
      correlationId: undefined,
      replyTo: undefined,
    });
    expect(empty.back.body.byteLength).toBe(0);
    expect(empty.back.correlationId).toBeUndefined();
  });

  it("reads a message of another client: its Pub/Sub id, attributes as headers", () => {
    const back = decode(Buffer.from("hi"), { a: "1" }, "", "42");
    expect(back.id).toBe("42");
    expect(back.headers).toEqual({ a: "1" });
    expect(back.key).toBeUndefined();
  });
});
