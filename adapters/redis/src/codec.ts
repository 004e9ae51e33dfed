import type { OutboundMessage } from "@omnibus/core";

/**
 * Stream entry layout. Every message is one entry with these fields (optional ones only when set):
 * `id`, `body` (raw bytes), `headers` (JSON object of strings), `key`, `correlationId`, `replyTo`,
 * `timestamp` (decimal ms), and `prior`: how many deliveries the message had before this entry was
 * written (set when a nack re-adds it), so that `attempt = prior + delivery count`.
 */
export const F = {
  id: "id",
  body: "body",
  headers: "headers",
  key: "key",
  correlationId: "correlationId",
  replyTo: "replyTo",
  timestamp: "timestamp",
  prior: "prior",
} as const;

/** A message read back from a stream entry, before the delivery count is known. */
export interface DecodedEntry {
  id: string;
  body: Buffer;
  headers: Record<string, string>;
  key?: string;
  correlationId?: string;
  replyTo?: string;
  timestamp: number;
  prior: number;
}

const EMPTY = Buffer.alloc(0);
const KEY = Buffer.from(F.key);
const BODY = Buffer.from(F.body);
const PRIOR = Buffer.from(F.prior);
const HEADERS = Buffer.from(F.headers);
const REPLY_TO = Buffer.from(F.replyTo);
const TIMESTAMP = Buffer.from(F.timestamp);
const CORRELATION_ID = Buffer.from(F.correlationId);

/**
 * Decode the flat field list of an entry (as Buffers). Entries not written by Omnibus are tolerated:
 * the entry id stands in for a missing message id, unknown fields become headers.
 */
export function decodeFields(entryId: string, fields: readonly Buffer[]): DecodedEntry {
  const out: DecodedEntry = { id: entryId, body: EMPTY, headers: {}, timestamp: 0, prior: 0 };
  let extra: Record<string, string> | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i]!;
    const value = fields[i + 1]!;
    // Match field names on their bytes (no string per name): this runs for every message.
    switch (name.length) {
      case 2:
        if (name[0] === 0x69 && name[1] === 0x64) {
          out.id = value.toString();
          continue;
        }
        break;
      case 3:
        if (name[0] === 0x6b && name.equals(KEY)) {
          out.key = value.toString();
          continue;
        }
        break;
      case 4:
        if (name[0] === 0x62 && name.equals(BODY)) {
          out.body = value;
          continue;
        }
        break;
      case 5:
        if (name[0] === 0x70 && name.equals(PRIOR)) {
          out.prior = Number(value.toString()) || 0;
          continue;
        }
        break;
      case 7:
        if (name[0] === 0x68 && name.equals(HEADERS)) {
          out.headers = parseHeaders(value.toString());
          continue;
        }
        if (name[0] === 0x72 && name.equals(REPLY_TO)) {
          out.replyTo = value.toString();
          continue;
        }
        break;
      case 9:
        if (name[0] === 0x74 && name.equals(TIMESTAMP)) {
          out.timestamp = Number(value.toString()) || 0;
          continue;
        }
        break;
      case 13:
        if (name[0] === 0x63 && name.equals(CORRELATION_ID)) {
          out.correlationId = value.toString();
          continue;
        }
        break;
    }
    extra ??= {};
    extra[name.toString()] = value.toString();
  }
  if (extra) out.headers = { ...extra, ...out.headers };
  if (out.timestamp === 0) out.timestamp = Number(entryId.slice(0, entryId.indexOf("-"))) || 0;
  return out;
}

function parseHeaders(json: string): Record<string, string> {
  try {
    const value: unknown = JSON.parse(json);
    if (typeof value !== "object" || value === null || Array.isArray(value)) return {};
    const headers = value as Record<string, unknown>;
    // Own properties only (JSON.parse defines them, even one named __proto__); values are strings.
    for (const k of Object.keys(headers)) {
      if (typeof headers[k] !== "string") headers[k] = String(headers[k]);
    }
    return headers as Record<string, string>;
  } catch {
    return {};
  }
}

/** msgpack `str 32` of a field name, precomputed (header + bytes). */
function packedName(name: string): Buffer {
  const bytes = Buffer.from(name);
  const out = Buffer.allocUnsafe(5 + bytes.length);
  out[0] = 0xdb;
  out.writeUInt32BE(bytes.length, 1);
  bytes.copy(out, 5);
  return out;
}

const P_ID = packedName(F.id);
const P_BODY = packedName(F.body);
const P_HEADERS = packedName(F.headers);
const P_KEY = packedName(F.key);
const P_CORRELATION_ID = packedName(F.correlationId);
const P_REPLY_TO = packedName(F.replyTo);
const P_TIMESTAMP = packedName(F.timestamp);

/**
 * Packs a batch of messages into one msgpack buffer, unpacked on the server by the send script
 * (`cmsgpack.unpack`): one argument for the whole batch instead of a dozen per message, which is
 * what a client library spends most of its time on. Layout: one flat array of msgpack strings
 * (Lua strings are binary-safe), for each message `delay ms, uid, k, field, value, …` with `k`
 * fields and values (flat: no table per message on the server). Only the `str 32` and `array 32`
 * types are written: fixed-size headers, one pass.
 */
export class BatchPacker {
  private buf: Buffer;
  private off = 5;
  private count = 0;
  private values = 0;

  constructor(sizeHint = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(Math.max(1024, sizeHint));
  }

  /** Messages added so far. */
  get length(): number {
    return this.count;
  }

  /** Array elements packed so far (for the batch header). */
  get elements(): number {
    return this.values;
  }

  /** Bytes packed so far. */
  get bytes(): number {
    return this.off;
  }

  /** Add one message; returns its packed size (body, headers and properties, for the size limit). */
  add(message: OutboundMessage, delayMs: number, uid: string): number {
    const start = this.off;
    const fields =
      6 +
      (message.key !== undefined ? 2 : 0) +
      (message.correlationId !== undefined ? 2 : 0) +
      (message.replyTo !== undefined ? 2 : 0);
    this.str(String(delayMs));
    this.str(uid);
    this.str(String(fields + 2));
    this.raw(P_ID);
    this.str(message.id);
    this.raw(P_BODY);
    this.bin(message.body);
    this.raw(P_HEADERS);
    this.str(JSON.stringify(message.headers));
    if (message.key !== undefined) {
      this.raw(P_KEY);
      this.str(message.key);
    }
    if (message.correlationId !== undefined) {
      this.raw(P_CORRELATION_ID);
      this.str(message.correlationId);
    }
    if (message.replyTo !== undefined) {
      this.raw(P_REPLY_TO);
      this.str(message.replyTo);
    }
    this.raw(P_TIMESTAMP);
    this.str(String(message.timestamp));
    this.count++;
    this.values += 3 + fields + 2;
    return this.off - start;
  }

  /** The packed batch (a view of the internal buffer: use it before adding more). */
  finish(): Buffer {
    return frameBatch(this.values, this.buf.subarray(0, this.off));
  }

  /**
   * The packed messages with 5 bytes reserved in front for the batch header, to be framed later
   * with {@link frameBatch} or joined with others by {@link joinBatches}.
   */
  unframed(): Buffer {
    return this.buf.subarray(0, this.off);
  }

  private ensure(n: number): void {
    if (this.off + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.off + n));
    this.buf.copy(next, 0, 0, this.off);
    this.buf = next;
  }

  private str(s: string): void {
    const n = s.length;
    this.ensure(5 + n * 3);
    const buf = this.buf;
    const at = this.off + 5;
    let len = -1;
    if (n < 64) {
      // Short ASCII strings (ids, numbers, most header JSON) are copied by hand: cheaper than a
      // call into the native UTF-8 encoder for each.
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c > 0x7f) break;
        buf[at + i] = c;
      }
      if (i === n) len = n;
    }
    if (len < 0) len = buf.write(s, at);
    buf[this.off] = 0xdb;
    buf.writeUInt32BE(len, this.off + 1);
    this.off = at + len;
  }

  private bin(b: Uint8Array): void {
    this.ensure(5 + b.byteLength);
    this.buf[this.off] = 0xdb;
    this.buf.writeUInt32BE(b.byteLength, this.off + 1);
    this.buf.set(b, this.off + 5);
    this.off += 5 + b.byteLength;
  }

  private raw(b: Buffer): void {
    this.ensure(b.length);
    b.copy(this.buf, this.off);
    this.off += b.length;
  }
}

/** Write the batch header (array 32 of `elements`) into the 5 bytes reserved at the front of `unframed`. */
export function frameBatch(elements: number, unframed: Buffer): Buffer {
  unframed[0] = 0xdd;
  unframed.writeUInt32BE(elements, 1);
  return unframed;
}

/** One batch of the messages of several unframed batches (each with its 5 reserved bytes). */
export function joinBatches(parts: readonly { readonly elements: number; readonly buf: Buffer }[]): Buffer {
  if (parts.length === 1) return frameBatch(parts[0]!.elements, parts[0]!.buf);
  let count = 0;
  let length = 5;
  for (const p of parts) {
    count += p.elements;
    length += p.buf.length - 5;
  }
  const out = Buffer.allocUnsafe(length);
  let off = 5;
  for (const p of parts) off += p.buf.copy(out, off, 5);
  return frameBatch(count, out);
}

/**
 * The size of a message as core measures it against `features.maxMessageBytes`: body bytes plus
 * the UTF-8 bytes of every header name and value. The adapter's own fields do not count: the
 * adapter must accept every message core lets through. Exact when over `max`; when the message
 * surely fits, a cheaper figure that is at most `max`.
 */
export function messageBytes(message: OutboundMessage, max: number): number {
  const headers = message.headers;
  let chars = 0;
  for (const k in headers) chars += k.length + headers[k]!.length;
  // Exact UTF-8 sizes only when an upper bound (3 bytes per UTF-16 unit) could pass the limit.
  if (message.body.byteLength + 3 * chars <= max) return message.body.byteLength + chars;
  let bytes = message.body.byteLength;
  for (const k in headers) bytes += Buffer.byteLength(k) + Buffer.byteLength(headers[k]!);
  return bytes;
}
