import { MsgHdrsImpl } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import {
  decodeName,
  decodeValue,
  dedupId,
  encodeName,
  encodeValue,
  envelopeToHeaders,
  H_ID,
  H_REPLY_INBOX,
  H_TIMESTAMP,
  HeaderBlock,
  headerBlock,
  headersToEnvelope,
  idFromDedupId,
  idOnlyBlock,
  uuidv7Time,
  uuidv7TimeAt,
} from "./wire.js";

/** What the NATS client does to a value on the way: it rejects CR/LF and trims. */
function natsValue(v: string): string {
  if (/[\r\n]/.test(v)) throw new Error("CR/LF in a header value");
  return v.trim();
}

/** A NATS header name: printable ASCII, no colon. */
function natsName(k: string): string {
  if (k.length === 0 || /[^\x21-\x7e]|:/.test(k)) throw new Error(`bad name ${JSON.stringify(k)}`);
  return k;
}

const values = [
  "",
  "plain",
  "héllo ✓ 日本 🚀",
  "  leading and trailing  ",
  "\ttab",
  "line\r\nbreak",
  "100%",
  "%41 is not A",
  "\u00a0nbsp\u2028",
  " ",
  "a:b: c",
];

describe("header values", () => {
  it.each(values)("round-trips %j through NATS", (v) => {
    expect(decodeValue(natsValue(encodeValue(v)))).toBe(v);
  });

  it("leaves ordinary values readable", () => {
    expect(encodeValue("héllo ✓ world")).toBe("héllo ✓ world");
    expect(encodeValue("")).toBe("");
  });
});

describe("header names", () => {
  const names = [
    "content-type",
    "omnibus-content-type",
    "X-Mixed-Case",
    "x-mixed-case",
    "",
    "with space",
    "colon:name",
    "ünïcode",
    "100%",
    "Nats-Msg-Id",
    "nats-rollup",
    "Omnibus-Key",
    "omnibus-timestamp",
    "%4Eats",
  ];
  it.each(names)("round-trips %j as a valid NATS name", (k) => {
    expect(decodeName(natsName(encodeName(k)))).toBe(k);
  });

  it("is injective", () => {
    const encoded = names.map(encodeName);
    expect(new Set(encoded).size).toBe(names.length);
  });

  it("never lets an application header pose as a server or envelope header", () => {
    expect(encodeName("Nats-Msg-Id").toLowerCase().startsWith("nats-")).toBe(false);
    expect(encodeName("Omnibus-Reply-Inbox")).not.toBe(H_REPLY_INBOX);
    expect(encodeName("omnibus-content-type")).toBe("omnibus-content-type");
  });
});

describe("envelope", () => {
  it("round-trips every field and header", () => {
    const message = {
      id: "id-1",
      headers: { a: "1", "": "empty name", " sp ": " sp ", "Nats-Msg-Id": "spoof", "omnibus-key": "k" },
      key: "ключ",
      correlationId: "c 1 ",
      replyTo: "inbox.1",
      timestamp: 1_700_000_000_123,
    };
    const lines = envelopeToHeaders(message, true).map(
      ([k, v]) => [natsName(k), [natsValue(v)]] as [string, string[]],
    );
    expect(lines.filter(([k]) => k === H_ID)).toEqual([[H_ID, ["id-1%%c 1%20"]]]);
    const back = headersToEnvelope(lines);
    expect(back).toEqual({
      id: "id-1",
      headers: message.headers,
      key: "ключ",
      correlationId: "c 1 ",
      replyTo: "inbox.1",
      replyIsInbox: true,
      timestamp: 1_700_000_000_123,
    });
  });

  it("omits absent fields and skips server headers", () => {
    const lines = envelopeToHeaders({ id: "x", headers: {}, timestamp: 5 }, false);
    const back = headersToEnvelope([
      ...lines.map(([k, v]) => [k, [v]] as [string, string[]]),
      ["Nats-Stream-Source", ["s"]],
    ]);
    expect(back).toEqual({
      id: "x",
      headers: {},
      key: undefined,
      correlationId: undefined,
      replyTo: undefined,
      replyIsInbox: false,
      timestamp: 5,
    });
  });
});

describe("timestamp implied by a UUID version 7 id", () => {
  const id = "019ad81a-2b3c-7def-8123-456789abcdef"; // 0x019ad81a2b3c ms
  const ms = 0x019ad81a2b3c;
  const read = (m: {
    id: string;
    headers: Record<string, string>;
    timestamp: number;
    correlationId?: string;
  }) => headersToEnvelope(envelopeToHeaders(m, false).map(([k, v]) => [k, [v]] as [string, string[]]));

  it("is left out when the id carries it, and read back from the id", () => {
    expect(uuidv7Time(id)).toBe(ms);
    const lines = envelopeToHeaders({ id, headers: {}, timestamp: ms }, false);
    expect(lines.map(([k]) => k)).toEqual([H_ID]);
    expect(read({ id, headers: {}, timestamp: ms }).timestamp).toBe(ms);
    expect(read({ id, headers: {}, timestamp: ms, correlationId: "c" })).toMatchObject({ id, timestamp: ms });
  });

  it("reads the same from bytes as from the string, for every one-character change of an id", () => {
    const chars = [
      "0",
      "7",
      "8",
      "9",
      "a",
      "b",
      "f",
      "g",
      "A",
      "F",
      "-",
      " ",
      "ä",
      "€",
      "\u0161",
      "\u{1f600}",
    ];
    const cases = [id, "", `${id}0`, id.slice(1)];
    for (let i = 0; i < id.length; i++)
      for (const c of chars) cases.push(id.slice(0, i) + c + id.slice(i + 1));
    for (const s of cases) {
      const bytes = Buffer.from(s, "utf8");
      const fromBytes = bytes.length === 36 ? uuidv7TimeAt(bytes, 0) : undefined;
      expect([s, fromBytes]).toEqual([s, uuidv7Time(s)]);
    }
  });

  it("is written when it differs from the id's, or the id is not a canonical UUID v7", () => {
    for (const [mid, ts] of [
      [id, ms + 1],
      [id, ms - 0.5],
      [id.toUpperCase(), ms],
      [`${id.slice(0, 14)}4${id.slice(15)}`, ms], // version 4
      [`${id}x`, ms],
      [`${id.slice(0, 35)}\u0161`, ms], // one character that latin1 would write as "a"
    ] as const) {
      const lines = envelopeToHeaders({ id: mid, headers: {}, timestamp: ts }, false);
      expect(lines.map(([k]) => k)).toContain(H_TIMESTAMP);
      expect(read({ id: mid, headers: {}, timestamp: ts })).toMatchObject({ id: mid, timestamp: ts });
    }
  });
});

describe("Nats-Msg-Id (the de-duplication key)", () => {
  const ids = ["id", "", " x ", "a%%b", "%", "%%", "a%25b", "ü", "c 1 "];

  it("is the id alone without a correlation id, so a resend is still dropped", () => {
    for (const id of ids) {
      expect(dedupId({ id })).toBe(encodeValue(id));
      expect(idFromDedupId(dedupId({ id }))).toBe(id);
    }
  });

  it("tells apart messages sharing an id with other correlation ids, and gives the id back", () => {
    const seen = new Map<string, string>();
    for (const id of ids) {
      for (const correlationId of [undefined, ...ids]) {
        const key = dedupId({ id, correlationId });
        const owner = JSON.stringify([id, correlationId]);
        expect(seen.get(key) ?? owner).toBe(owner);
        seen.set(key, owner);
        expect(idFromDedupId(key)).toBe(id);
        expect(natsValue(key)).toBe(key);
      }
    }
  });
});

describe("HeaderBlock", () => {
  it("is what the NATS client itself parses back into the same envelope", () => {
    const message = {
      id: " id with spaces ",
      headers: {
        "omnibus-content-type": "application/json",
        uni: "日本 ✓",
        empty: "",
        crlf: "a\r\nb",
        "": "x",
      },
      key: "k",
      replyTo: "r",
      timestamp: 42,
    };
    const block = new HeaderBlock(envelopeToHeaders(message, false));
    const parsed = MsgHdrsImpl.decode(block.encode());
    const back = headersToEnvelope(parsed as unknown as Iterable<[string, string[]]>);
    expect(back).toMatchObject({
      id: message.id,
      headers: message.headers,
      key: "k",
      replyTo: "r",
      timestamp: 42,
    });
  });

  it("of an id-only message is the same bytes as the general path, and parses back", () => {
    const id = "019ad81a-2b3c-7def-8123-456789abcdef";
    const message = { id, headers: {}, timestamp: 0x019ad81a2b3c };
    const block = headerBlock(message, false);
    expect(Buffer.from(block.bytes).toString("latin1")).toBe(`NATS/1.0\r\nNats-Msg-Id: ${id}\r\n\r\n`);
    expect(Buffer.from(block.bytes)).toEqual(
      Buffer.from(new HeaderBlock(envelopeToHeaders(message, false)).bytes),
    );
    const back = headersToEnvelope(
      MsgHdrsImpl.decode(block.encode()) as unknown as Iterable<[string, string[]]>,
    );
    expect(back).toMatchObject({ id, headers: {}, timestamp: message.timestamp });
    expect(idOnlyBlock(block.bytes)).toEqual({ id, timestamp: message.timestamp });
    expect(idOnlyBlock(new HeaderBlock([["Nats-Msg-Id", id.toUpperCase()]]).bytes)).toBeUndefined();
    expect(
      idOnlyBlock(new HeaderBlock(envelopeToHeaders({ ...message, key: "k" }, false)).bytes),
    ).toBeUndefined();
    expect(
      idOnlyBlock(
        new HeaderBlock([
          ["Nats-Msg-Id", "x".repeat(35)],
          ["A", ""],
        ]).bytes,
      ),
    ).toBeUndefined();
    for (const other of [
      { key: "k" },
      { correlationId: "c" },
      { replyTo: "r" },
      { headers: { a: "1" } },
      { timestamp: 1 },
    ]) {
      const m = { ...message, ...other };
      expect(Buffer.from(headerBlock(m, false).bytes)).toEqual(
        Buffer.from(new HeaderBlock(envelopeToHeaders(m, false)).bytes),
      );
    }
  });
});
