import type { OutboundMessage } from "@omnibus/core";
import { describe, expect, it } from "vitest";
import { BatchPacker, decodeFields, joinBatches } from "./codec.js";

// A decoder for the two msgpack types the packer writes: array 32 (0xdd) and str 32 (0xdb).
function unpack(buf: Buffer): unknown {
  let off = 0;
  const read = (): unknown => {
    const type = buf[off]!;
    const n = buf.readUInt32BE(off + 1);
    off += 5;
    if (type === 0xdd) return Array.from({ length: n }, read);
    expect(type).toBe(0xdb);
    const s = buf.subarray(off, off + n);
    off += n;
    return s;
  };
  const value = read();
  expect(off).toBe(buf.length);
  return value;
}

/** The messages of a packed batch, as the send script walks it: [delay, uid, ...fields] each. */
function messagesOf(batch: Buffer): Buffer[][] {
  const flat = unpack(batch) as Buffer[];
  const out: Buffer[][] = [];
  for (let i = 0; i < flat.length; ) {
    const k = Number(flat[i + 2]!.toString());
    out.push([flat[i]!, flat[i + 1]!, ...flat.slice(i + 3, i + 3 + k)]);
    i += 3 + k;
  }
  return out;
}

/** The stream entry fields of a message, as the send script gets them. */
function encodeFields(message: OutboundMessage): Buffer[] {
  const packer = new BatchPacker();
  packer.add(message, 0, "");
  return messagesOf(packer.finish())[0]!.slice(2);
}

const toBuffers = (fields: (string | Buffer)[]) =>
  fields.map((f) => (typeof f === "string" ? Buffer.from(f) : f));

describe("stream entry codec", () => {
  it("round-trips every property, unicode and empty values, binary bodies", () => {
    const body = new Uint8Array([0, 255, 10, 13, 0]);
    const message = {
      id: "m-1",
      body,
      // An own "__proto__" header (as JSON.parse makes it) must stay a plain header.
      headers: JSON.parse(
        '{"content-type":"application/json","empty":"","uni":"ünï ✓ 日本 🚀","__proto__":"x"}',
      ),
      key: "",
      correlationId: "c",
      replyTo: "r",
      timestamp: 1_700_000_000_001,
    };
    const decoded = decodeFields("1-0", toBuffers(encodeFields(message)));
    expect(decoded.id).toBe("m-1");
    expect([...decoded.body]).toEqual([...body]);
    expect(decoded.headers).toEqual(message.headers);
    expect(Object.getPrototypeOf(decoded.headers)).toBe(Object.prototype);
    expect(Object.hasOwn(decoded.headers, "__proto__")).toBe(true);
    expect(decoded.key).toBe("");
    expect(decoded.correlationId).toBe("c");
    expect(decoded.replyTo).toBe("r");
    expect(decoded.timestamp).toBe(1_700_000_000_001);
    expect(decoded.prior).toBe(0);
  });

  it("leaves optional properties out when unset", () => {
    const fields = encodeFields({ id: "x", body: new Uint8Array(), headers: {}, timestamp: 5 });
    expect(fields.map(String)).toEqual(["id", "x", "body", "", "headers", "{}", "timestamp", "5"]);
    const decoded = decodeFields("1-0", toBuffers(fields));
    expect(decoded.key).toBeUndefined();
    expect(decoded.correlationId).toBeUndefined();
    expect(decoded.replyTo).toBeUndefined();
    expect(decoded.body.byteLength).toBe(0);
  });

  it("reads the prior delivery count written by a nack", () => {
    const fields = [
      ...encodeFields({ id: "x", body: new Uint8Array(), headers: {}, timestamp: 5 }),
      "prior",
      "3",
    ];
    expect(decodeFields("1-0", toBuffers(fields)).prior).toBe(3);
  });

  it("tolerates entries not written by Omnibus", () => {
    const decoded = decodeFields("1700000000000-3", toBuffers(["foo", "bar", "headers", "not json"]));
    expect(decoded.id).toBe("1700000000000-3");
    expect(decoded.headers).toEqual({ foo: "bar" });
    expect(decoded.timestamp).toBe(1_700_000_000_000);
  });

  it("counts body, headers and properties in the size", () => {
    const base = { id: "x", body: new Uint8Array(100), headers: {}, timestamp: 5 };
    const size = (m: OutboundMessage) => new BatchPacker().add(m, 0, "");
    expect(size(base)).toBeGreaterThanOrEqual(100);
    expect(size({ ...base, headers: { a: "ü".repeat(50) } })).toBeGreaterThanOrEqual(size(base) + 100);
  });

  it("packs a batch as msgpack arrays of strings, the layout the send script unpacks", () => {
    const packer = new BatchPacker(16);
    const body = new Uint8Array([0, 1, 2, 255]);
    const size = packer.add({ id: "a", body, headers: { h: "ü" }, key: "k", timestamp: 7 }, 0, "");
    expect(size).toBeGreaterThan(body.length);
    packer.add(
      { id: "b", body: new Uint8Array(), headers: {}, replyTo: "r", timestamp: 8 },
      250,
      "u".repeat(24),
    );
    const batch = messagesOf(packer.finish());
    expect(batch).toHaveLength(2);
    const [delay, uid, ...fields] = batch[0]!;
    expect(delay!.toString()).toBe("0");
    expect(uid!.toString()).toBe("");
    expect(decodeFields("1-0", fields)).toMatchObject({
      id: "a",
      headers: { h: "ü" },
      key: "k",
      timestamp: 7,
    });
    expect([...decodeFields("1-0", fields).body]).toEqual([...body]);
    expect(batch[1]![0]!.toString()).toBe("250");
    expect(decodeFields("1-0", batch[1]!.slice(2))).toMatchObject({ id: "b", replyTo: "r", timestamp: 8 });
  });

  it("joins unframed batches of several calls into one", () => {
    const part = (id: string) => {
      const p = new BatchPacker();
      p.add({ id, body: new Uint8Array([1]), headers: {}, timestamp: 1 }, 0, "");
      return { buf: p.unframed(), elements: p.elements };
    };
    const joined = messagesOf(joinBatches([part("a"), part("b"), part("c")]));
    expect(joined.map((m) => decodeFields("1-0", m.slice(2)).id)).toEqual(["a", "b", "c"]);
    expect(messagesOf(joinBatches([part("z")]))).toHaveLength(1);
  });
});
