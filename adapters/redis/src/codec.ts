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

/** The `XADD` arguments of one message, and its size. */
export interface EncodedEntry {
  /** `head` (stream key, id spec), then the field/value list. */
  readonly args: (string | Buffer)[];
  /** Bytes on the broker: body, headers and properties (for `maxMessageBytes`). */
  readonly bytes: number;
}

/**
 * Encode one message as `XADD` arguments, after `head` (e.g. `[key, "*"]`), measuring its size in
 * the same pass (this runs for every message sent).
 */
export function encodeEntry(message: OutboundMessage, head: readonly (string | Buffer)[] = []): EncodedEntry {
  const body = message.body;
  const headers = JSON.stringify(message.headers);
  const args: (string | Buffer)[] = [
    ...head,
    F.id,
    message.id,
    F.body,
    Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength),
    F.headers,
    headers,
  ];
  let bytes = body.byteLength + Buffer.byteLength(headers) + message.id.length + 60;
  if (message.key !== undefined) {
    args.push(F.key, message.key);
    bytes += message.key.length;
  }
  if (message.correlationId !== undefined) {
    args.push(F.correlationId, message.correlationId);
    bytes += message.correlationId.length;
  }
  if (message.replyTo !== undefined) {
    args.push(F.replyTo, message.replyTo);
    bytes += message.replyTo.length;
  }
  args.push(F.timestamp, String(message.timestamp));
  return { args, bytes };
}

/** The field/value list of one message (no head). */
export function encodeFields(message: OutboundMessage): (string | Buffer)[] {
  return encodeEntry(message).args;
}

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
