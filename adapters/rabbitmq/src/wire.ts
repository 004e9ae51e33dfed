import type { InboundMessage, OutboundMessage } from "@omnibus/core";
import type { ConsumeMessage, MessageProperties, Options } from "amqplib";

/**
 * AMQP headers the adapter writes itself. They are removed from `InboundMessage.headers`, so
 * what a sender gave round-trips unchanged.
 */
export const WireHeader = {
  /** The attempt number of this copy's first delivery (absent = 1); set when nack republishes. */
  Attempt: "x-omnibus-attempt",
  /** The message key (AMQP has no such property). */
  Key: "x-omnibus-key",
  /** The timestamp in milliseconds, when it is not a whole second (AMQP timestamps are seconds). */
  TimestampMs: "x-omnibus-ts",
} as const;

/** Core's content-type header travels as the AMQP `content_type` property (cheaper, and other AMQP clients see it). */
export const CONTENT_TYPE_HEADER = "omnibus-content-type";

/** Prefix under which a user header that RabbitMQ would interpret (`CC`, `BCC`) travels. */
const ESCAPE = "x-omnibus-h-";
const ESCAPED = new Set(["CC", "BCC"]);

/** Headers RabbitMQ adds on dead-lettering or redelivery: never part of a message's headers. */
function isBrokerHeader(name: string): boolean {
  return (
    name === "x-death" ||
    name === "x-delivery-count" ||
    name.startsWith("x-first-death-") ||
    name.startsWith("x-last-death-") ||
    name === "x-received-from"
  );
}

/** A Buffer view of the bytes (no copy). amqplib insists on Buffers. */
export function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Size as core counts it: body plus UTF-8 header names and values. */
export function messageBytes(message: Pick<OutboundMessage, "body" | "headers">): number {
  let n = message.body.byteLength;
  for (const k in message.headers) n += Buffer.byteLength(k) + Buffer.byteLength(message.headers[k]!);
  return n;
}

/** The longest AMQP short string (`message_id`, `correlation_id`, `reply_to`, header names). */
export const MAX_SHORTSTR_BYTES = 255;

/** More than 255 UTF-8 bytes (a string of at most 85 UTF-16 units never is). */
function overShortstr(s: string): boolean {
  return s.length > 85 && Buffer.byteLength(s) > MAX_SHORTSTR_BYTES;
}

/**
 * The first field of a message that AMQP cannot carry because it is a short string (at most
 * 255 bytes): `id`, `correlationId`, `replyTo` or a header name; undefined when all fit.
 * amqplib's encoder would throw on it, after the confirm callback was queued.
 */
export function overlongField(message: Outbound): string | undefined {
  if (overShortstr(message.id)) return "id";
  if (message.correlationId !== undefined && overShortstr(message.correlationId)) return "correlationId";
  if (message.replyTo !== undefined && overShortstr(message.replyTo)) return "replyTo";
  for (const k in message.headers)
    if (overShortstr(k)) return `header name ${JSON.stringify(k.slice(0, 40))}…`;
  return undefined;
}

/** Bytes of the AMQP header table amqplib will encode (its scratch buffer holds 64 KiB). */
export function headerTableBytes(headers: Readonly<Record<string, string>>): number {
  let n = 0;
  for (const k in headers) n += 1 + Buffer.byteLength(k) + 5 + Buffer.byteLength(headers[k]!);
  return n;
}

/** The fields of a message that travel as AMQP properties and headers. */
export type Outbound = Pick<
  OutboundMessage,
  "id" | "headers" | "key" | "correlationId" | "replyTo" | "timestamp" | "priority"
>;

/**
 * AMQP publish options for a message: id, correlation id, reply-to, timestamp and priority map
 * to AMQP properties; the key, a millisecond timestamp and the attempt go to `x-omnibus-*`
 * headers. Persistent (delivery mode 2).
 */
export function publishOptions(message: Outbound, mandatory: boolean, attempt?: number): Options.Publish {
  let headers: Record<string, string> | undefined;
  let contentType: string | undefined;
  for (const k in message.headers) {
    const v = message.headers[k]!;
    if (k === CONTENT_TYPE_HEADER && (v.length <= 85 || Buffer.byteLength(v) <= 255)) contentType = v;
    else (headers ??= {})[ESCAPED.has(k) ? ESCAPE + k : k] = v;
  }
  if (message.key !== undefined) (headers ??= {})[WireHeader.Key] = message.key;
  const ms = Math.floor(message.timestamp);
  if (ms % 1000 !== 0) (headers ??= {})[WireHeader.TimestampMs] = String(ms);
  if (attempt !== undefined && attempt > 1) (headers ??= {})[WireHeader.Attempt] = String(attempt);
  // No header table at all when there is nothing to put in it: amqplib encodes one slowly.
  const options: Options.Publish = {
    persistent: true,
    mandatory,
    messageId: message.id,
    timestamp: Math.floor(ms / 1000),
  };
  if (headers !== undefined) options.headers = headers;
  if (contentType !== undefined) options.contentType = contentType;
  if (message.correlationId !== undefined) options.correlationId = message.correlationId;
  if (message.replyTo !== undefined) options.replyTo = message.replyTo;
  if (message.priority !== undefined) options.priority = message.priority;
  return options;
}

function headerString(value: unknown): string | undefined {
  switch (typeof value) {
    case "string":
      return value;
    case "number":
    case "bigint":
    case "boolean":
      return String(value);
    default:
      return Buffer.isBuffer(value) ? value.toString("utf8") : undefined;
  }
}

/**
 * Attempt number of a delivery: the `x-omnibus-attempt` the copy was published with (1 when
 * absent) plus the broker's redeliveries of this copy: `x-delivery-count` on quorum queues
 * (exact), else 1 when AMQP's `redelivered` flag is set. Classic queues only have the flag; the
 * consumer renumbers such a delivery before core gets it (a copy with this attempt in
 * `x-omnibus-attempt`, see `RabbitConsumer`), so the count stays exact there too; except what a
 * classic queue recovered after a broker restart (flagged whether delivered or not), which goes
 * to core at once with this attempt.
 */
export function deliveryAttempt(headers: Record<string, unknown> | undefined, redelivered: boolean): number {
  const raw = headers?.[WireHeader.Attempt];
  const parsed = typeof raw === "string" || typeof raw === "number" ? Number(raw) : Number.NaN;
  const base = Number.isInteger(parsed) && parsed >= 1 ? parsed : 1;
  const count = headers?.["x-delivery-count"];
  if (typeof count === "number" && count >= 0) return base + count;
  return base + (redelivered ? 1 : 0);
}

/** Map an amqplib delivery to core's inbound message. */
export function inboundMessage(msg: ConsumeMessage): InboundMessage {
  const p: MessageProperties = msg.properties;
  const raw = p.headers as Record<string, unknown> | undefined;
  const headers: Record<string, string> = {};
  let key: string | undefined;
  let timestamp: number | undefined;
  if (raw) {
    for (const k in raw) {
      if (k.startsWith("x-")) {
        if (k === WireHeader.Key) {
          key = headerString(raw[k]);
          continue;
        }
        if (k === WireHeader.TimestampMs) {
          const t = Number(headerString(raw[k]));
          if (Number.isFinite(t)) timestamp = t;
          continue;
        }
        if (k === WireHeader.Attempt || isBrokerHeader(k)) continue;
        if (k.startsWith(ESCAPE)) {
          const original = k.slice(ESCAPE.length);
          if (ESCAPED.has(original)) {
            const v = headerString(raw[k]);
            if (v !== undefined) headers[original] = v;
            continue;
          }
        }
      }
      const v = headerString(raw[k]);
      if (v !== undefined) headers[k] = v;
    }
  }
  if (typeof p.contentType === "string" && headers[CONTENT_TYPE_HEADER] === undefined) {
    headers[CONTENT_TYPE_HEADER] = p.contentType;
  }
  if (timestamp === undefined) {
    timestamp = typeof p.timestamp === "number" ? p.timestamp * 1000 : Date.now();
  }
  return {
    id: typeof p.messageId === "string" ? p.messageId : `${msg.fields.exchange}/${msg.fields.deliveryTag}`,
    body: msg.content,
    headers,
    key,
    correlationId: typeof p.correlationId === "string" ? p.correlationId : undefined,
    replyTo: typeof p.replyTo === "string" ? p.replyTo : undefined,
    timestamp,
    attempt: deliveryAttempt(raw, msg.fields.redelivered),
    native: msg,
  };
}

/**
 * Delay buckets: a delay is rounded *up* to two significant digits (exact below 100 ms), so a
 * message never comes back sooner than asked and at most ~10% later, while the number of wait
 * queues stays small (at most 90 per decade).
 */
export function delayBucket(delayMs: number): number {
  const n = Math.ceil(delayMs);
  if (n <= 0) return 0;
  if (n < 100) return n;
  const digits = String(n).length;
  const step = 10 ** (digits - 2);
  return Math.ceil(n / step) * step;
}
