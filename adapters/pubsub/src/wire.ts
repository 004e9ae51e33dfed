/**
 * How an Omnibus message travels as a Pub/Sub message. The body is `data`, the key is the
 * `orderingKey`, and the envelope rides in attributes:
 *
 * - `omnibus:id`, `omnibus:ts` (ms since the epoch) unless the id is a UUID v7 of that very
 *   millisecond (core's ids are: the id then carries the timestamp), and when set `omnibus:cid`
 *   (correlation id), `omnibus:reply` (reply address);
 * - every header as an attribute of its own name — readable by any Pub/Sub client and usable in
 *   subscription filters.
 *
 * Pub/Sub limits attributes (at most 100, keys ≤ 256 bytes, values ≤ 1024 bytes, no key starting
 * with `goog`), and core's headers may exceed them (a dead-letter reason is up to 1,024
 * characters). A message whose headers do not all fit, or that has a header named `omnibus:…`, is
 * *framed* instead: attribute `omnibus:framed` = `1`, and `data` = 4-byte big-endian length + JSON
 * `{ h: headers, c: correlationId, r: replyTo }` + body. The emulator enforces none of these
 * limits; the adapter keeps to them so that it behaves the same against Google Cloud.
 * @module
 */
import { type OutboundMessage, uuidv7Ms } from "@omnibus/core/adapter";

/** Pub/Sub's attribute limits. */
export const MAX_ATTRIBUTES = 100;
export const MAX_ATTRIBUTE_KEY_BYTES = 256;
export const MAX_ATTRIBUTE_VALUE_BYTES = 1024;
/** Attributes the envelope may take (id, ts, cid, reply, framed). */
const ENVELOPE_ATTRIBUTES = 5;

const ID = "omnibus:id";
const TS = "omnibus:ts";
const CID = "omnibus:cid";
const REPLY = "omnibus:reply";
const FRAMED = "omnibus:framed";

/** A message as the Pub/Sub publish API takes it. */
export interface WireMessage {
  readonly data: Uint8Array;
  readonly attributes: Record<string, string>;
  readonly orderingKey?: string;
}

/** A message ready to publish, and the bytes it takes in a publish request. */
export interface Encoded {
  readonly message: WireMessage;
  readonly bytes: number;
}

/** What {@link decode} reads back. */
export interface Decoded {
  readonly id: string;
  readonly body: Uint8Array;
  readonly headers: Record<string, string>;
  readonly key: string | undefined;
  readonly correlationId: string | undefined;
  readonly replyTo: string | undefined;
  readonly timestamp: number;
}

/** At most `max` UTF-8 bytes (a UTF-16 unit takes at most 3: short strings are not measured). */
const within = (s: string, max: number): boolean =>
  s.length * 3 <= max || (s.length <= max && Buffer.byteLength(s) <= max);

function fitsAttributes(m: OutboundMessage, names: readonly string[]): boolean {
  if (names.length > MAX_ATTRIBUTES - ENVELOPE_ATTRIBUTES) return false;
  for (const k of names) {
    if (k.length === 0 || k.startsWith("omnibus:") || k.toLowerCase().startsWith("goog")) return false;
    if (!within(k, MAX_ATTRIBUTE_KEY_BYTES) || !within(m.headers[k]!, MAX_ATTRIBUTE_VALUE_BYTES))
      return false;
  }
  if (!within(m.id, MAX_ATTRIBUTE_VALUE_BYTES)) return false;
  if (m.correlationId !== undefined && !within(m.correlationId, MAX_ATTRIBUTE_VALUE_BYTES)) return false;
  if (m.replyTo !== undefined && !within(m.replyTo, MAX_ATTRIBUTE_VALUE_BYTES)) return false;
  return true;
}

const NO_NAMES: readonly string[] = [];

/** True when `headers` has any (most messages have none: no array is made for them). */
function hasHeaders(headers: Readonly<Record<string, string>>): boolean {
  for (const _ in headers) return true;
  return false;
}

/** Bytes one attribute takes in a publish request (key, value, map-entry framing). */
const attributeBytes = (k: string, v: string): number => Buffer.byteLength(k) + Buffer.byteLength(v) + 8;

/**
 * Encode one message, with the bytes it takes in a publish request (data, attributes, ordering
 * key), for batching. The body is not copied: it is serialized into the request before the send
 * resolves, and never read after.
 */
export function encode(m: OutboundMessage): Encoded {
  const attributes: Record<string, string> = {};
  let bytes = 16;
  // The timestamp rides in the id when the id is a UUID v7 of that very millisecond (core's ids).
  if (uuidv7Ms(m.id) !== m.timestamp) {
    const ts = String(m.timestamp);
    attributes[TS] = ts;
    bytes += TS.length + ts.length + 8;
  }
  let data: Uint8Array;
  const names = hasHeaders(m.headers) ? Object.keys(m.headers) : NO_NAMES;
  if (fitsAttributes(m, names)) {
    attributes[ID] = m.id;
    bytes += attributeBytes(ID, m.id);
    for (const k of names) {
      const v = m.headers[k]!;
      attributes[k] = v;
      bytes += attributeBytes(k, v);
    }
    if (m.correlationId !== undefined) {
      attributes[CID] = m.correlationId;
      bytes += attributeBytes(CID, m.correlationId);
    }
    if (m.replyTo !== undefined) {
      attributes[REPLY] = m.replyTo;
      bytes += attributeBytes(REPLY, m.replyTo);
    }
    data = m.body;
  } else {
    // Framed messages always carry omnibus:ts (their id is in the frame, not in an attribute).
    if (attributes[TS] === undefined) {
      const ts = String(m.timestamp);
      attributes[TS] = ts;
      bytes += TS.length + ts.length + 8;
    }
    attributes[FRAMED] = "1";
    bytes += FRAMED.length + 1 + 8;
    const head = Buffer.from(
      JSON.stringify({ i: m.id, h: m.headers, c: m.correlationId, r: m.replyTo }),
      "utf8",
    );
    const out = Buffer.allocUnsafe(4 + head.length + m.body.byteLength);
    out.writeUInt32BE(head.length, 0);
    head.copy(out, 4);
    out.set(m.body, 4 + head.length);
    data = out;
  }
  bytes += data.byteLength;
  if (m.key !== undefined && m.key !== "") {
    bytes += Buffer.byteLength(m.key);
    return { message: { data, attributes, orderingKey: m.key }, bytes };
  }
  return { message: { data, attributes }, bytes };
}

/**
 * Decode a received message. The timestamp is `omnibus:ts`, else the one in an `omnibus:id` UUID
 * v7, else (another client's message) the time of receipt.
 */
export function decode(
  data: Uint8Array | string | null | undefined,
  attributes: Readonly<Record<string, string>> | null | undefined,
  orderingKey: string | null | undefined,
  messageId: string,
): Decoded {
  const attrs = attributes ?? {};
  const bytes =
    data == null ? new Uint8Array(0) : typeof data === "string" ? Buffer.from(data, "base64") : data;
  const ts = attrs[TS];
  const id = attrs[ID];
  const timestamp =
    ts !== undefined ? Number(ts) : id !== undefined ? (uuidv7Ms(id) ?? Number.NaN) : Number.NaN;
  const key = orderingKey ? orderingKey : undefined;
  if (attrs[FRAMED] === "1" && bytes.byteLength >= 4) {
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const len = buf.readUInt32BE(0);
    const head = JSON.parse(buf.subarray(4, 4 + len).toString("utf8")) as {
      i: string;
      h: Record<string, string>;
      c?: string;
      r?: string;
    };
    return {
      id: head.i,
      body: new Uint8Array(buf.subarray(4 + len)),
      headers: head.h,
      key,
      correlationId: head.c,
      replyTo: head.r,
      timestamp: Number.isFinite(timestamp) ? timestamp : Date.now(),
    };
  }
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrs)) if (!k.startsWith("omnibus:")) headers[k] = v;
  return {
    // A message published by another client: its Pub/Sub id.
    id: id ?? messageId,
    body: new Uint8Array(bytes),
    headers,
    key,
    correlationId: attrs[CID],
    replyTo: attrs[REPLY],
    timestamp: Number.isFinite(timestamp) ? timestamp : Date.now(),
  };
}
