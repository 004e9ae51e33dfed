/**
 * Helpers the cases share: bodies, addresses, sends that respect the adapter's batch limit.
 * @module
 */
import { randomBytes } from "node:crypto";
import { inspect } from "node:util";
import type { Adapter, Address, OutboundMessage, QueueAddress, Source, TopicAddress } from "@omnibus/core";
import type { CaseContext } from "../case.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** UTF-8 bytes of `text`. */
export const bytes = (text: string): Uint8Array => encoder.encode(text);
/** `bytes` read back as UTF-8. */
export const text = (body: Uint8Array): string => decoder.decode(body);
/** `n` random bytes (every byte value appears in larger bodies). */
export const randomBody = (n: number): Uint8Array => new Uint8Array(randomBytes(n));

/** A fresh queue address. */
export const queue = (ctx: CaseContext, label: string): QueueAddress => ({
  kind: "queue",
  name: ctx.name(label),
});
/** A fresh topic address. */
export const topic = (ctx: CaseContext, label: string): TopicAddress => ({
  kind: "topic",
  name: ctx.name(label),
});
/** The consumer source of a topic group. */
export const group = (address: TopicAddress, name: string): Source => ({
  kind: "topic",
  name: address.name,
  group: name,
});

/** Send `messages` in as many calls as `features.maxBatchSize` needs (as core does). */
export async function sendAll(
  adapter: Adapter,
  address: Address,
  messages: readonly OutboundMessage[],
): Promise<void> {
  const max = Math.max(1, Math.min(adapter.features.maxBatchSize, 10_000));
  for (let i = 0; i < messages.length; i += max) await adapter.send(address, messages.slice(i, i + max));
}

/** Milliseconds from `from` to `to`, for failure messages. */
export const ms = (from: number, to: number): number => Math.round(to - from);

/** Headers exercising every rule: names' case, unicode, empty values, odd characters, many, long. */
export function trickyHeaders(): Record<string, string> {
  const headers: Record<string, string> = {
    "X-Mixed-Case": "Value With Spaces",
    UPPER: "UP",
    unicode: "ünïcødé ✓ 日本語 🚀",
    empty: "",
    odd: 'a b:c;d=e,"q"/\\ {json: [1]}',
    "x-dash_under.dot": "1",
    numeric: "0042",
    long: "v".repeat(2_000),
  };
  for (let i = 0; i < 20; i++) headers[`h${i}`] = `value-${i}`;
  return headers;
}

/**
 * Everything printable reachable from `value`: own properties (enumerable or not), `cause`
 * chains, `errors` of an AggregateError, nested objects to a depth of 8, plus `util.inspect`'s
 * view. What a logger that prints errors with their causes could show.
 */
export function reachableText(value: unknown): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  const walk = (v: unknown, depth: number): void => {
    if (v === null || v === undefined) return;
    if (typeof v === "string") {
      parts.push(v);
      return;
    }
    if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") {
      parts.push(String(v));
      return;
    }
    if (typeof v !== "object" && typeof v !== "function") return;
    if (seen.has(v) || depth > 8) return;
    seen.add(v);
    if (v instanceof Uint8Array) {
      parts.push(Buffer.from(v.subarray(0, 4096)).toString("utf8"));
      return;
    }
    for (const key of Reflect.ownKeys(v)) {
      let child: unknown;
      try {
        child = (v as Record<PropertyKey, unknown>)[key];
      } catch {
        continue;
      }
      if (typeof key === "string") parts.push(key);
      walk(child, depth + 1);
    }
  };
  walk(value, 0);
  try {
    parts.push(inspect(value, { depth: 10, showHidden: true }));
  } catch {
    // an object whose inspection throws shows nothing more
  }
  return parts.join("\n");
}
