import { uuidv7 } from "@omnibus/core";
import type { OutboundMessage } from "@omnibus/core/adapter";
import { uuidv7Ms } from "@omnibus/core/adapter";
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
  const w = encode(m).message;
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

  it("keeps empty bodies and keys apart from none", () => {
    const body = new Uint8Array([7]);
    const w = encode({ ...base, body, key: undefined }).message;
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

  it("leaves omnibus:ts out when the id is a UUID v7 of the timestamp's millisecond", () => {
    const id = uuidv7(1_700_000_000_123);
    expect(uuidv7Ms(id)).toBe(1_700_000_000_123);
    expect(uuidv7Ms("01a2-id")).toBeUndefined();
    expect(uuidv7Ms(`${id.slice(0, 14)}4${id.slice(15)}`)).toBeUndefined(); // a UUID v4 carries no time
    const same = roundTrip({ ...base, id, headers: {} });
    expect(Object.keys(same.wire.attributes)).toEqual(["omnibus:id", "omnibus:cid", "omnibus:reply"]);
    expect(same.back.timestamp).toBe(1_700_000_000_123);
    expect(same.back.id).toBe(id);
    // A dead-lettered or forwarded message keeps an older id: its own timestamp travels.
    const other = roundTrip({ ...base, id, timestamp: 1_700_000_000_124 });
    expect(other.wire.attributes["omnibus:ts"]).toBe("1700000000124");
    expect(other.back.timestamp).toBe(1_700_000_000_124);
    const framed = roundTrip({ ...base, id, headers: { googx: "1" } });
    expect(framed.wire.attributes["omnibus:ts"]).toBe("1700000000123");
    expect(framed.back.timestamp).toBe(1_700_000_000_123);
  });

  it("counts the bytes a message takes in a request", () => {
    const e = encode(base);
    let n = e.message.data.byteLength + Buffer.byteLength("k") + 16;
    for (const [k, v] of Object.entries(e.message.attributes))
      n += Buffer.byteLength(k) + Buffer.byteLength(v) + 8;
    expect(e.bytes).toBe(n);
    const f = encode({ ...base, headers: { googx: "1" } });
    let m = f.message.data.byteLength + Buffer.byteLength("k") + 16;
    for (const [k, v] of Object.entries(f.message.attributes))
      m += Buffer.byteLength(k) + Buffer.byteLength(v) + 8;
    expect(f.bytes).toBe(m);
  });

  it("reads a message of another client: its Pub/Sub id, attributes as headers", () => {
    const back = decode(Buffer.from("hi"), { a: "1" }, "", "42");
    expect(back.id).toBe("42");
    expect(back.headers).toEqual({ a: "1" });
    expect(back.key).toBeUndefined();
  });
});
