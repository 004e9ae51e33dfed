/**
 * How an Omnibus message travels as a Pub/Sub message. The body is `data`, the key is the
 * `orderingKey`, and the envelope rides in attributes:
 *
 * - `omnibus:id`, `omnibus:ts` (ms since the epoch), and when set `omnibus:cid` (correlation id),
 *   `omnibus:reply` (reply address);
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
import type { OutboundMessage } from "@omnibus/core/adapter";

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

function fitsAttributes(m: OutboundMessage): boolean {
  const entries = Object.entries(m.headers);
  if (entries.length > MAX_ATTRIBUTES - ENVELOPE_ATTRIBUTES) return false;
  for (const [k, v] of entries) {
    if (k.length === 0 || k.startsWith("omnibus:") || k.toLowerCase().startsWith("goog")) return false;
    if (Buffer.byteLength(k) > MAX_ATTRIBUTE_KEY_BYTES || Buffer.byteLength(v) > MAX_ATTRIBUTE_VALUE_BYTES)
      return false;
  }
  for (const v of [m.id, m.correlationId, m.replyTo])
    if (v !== undefined && Buffer.byteLength(v) > MAX_ATTRIBUTE_VALUE_BYTES) return false;
  return true;
}

/** Encode one message (copies the body: the sender may reuse its buffer once send resolved). */
export function encode(m: OutboundMessage): WireMessage {
  const attributes: Record<string, string> = { [TS]: String(m.timestamp) };
  let data: Uint8Array;
  if (fitsAttributes(m)) {
    attributes[ID] = m.id;
    for (const [k, v] of Object.entries(m.headers)) attributes[k] = v;
    if (m.correlationId !== undefined) attributes[CID] = m.correlationId;
    if (m.replyTo !== undefined) attributes[REPLY] = m.replyTo;
    data = Buffer.from(m.body);
  } else {
    attributes[FRAMED] = "1";
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
  return m.key !== undefined && m.key !== ""
    ? { data, attributes, orderingKey: m.key }
    : { data, attributes };
}

/** Bytes a message takes in a publish request (data, attributes, ordering key), for batching. */
export function wireBytes(w: WireMessage): number {
  let n = w.data.byteLength + (w.orderingKey ? Buffer.byteLength(w.orderingKey) : 0) + 16;
  for (const [k, v] of Object.entries(w.attributes)) n += Buffer.byteLength(k) + Buffer.byteLength(v) + 8;
  return n;
}

/** Decode a received message; `undefined` when it is not one of ours (no `omnibus:ts`). */
export function decode(
  data: Uint8Array | string | null | undefined,
  attributes: Readonly<Record<string, string>> | null | undefined,
  orderingKey: string | null | undefined,
  messageId: string,
): Decoded {
  const attrs = attributes ?? {};
  const bytes =
    data == null ? new Uint8Array(0) : typeof data === "string" ? Buffer.from(data, "base64") : data;
  const timestamp = Number(attrs[TS] ?? Number.NaN);
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
    id: attrs[ID] ?? messageId,
    body: new Uint8Array(bytes),
    headers,
    key,
    correlationId: attrs[CID],
    replyTo: attrs[REPLY],
    timestamp: Number.isFinite(timestamp) ? timestamp : Date.now(),
  };
}
