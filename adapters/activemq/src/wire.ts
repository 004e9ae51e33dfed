/**
 * The AMQP 1.0 wire mapping: Omnibus envelope ↔ AMQP 1.0 message (rhea's `Message`), with nothing
 * broker-specific beyond the message annotations Artemis reads (`x-opt-delivery-delay`), so that
 * other AMQP 1.0 brokers can reuse it.
 *
 * | envelope          | AMQP 1.0                                                                     |
 * | ----------------- | ---------------------------------------------------------------------------- |
 * | id                | properties.message-id (a string)                                             |
 * | body              | one `data` section, the bytes as they are (an empty body too)                |
 * | headers           | application-properties, string values (names the broker reads are escaped)   |
 * | key               | properties.group-id (Artemis message groups: one consumer per key)           |
 * | correlationId     | properties.correlation-id                                                    |
 * | replyTo           | properties.reply-to                                                          |
 * | timestamp         | properties.creation-time (ms), left out when the id is a UUID v7 of that ms  |
 * | priority          | header.priority (0–9)                                                        |
 * | delayMs           | message-annotations `x-opt-delivery-delay`                                   |
 * | attempt           | header.delivery-count + 1, plus `x-omnibus-attempt` on a delayed redelivery  |
 *
 * Every message is durable (header.durable) unless the caller says otherwise. A body that another client sent as `amqp-value`
 * (a string, a map…) arrives as its UTF-8 text or JSON, so that it can still be handled.
 * @module
 */
import { type InboundMessage, type OutboundMessage, uuidv7Ms } from "@omnibus/core/adapter";
import rhea, { type Message } from "rhea";

/** Application properties the adapter writes itself; removed from the headers on the way in. */
export const WireProperty = {
  /** The attempt number of this copy's first delivery (absent = 1): set on a delayed redelivery. */
  Attempt: "x-omnibus-attempt",
} as const;

/** Message annotation Artemis reads: deliver no sooner than this many ms after it arrived. */
export const DELIVERY_DELAY = "x-opt-delivery-delay";

/**
 * Header names that Artemis (or JMS clients on it) would read as its own properties: `_AMQ_*`
 * (duplicate detection, scheduled delivery, groups…), `JMS*`, and the adapter's `x-omnibus-*`.
 * They travel as `x-omnibus-h-<name>` instead and come back unchanged.
 */
const ESCAPE = "x-omnibus-h-";
function needsEscape(name: string): boolean {
  return (
    name.startsWith("_AMQ") ||
    name.startsWith("_HQ") ||
    name.startsWith("JMS") ||
    name.startsWith("x-omnibus-") ||
    name.startsWith("x-opt-")
  );
}

/**
 * The AMQP 1.0 message for an envelope (`attempt` > 1 only for a delayed redelivery's copy).
 * `durable: false` for messages that need not outlive a broker restart (replies to a request-reply
 * inbox): the broker then accepts them without a journal sync.
 */
export function toAmqp(message: OutboundMessage, attempt = 1, durable = true): Message {
  let properties: Record<string, string> | undefined;
  for (const name in message.headers) {
    properties ??= {};
    properties[needsEscape(name) ? ESCAPE + name : name] = message.headers[name]!;
  }
  if (attempt > 1) (properties ??= {})[WireProperty.Attempt] = String(attempt);
  const out: Message = {
    message_id: message.id,
    durable,
    body: rhea.message.data_section(toBuffer(message.body)),
  };
  // The timestamp rides in the id when the id is a UUID v7 of that millisecond (core's ids):
  // rhea's timestamp field cost ~3 µs a message to write and read back (measured).
  const ms = Math.floor(message.timestamp);
  if (uuidv7Ms(message.id) !== ms) out.creation_time = new Date(ms);
  // No empty application-properties section: one less section to encode and decode.
  if (properties !== undefined) out.application_properties = properties;
  if (message.key !== undefined) out.group_id = message.key;
  if (message.correlationId !== undefined) out.correlation_id = message.correlationId;
  if (message.replyTo !== undefined) out.reply_to = message.replyTo;
  if (message.priority !== undefined) out.priority = message.priority;
  if (message.delayMs !== undefined && message.delayMs > 0)
    out.message_annotations = { [DELIVERY_DELAY]: message.delayMs };
  return out;
}

/** A Buffer view of the bytes (no copy): rhea encodes the message at `send()`, so the caller's buffer is not kept. */
function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const EMPTY = new Uint8Array(0);

/** The body bytes of an AMQP message: its data section(s), or the text/JSON of an amqp-value. */
export function bodyBytes(body: unknown): Uint8Array {
  if (body === undefined || body === null) return EMPTY;
  if (body instanceof Uint8Array) return body;
  const section = body as { typecode?: number; content?: unknown; multiple?: boolean };
  if (section.typecode === 0x75) {
    // data: one Buffer, or several when `multiple`
    const content = section.content;
    if (section.multiple && Array.isArray(content))
      return Buffer.concat(content.map((c) => Buffer.from(c as Uint8Array)));
    return content instanceof Uint8Array ? content : EMPTY;
  }
  if (section.typecode === 0x76 || section.typecode === 0x77) return bodyBytes(section.content);
  if (typeof body === "string") return Buffer.from(body, "utf8");
  return Buffer.from(JSON.stringify(body) ?? "", "utf8");
}

function text(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  if (Buffer.isBuffer(value)) return value.toString("hex");
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** The envelope of a received AMQP message. `native` is the rhea message itself. */
export function fromAmqp(message: Message): InboundMessage {
  const headers: Record<string, string> = {};
  let first = 1;
  const app = message.application_properties;
  if (app) {
    for (const name of Object.keys(app)) {
      const value = app[name];
      if (name === WireProperty.Attempt) {
        const n = Number(value);
        if (Number.isInteger(n) && n > 0) first = n;
        continue;
      }
      if (name.startsWith("JMSX") || name.startsWith("_AMQ")) continue; // the broker's own
      const v = text(value);
      if (v === undefined) continue;
      headers[name.startsWith(ESCAPE) ? name.slice(ESCAPE.length) : name] = v;
    }
  }
  const created = message.creation_time;
  const deliveryCount = typeof message.delivery_count === "number" ? message.delivery_count : 0;
  const id = text(message.message_id);
  const timestamp =
    created instanceof Date
      ? created.getTime()
      : typeof created === "number"
        ? created
        : ((id !== undefined ? uuidv7Ms(id) : undefined) ?? Date.now());
  return {
    id: id ?? "",
    body: bodyBytes(message.body),
    headers,
    key: text(message.group_id),
    correlationId: text(message.correlation_id),
    replyTo: text(message.reply_to),
    timestamp,
    attempt: first + deliveryCount,
    native: message,
  };
}
