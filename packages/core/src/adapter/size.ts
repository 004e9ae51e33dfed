/**
 * Core's size accounting, for adapters that check a limit of their own.
 * @module
 */
import { headerBytes } from "../consumer/outcome.js";
import type { OutboundMessage } from "../spi.js";

/**
 * Bytes of a message as core counts them against `features.maxMessageBytes`: the body plus the
 * UTF-8 bytes of every header name and value (core's own `omnibus-*` headers included). What an
 * adapter adds on the wire (id, key, timestamp, its own envelope) comes on top.
 */
export function messageBytes(message: Pick<OutboundMessage, "body" | "headers">): number {
  return message.body.byteLength + headerBytes(message.headers);
}
