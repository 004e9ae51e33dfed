/**
 * The mapping between Omnibus messages and SQS / SNS messages. Pure functions, unit-tested.
 *
 * An Omnibus message becomes:
 * - `MessageBody`: the body as text when it is valid UTF-8 made only of characters SQS accepts
 *   (the common case: JSON, text). Otherwise (binary bodies) the bytes travel in the Binary
 *   attribute `omnibus-body` and the body is a one-character placeholder; an empty body is the
 *   placeholder too (SQS rejects empty bodies).
 * - the String attribute `omnibus`: compact JSON with the id, timestamp, key, correlation id,
 *   reply address, headers and the body form. One attribute for everything keeps every value
 *   exact (empty strings, unicode) and stays far below the 10-attribute limit.
 * @module
 */
import { createHash } from "node:crypto";
import type { InboundMessage, OutboundMessage } from "@omnibus/core";

/** Name of the String attribute that carries Omnibus's metadata. */
export const META_ATTRIBUTE = "omnibus";
/** Name of the Binary attribute that carries a body that is not SQS-safe text. */
export const BODY_ATTRIBUTE = "omnibus-body";
/** The placeholder body sent when the real body is binary or empty. */
export const PLACEHOLDER_BODY = "-";
/** SQS's (and SNS's) message size limit: body plus every attribute's name, type and value. */
export const MAX_WIRE_BYTES = 256 * 1024;
/**
 * Room kept for the metadata attribute when declaring `features.maxMessageBytes` (core counts body
 * and headers only; ids, timestamp and JSON punctuation travel on top).
 */
export const META_RESERVE_BYTES = 2048;

/** An SQS / SNS message attribute (both services use this shape). */
export interface AttributeValue {
  DataType: string;
  StringValue?: string | undefined;
  BinaryValue?: Uint8Array | undefined;
}

/** Body forms recorded in the metadata's `b` field (absent = text). */
const BodyForm = { Binary: 1, Empty: 2 } as const;

interface Meta {
  id: string;
  ts: number;
  k?: string;
  c?: string;
  r?: string;
  h?: Record<string, string>;
  b?: (typeof BodyForm)[keyof typeof BodyForm];
}

/** A message ready for SendMessageBatch / PublishBatch. */
export interface WireMessage {
  readonly body: string;
  readonly attributes: Record<string, AttributeValue>;
  /** Size as SQS counts it. */
  readonly size: number;
}

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
// Characters SQS accepts in bodies and String attributes: #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF.
const UNSAFE = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
// The same without U+10000-U+10FFFF (no u flag: surrogate code units fall outside the ranges).
const UNSAFE_BMP = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD]/;

/** Options of {@link encodeMessage}. */
export interface EncodeOptions {
  /**
   * Treat characters beyond U+FFFF (emoji…) as unsafe: bodies with them travel as bytes and the
   * metadata JSON escapes them. For emulators that refuse them (fauxqs 1.9); AWS accepts them.
   */
  readonly bmpOnly?: boolean;
}

/** The body as SQS-safe text, or undefined when it must travel as bytes. */
export function safeText(bytes: Uint8Array, bmpOnly = false): string | undefined {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return undefined;
  }
  return (bmpOnly ? UNSAFE_BMP : UNSAFE).test(text) ? undefined : text;
}

/**
 * JSON.stringify, with the two non-characters SQS refuses (U+FFFE, U+FFFF) escaped, and with
 * `bmpOnly` every surrogate too (JSON escapes, so the value parses back unchanged).
 */
function safeJson(value: unknown, bmpOnly: boolean): string {
  const toEscape = (c: string) => `\\u${c.charCodeAt(0).toString(16)}`;
  const json = JSON.stringify(value).replace(/[\uFFFE\uFFFF]/g, toEscape);
  return bmpOnly ? json.replace(/[\uD800-\uDFFF]/g, toEscape) : json;
}

/** Encode one message for the wire. */
export function encodeMessage(message: OutboundMessage, options: EncodeOptions = {}): WireMessage {
  const bmpOnly = options.bmpOnly ?? false;
  const meta: Meta = { id: message.id, ts: message.timestamp };
  if (message.key !== undefined) meta.k = message.key;
  if (message.correlationId !== undefined) meta.c = message.correlationId;
  if (message.replyTo !== undefined) meta.r = message.replyTo;
  for (const _ in message.headers) {
    meta.h = message.headers as Record<string, string>;
    break;
  }
  let body: string;
  let binary: Uint8Array | undefined;
  if (message.body.byteLength === 0) {
    body = PLACEHOLDER_BODY;
    meta.b = BodyForm.Empty;
  } else {
    const text = safeText(message.body, bmpOnly);
    if (text === undefined) {
      body = PLACEHOLDER_BODY;
      binary = message.body;
      meta.b = BodyForm.Binary;
    } else {
      body = text;
    }
  }
  const metaJson = safeJson(meta, bmpOnly);
  const attributes: Record<string, AttributeValue> = {
    [META_ATTRIBUTE]: { DataType: "String", StringValue: metaJson },
  };
  // name + type + value, as SQS counts attributes toward the message size.
  let size = Buffer.byteLength(body) + META_ATTRIBUTE.length + 6 + Buffer.byteLength(metaJson);
  if (binary !== undefined) {
    attributes[BODY_ATTRIBUTE] = { DataType: "Binary", BinaryValue: binary };
    size += BODY_ATTRIBUTE.length + 6 + binary.byteLength;
  }
  return { body, attributes, size };
}

/** What {@link decodeMessage} returns: an InboundMessage without attempt and native. */
export type DecodedMessage = Omit<InboundMessage, "attempt" | "native">;

/**
 * Decode a received message. Messages that did not come from Omnibus (no `omnibus` attribute)
 * are accepted too: id = the SQS MessageId, headers = their String and Number attributes,
 * timestamp = SentTimestamp, body = the text as UTF-8.
 */
export function decodeMessage(
  body: string | undefined,
  attributes: Record<string, AttributeValue | undefined> | undefined,
  fallback: { messageId: string | undefined; sentTimestamp: string | undefined },
): DecodedMessage {
  const metaJson = attributes?.[META_ATTRIBUTE]?.StringValue;
  let meta: Meta | undefined;
  if (metaJson !== undefined) {
    try {
      const parsed = JSON.parse(metaJson) as Meta;
      if (typeof parsed === "object" && parsed !== null && typeof parsed.id === "string") meta = parsed;
    } catch {
      meta = undefined;
    }
  }
  if (meta === undefined) {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(attributes ?? {})) {
      if (value?.StringValue !== undefined && name !== META_ATTRIBUTE) headers[name] = value.StringValue;
    }
    const sent = Number(fallback.sentTimestamp);
    return {
      id: fallback.messageId ?? "",
      body: Buffer.from(body ?? "", "utf8"),
      headers,
      timestamp: Number.isFinite(sent) ? sent : Date.now(),
    };
  }
  let bytes: Uint8Array;
  if (meta.b === BodyForm.Empty) bytes = new Uint8Array(0);
  else if (meta.b === BodyForm.Binary) bytes = attributes?.[BODY_ATTRIBUTE]?.BinaryValue ?? new Uint8Array(0);
  else bytes = Buffer.from(body ?? "", "utf8");
  return {
    id: meta.id,
    body: bytes,
    headers: meta.h ?? {},
    key: meta.k,
    correlationId: meta.c,
    replyTo: meta.r,
    timestamp: meta.ts,
  };
}

// SQS accepts MessageGroupId / MessageDeduplicationId of 1-128 printable ASCII characters.
const FIFO_ID = /^[\x21-\x7E]{1,128}$/;

/** A value usable as FIFO MessageGroupId / MessageDeduplicationId: itself, or its SHA-256. */
export function fifoId(value: string): string {
  return FIFO_ID.test(value) ? value : createHash("sha256").update(value).digest("hex");
}

/**
 * The FIFO `MessageDeduplicationId` of a message: SQS drops a message whose id it saw in the last
 * 5 minutes, which makes a resend of the same message (a retried send) harmless. The message is
 * its id plus its correlation id: core gives every request a correlation id of its own, and two
 * requests that share a message id are two messages (each gets its own reply). Without a
 * correlation id: the message id (as {@link fifoId}).
 */
export function deduplicationId(message: Pick<OutboundMessage, "id" | "correlationId">): string {
  if (message.correlationId === undefined) return fifoId(message.id);
  return createHash("sha256")
    .update(JSON.stringify([message.id, message.correlationId]))
    .digest("hex");
}

/**
 * Split encoded messages into batches SQS / SNS accept: at most `maxCount` entries and at most
 * {@link MAX_WIRE_BYTES} in total. Keeps order.
 */
export function chunkBatches<T extends { readonly size: number }>(items: readonly T[], maxCount = 10): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    if (current.length > 0 && (current.length >= maxCount || bytes + item.size > MAX_WIRE_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += item.size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** DelaySeconds for a delay in ms: rounded up, so a message never arrives early. */
export function delaySeconds(delayMs: number | undefined): number {
  if (delayMs === undefined || !(delayMs > 0)) return 0;
  return Math.ceil(delayMs / 1000);
}
