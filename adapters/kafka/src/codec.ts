/**
 * Mapping between Omnibus messages and Kafka records.
 *
 * The record key is the message key and the record timestamp is the message timestamp (when it is
 * within an hour of now; Kafka's time-based retention and timestamp checks read it). Everything
 * else Kafka has no field for travels in one header, `@m`: a JSON object with the id and whatever
 * else the message has (correlation id, reply-to, an exact timestamp, attempt, due time) and the
 * headers core writes itself (`omnibus-*`, such as the content type). One header rather than one
 * per field because kafkajs encodes every record header with its own buffer: each costs about
 * 4 µs of CPU per record, which is most of the producer's cost per message. Application headers
 * stay record headers; those that start with `@` are escaped to `@@…` on the way out and
 * unescaped on the way in, so every application header round-trips unchanged and can never be
 * taken for an internal one. Records written with one header per field (`@id`, `@cid`, …, by
 * earlier versions) are still read.
 *
 * @module
 */
import type { OutboundMessage } from "@omnibus/core";
import type { IHeaders, KafkaMessage, Message } from "kafkajs";

/** Internal header names. */
export const Header = {
  /** Every internal field and core's own headers, as a JSON object (see {@link Meta}). */
  meta: "@m",
  /* One header per field, as earlier versions wrote them (still read). */
  id: "@id",
  correlationId: "@cid",
  replyTo: "@rt",
  /** Exact timestamp, only when the record timestamp could not carry it. */
  timestamp: "@ts",
  /** Delivery attempt this record starts at (written by nack; absent means 1). */
  attempt: "@at",
  /** Epoch milliseconds before which the record must not be delivered. */
  due: "@due",
} as const;

/** The value of the `@m` header. Absent fields are left out. */
interface Meta {
  id?: unknown;
  /** Correlation id. */
  cid?: unknown;
  /** Reply-to. */
  rt?: unknown;
  /** Exact timestamp (a string, as it may be any number), only when the record timestamp could not carry it. */
  ts?: unknown;
  /** Attempt this record starts at (absent means 1). */
  at?: unknown;
  /** Epoch milliseconds before which the record must not be delivered. */
  due?: unknown;
  /** Headers core writes itself (`omnibus-*`). */
  h?: unknown;
}

/** Application headers with this prefix are core's own: they travel in `@m`. */
const CORE_PREFIX = "omnibus-";

/** Record timestamps further than this from now are replaced by now (the exact value goes to `@ts`). */
const NATIVE_TIMESTAMP_WINDOW_MS = 60 * 60 * 1000;

/** A message as decoded from a record, before the adapter adds attempt and native. */
export interface DecodedRecord {
  readonly id: string;
  readonly body: Uint8Array;
  readonly headers: Record<string, string>;
  readonly key: string | undefined;
  readonly correlationId: string | undefined;
  readonly replyTo: string | undefined;
  readonly timestamp: number;
  /** The attempt written by the producer of this record (1 unless it is a redelivery copy). */
  readonly attempt: number;
  /** When the record becomes deliverable, if it was sent with a delay. */
  readonly dueAt: number | undefined;
}

/** Extra fields the adapter writes on top of the message. */
export interface RecordExtras {
  readonly attempt?: number | undefined;
  readonly dueAt?: number | undefined;
}

/** Bytes counted against `maxMessageBytes`: body plus application header names and values. */
export function messageSize(message: OutboundMessage): number {
  let size = message.body.byteLength;
  for (const name in message.headers) {
    size += Buffer.byteLength(name) + Buffer.byteLength(message.headers[name]!);
  }
  return size;
}

/** A generous estimate of a record's bytes on the wire, to size produce requests. */
export function recordSize(message: OutboundMessage, size = messageSize(message)): number {
  return (
    size +
    64 +
    message.id.length +
    (message.key === undefined ? 0 : Buffer.byteLength(message.key)) +
    (message.correlationId === undefined ? 0 : Buffer.byteLength(message.correlationId)) +
    (message.replyTo === undefined ? 0 : Buffer.byteLength(message.replyTo))
  );
}

/** Build the kafkajs record for a message. */
export function toRecord(message: OutboundMessage, now: number, extras: RecordExtras = {}): Message {
  const headers: IHeaders = Object.create(null);
  let core: Record<string, string> | undefined;
  for (const name in message.headers) {
    const value = message.headers[name]!;
    if (name.startsWith(CORE_PREFIX)) (core ??= {})[name] = value;
    else headers[name.charCodeAt(0) === 64 /* @ */ ? `@${name}` : name] = value;
  }
  let timestamp = message.timestamp;
  let exact: string | undefined;
  if (!Number.isSafeInteger(timestamp) || Math.abs(now - timestamp) > NATIVE_TIMESTAMP_WINDOW_MS) {
    exact = String(message.timestamp);
    timestamp = now;
  }
  const meta: Meta = {
    id: message.id,
    cid: message.correlationId,
    rt: message.replyTo,
    ts: exact,
    at: extras.attempt !== undefined && extras.attempt > 1 ? extras.attempt : undefined,
    due: extras.dueAt,
    h: core,
  };
  headers[Header.meta] = JSON.stringify(meta);
  const body = message.body;
  return {
    key: message.key ?? null,
    value: Buffer.from(body.buffer, body.byteOffset, body.byteLength),
    headers,
    timestamp: String(timestamp),
  };
}

function text(value: Buffer | string | (Buffer | string)[] | undefined): string {
  if (value === undefined) return "";
  if (Array.isArray(value)) return text(value[value.length - 1]);
  return typeof value === "string" ? value : value.toString("utf8");
}

/** Set an own property, even one named `__proto__`. */
function setHeader(headers: Record<string, string>, name: string, value: string): void {
  if (name === "__proto__") {
    Object.defineProperty(headers, name, { value, enumerable: true, writable: true, configurable: true });
  } else {
    headers[name] = value;
  }
}

/** Decode a kafkajs record. Records from other producers get id `<topic>-<partition>-<offset>`. */
export function fromRecord(topic: string, partition: number, record: KafkaMessage): DecodedRecord {
  const headers: Record<string, string> = {};
  let id: string | undefined;
  let correlationId: string | undefined;
  let replyTo: string | undefined;
  let timestamp: number | undefined;
  let attempt = 1;
  let dueAt: number | undefined;
  const raw = record.headers;
  if (raw !== undefined) {
    for (const name in raw) {
      const value = text(raw[name]);
      if (name.charCodeAt(0) !== 64 /* @ */) {
        setHeader(headers, name, value);
        continue;
      }
      if (name.charCodeAt(1) === 64) {
        setHeader(headers, name.slice(1), value);
        continue;
      }
      switch (name) {
        case Header.meta: {
          let meta: Meta;
          try {
            meta = JSON.parse(value) as Meta;
          } catch {
            break; // Not ours (another producer's header): drop it.
          }
          if (meta === null || typeof meta !== "object") break;
          if (typeof meta.id === "string") id = meta.id;
          if (typeof meta.cid === "string") correlationId = meta.cid;
          if (typeof meta.rt === "string") replyTo = meta.rt;
          if (meta.ts !== undefined) timestamp = Number(meta.ts);
          if (meta.at !== undefined) attempt = Math.max(1, Math.trunc(Number(meta.at)) || 1);
          if (meta.due !== undefined) dueAt = Number(meta.due);
          const h = meta.h;
          if (h !== null && typeof h === "object") {
            for (const k in h) {
              const v = (h as Record<string, unknown>)[k];
              if (typeof v === "string") setHeader(headers, k, v);
            }
          }
          break;
        }
        case Header.id:
          id = value;
          break;
        case Header.correlationId:
          correlationId = value;
          break;
        case Header.replyTo:
          replyTo = value;
          break;
        case Header.timestamp:
          timestamp = Number(value);
          break;
        case Header.attempt:
          attempt = Math.max(1, Number.parseInt(value, 10) || 1);
          break;
        case Header.due:
          dueAt = Number(value);
          break;
        default:
          // An internal header of a later version: not an application header, drop it.
          break;
      }
    }
  }
  const value = record.value;
  return {
    id: id ?? `${topic}-${partition}-${record.offset}`,
    body:
      value === null ? new Uint8Array(0) : new Uint8Array(value.buffer, value.byteOffset, value.byteLength),
    headers,
    key: record.key === null ? undefined : record.key.toString("utf8"),
    correlationId,
    replyTo,
    timestamp: timestamp ?? Number(record.timestamp),
    attempt,
    dueAt: dueAt !== undefined && Number.isFinite(dueAt) ? dueAt : undefined,
  };
}
