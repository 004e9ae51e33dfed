/**
 * The send path as pure functions: an item's options checked against what the adapter declares
 * (`normalise`), its body encoded and measured against the adapter's limit (`encode`). No I/O.
 * @module
 */
import { type Codec, jsonCodec } from "../codec.js";
import { headerBytes } from "../consumer/outcome.js";
import { ConfigError, MessageTooLargeError, UnsupportedFeatureError } from "../errors.js";
import { uuidv7 } from "../ids.js";
import type { Adapter, OutboundMessage } from "../spi.js";
import { HeaderNames, type SendOptions } from "../types.js";

/** Header names starting with this are core's own (content type, dead-letter and reply data). */
export const RESERVED_PREFIX = "omnibus-";

/** An item's options once checked: an id, a fresh header map. */
export type Normalised = SendOptions & { id: string; headers: Record<string, string> };

/**
 * Check one send's options against the adapter's features (`UnsupportedFeatureError`,
 * `ConfigError`) and copy them: a fresh header map, an id (UUID v7 unless given). `internal`
 * lets core's own sends (replies) set `omnibus-*` headers.
 */
export function normalise(adapter: Adapter, item: SendOptions, internal = false): Normalised {
  const headers: Record<string, string> = {};
  if (item.headers !== undefined) {
    if (typeof item.headers !== "object" || item.headers === null)
      throw new ConfigError("headers must be an object");
    for (const [k, v] of Object.entries(item.headers)) {
      if (typeof v !== "string")
        throw new ConfigError(`header ${JSON.stringify(k)} must be a string, got ${typeof v}`);
      if (!internal && k.length >= 8 && k.slice(0, 8).toLowerCase() === RESERVED_PREFIX) {
        throw new ConfigError(
          `header ${JSON.stringify(k)}: names starting with "${RESERVED_PREFIX}" are reserved for Omnibus`,
        );
      }
      headers[k] = v;
    }
  }
  const { features } = adapter;
  if (item.delayMs !== undefined && item.delayMs !== 0) {
    if (typeof item.delayMs !== "number" || !(item.delayMs > 0)) {
      throw new ConfigError(`delayMs must be a positive number, got ${String(item.delayMs)}`);
    }
    if (!features.delay)
      throw new UnsupportedFeatureError(`${adapter.name} does not support delayed delivery`);
    if (item.delayMs > features.maxDelayMs) {
      throw new UnsupportedFeatureError(
        `${adapter.name} delays messages by at most ${features.maxDelayMs} ms, asked for ${item.delayMs}`,
      );
    }
  }
  if (item.priority !== undefined) {
    if (!features.priority) throw new UnsupportedFeatureError(`${adapter.name} does not support priorities`);
    if (!Number.isInteger(item.priority) || item.priority < 0 || item.priority > features.maxPriority) {
      throw new ConfigError(
        `priority must be an integer within 0..${features.maxPriority}, got ${item.priority}`,
      );
    }
  }
  if (item.id !== undefined && (typeof item.id !== "string" || item.id.length === 0)) {
    throw new ConfigError("id must be a non-empty string");
  }
  return {
    id: item.id ?? uuidv7(),
    headers,
    key: item.key,
    correlationId: item.correlationId,
    replyTo: item.replyTo,
    delayMs: item.delayMs,
    priority: item.priority,
    codec: item.codec,
  } as Normalised;
}

/**
 * Encode a body with `options.codec` (or `fallback`) into the message handed to the adapter,
 * checked against its size limit unless `check` is false (middleware with `outbound` steps may
 * still shrink it: the check then follows them).
 */
export function encode(
  adapter: Adapter,
  fallback: Codec<any>,
  body: unknown,
  options: Normalised,
  check = true,
): OutboundMessage {
  const codec = options.codec ?? fallback;
  let bytes: Uint8Array;
  try {
    bytes = codec.encode(body);
  } catch (error) {
    throw new ConfigError(`cannot encode body as ${codec.contentType}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  // JSON is the wire default: no header for it (one header less per message on every broker).
  if (codec.contentType !== jsonCodec.contentType)
    options.headers[HeaderNames.ContentType] = codec.contentType;
  if (check) checkSize(adapter, bytes, options.headers);
  return {
    id: options.id,
    body: bytes,
    headers: options.headers,
    key: options.key,
    correlationId: options.correlationId,
    replyTo: options.replyTo,
    timestamp: Date.now(),
    delayMs: options.delayMs || undefined,
    priority: options.priority,
  };
}

/** Every message core hands an adapter is within its `maxMessageBytes` (body + header names and values). */
export function checkSize(
  adapter: Adapter,
  body: Uint8Array,
  headers: Readonly<Record<string, string>>,
): void {
  const max = adapter.features.maxMessageBytes;
  // Exact UTF-8 sizes only when an upper bound (3 bytes per UTF-16 unit) could pass the limit.
  if (body.byteLength + 3 * headerChars(headers) <= max) return;
  const size = body.byteLength + headerBytes(headers);
  if (size > max) {
    throw new MessageTooLargeError(
      `message of ${size} bytes exceeds ${adapter.name}'s limit of ${max} bytes`,
    );
  }
}

function headerChars(headers: Readonly<Record<string, string>>): number {
  let n = 0;
  for (const k in headers) n += k.length + headers[k]!.length;
  return n;
}
