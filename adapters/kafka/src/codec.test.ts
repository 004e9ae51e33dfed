import type { OutboundMessage } from "@omnibus/core";
import type { KafkaMessage, Message } from "kafkajs";
import { describe, expect, it } from "vitest";
import { fromRecord, Header, messageSize, toRecord } from "./codec.js";

/** What kafkajs hands a consumer for a record it produced from `record`. */
function asFetched(record: Message, offset = "7"): KafkaMessage {
  // Own properties even for "__proto__", as kafkajs's decoder makes them.
  const headers = Object.fromEntries(
    Object.entries(record.headers ?? {}).map(([k, v]) => [k, Buffer.from(v as string)]),
  );
  return {
    key: record.key === null || record.key === undefined ? null : Buffer.from(record.key),
    value: record.value === null ? null : Buffer.from(record.value),
    timestamp: record.timestamp!,
    attributes: 0,
    offset,
    headers,
  };
}

const base: OutboundMessage = {
  id: "id-1",
  body: new Uint8Array([0, 1, 2, 255]),
  headers: {},
  timestamp: Date.now(),
};

describe("codec", () => {
  it("round-trips every field, unicode and empty headers", () => {
    const message: OutboundMessage = {
      ...base,
      headers: { unicode: "ünïcødé ✓ 日本", empty: "", "x-dash_under.dot": "1", ключ: "значение" },
      key: "customer-7",
      correlationId: "corr-1",
      replyTo: "inbox-1",
    };
    const decoded = fromRecord("t", 0, asFetched(toRecord(message, message.timestamp)));
    expect(decoded.id).toBe("id-1");
    expect([...decoded.body]).toEqual([0, 1, 2, 255]);
    expect(decoded.headers).toEqual(message.headers);
    expect(decoded.key).toBe("customer-7");
    expect(decoded.correlationId).toBe("corr-1");
    expect(decoded.replyTo).toBe("inbox-1");
    expect(decoded.timestamp).toBe(message.timestamp);
    expect(decoded.attempt).toBe(1);
    expect(decoded.dueAt).toBeUndefined();
  });

  it("keeps application headers that look like internal ones", () => {
    const headers = { "@id": "mine", "@@x": "double", "@": "at", "@due": "never" };
    const record = toRecord({ ...base, headers }, base.timestamp);
    expect(Object.keys(record.headers!)).toContain("@@id");
    const decoded = fromRecord("t", 0, asFetched(record));
    expect(decoded.headers).toEqual(headers);
    expect(decoded.id).toBe("id-1");
    expect(decoded.dueAt).toBeUndefined();
  });

  it("keeps a header named __proto__ as a plain header", () => {
    const headers = JSON.parse('{"__proto__":"p"}') as Record<string, string>;
    const decoded = fromRecord("t", 0, asFetched(toRecord({ ...base, headers }, base.timestamp)));
    expect(Object.getOwnPropertyDescriptor(decoded.headers, "__proto__")?.value).toBe("p");
    expect(Object.getPrototypeOf(decoded.headers)).toBe(Object.prototype);
  });

  it("uses the record timestamp near now and a header for far ones", () => {
    const now = Date.now();
    const near = toRecord({ ...base, timestamp: now - 1000 }, now);
    expect(near.timestamp).toBe(String(now - 1000));
    expect(near.headers![Header.timestamp]).toBeUndefined();
    const old = toRecord({ ...base, timestamp: 1_000 }, now);
    expect(old.timestamp).toBe(String(now));
    expect(fromRecord("t", 0, asFetched(old)).timestamp).toBe(1_000);
  });

  it("writes attempt and due time only when they say something", () => {
    const plain = toRecord(base, base.timestamp, { attempt: 1 });
    expect(plain.headers![Header.attempt]).toBeUndefined();
    const retry = toRecord(base, base.timestamp, { attempt: 3, dueAt: 123 });
    const decoded = fromRecord("t", 0, asFetched(retry));
    expect(decoded.attempt).toBe(3);
    expect(decoded.dueAt).toBe(123);
  });

  it("writes one internal header, with core's own headers in it", () => {
    const headers = { "omnibus-content-type": "application/json", plain: "p" };
    const record = toRecord({ ...base, headers, correlationId: "c", replyTo: "r" }, base.timestamp, {
      attempt: 2,
      dueAt: 99,
    });
    expect(Object.keys(record.headers!).sort()).toEqual([Header.meta, "plain"]);
    const decoded = fromRecord("t", 0, asFetched(record));
    expect(decoded.headers).toEqual(headers);
    expect([decoded.id, decoded.correlationId, decoded.replyTo, decoded.attempt, decoded.dueAt]).toEqual([
      "id-1",
      "c",
      "r",
      2,
      99,
    ]);
    const odd = toRecord({ ...base, timestamp: Number.NaN }, base.timestamp);
    expect(fromRecord("t", 0, asFetched(odd)).timestamp).toBeNaN();
  });

  it("reads records written with one header per field, and ignores a foreign @m", () => {
    const old: KafkaMessage = {
      key: null,
      value: Buffer.from("v"),
      timestamp: "5",
      attributes: 0,
      offset: "1",
      headers: {
        "@id": Buffer.from("old-1"),
        "@cid": Buffer.from("c"),
        "@rt": Buffer.from("r"),
        "@ts": Buffer.from("7"),
        "@at": Buffer.from("3"),
        "@due": Buffer.from("11"),
        "omnibus-content-type": Buffer.from("text/plain"),
      },
    };
    const decoded = fromRecord("t", 0, old);
    expect([decoded.id, decoded.correlationId, decoded.replyTo, decoded.timestamp]).toEqual([
      "old-1",
      "c",
      "r",
      7,
    ]);
    expect([decoded.attempt, decoded.dueAt]).toEqual([3, 11]);
    expect(decoded.headers).toEqual({ "omnibus-content-type": "text/plain" });
    const foreign = fromRecord("t", 0, { ...old, headers: { "@m": Buffer.from("not json") } });
    expect(foreign.id).toBe("t-0-1");
  });

  it("maps an empty body to an empty value, never a tombstone, and back", () => {
    const record = toRecord({ ...base, body: new Uint8Array(0) }, base.timestamp);
    expect(record.value).toEqual(Buffer.alloc(0));
    expect(fromRecord("t", 0, asFetched(record)).body.byteLength).toBe(0);
    expect(fromRecord("t", 0, { ...asFetched(record), value: null }).body.byteLength).toBe(0);
  });

  it("names records from other producers by position and reads their key", () => {
    const foreign: KafkaMessage = {
      key: Buffer.from("k"),
      value: Buffer.from("v"),
      timestamp: "5",
      attributes: 0,
      offset: "42",
      headers: { plain: Buffer.from("h") },
    };
    const decoded = fromRecord("orders", 2, foreign);
    expect(decoded.id).toBe("orders-2-42");
    expect(decoded.key).toBe("k");
    expect(decoded.headers).toEqual({ plain: "h" });
    expect(decoded.timestamp).toBe(5);
  });

  it("counts body and header bytes for the size limit", () => {
    expect(messageSize({ ...base, body: new Uint8Array(10), headers: { ab: "✓" } })).toBe(10 + 2 + 3);
  });
});
