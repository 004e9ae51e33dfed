import { createHash } from "node:crypto";

/** SQS queue names: 1-80 characters of `[A-Za-z0-9_-]`, FIFO ones ending in `.fifo` (counted). */
export const MAX_QUEUE_NAME = 80;
/** SNS topic names: 1-256 characters of `[A-Za-z0-9_-]`, FIFO ones ending in `.fifo` (counted). */
export const MAX_TOPIC_NAME = 256;

const FIFO_SUFFIX = ".fifo";
const SAFE = /^[A-Za-z0-9_-]+$/;
const HASH_CHARS = 10;

/**
 * Map an Omnibus name (`[A-Za-z0-9._-]`, up to 200 characters) to an SQS queue or SNS topic name
 * (`[A-Za-z0-9_-]`, up to 80 / 256 characters with the `.fifo` suffix).
 *
 * A name that is already valid is kept as it is (after the prefix). Any other name (one with a
 * `.`, like core's `orders.dlq`, or one too long) becomes its sanitized, truncated form plus `-`
 * and 10 hex characters of the SHA-256 of the original name, so two Omnibus names never meet on
 * one SQS name: `orders.dlq` -> `orders_dlq-1a2b3c4d5e`.
 */
export function brokerName(name: string, options: { prefix: string; fifo: boolean; max: number }): string {
  const suffix = options.fifo ? FIFO_SUFFIX : "";
  const budget = options.max - options.prefix.length - suffix.length;
  if (SAFE.test(name) && name.length <= budget) return options.prefix + name + suffix;
  const hash = createHash("sha256").update(name).digest("hex").slice(0, HASH_CHARS);
  const head = name.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, budget - HASH_CHARS - 1);
  return `${options.prefix}${head}-${hash}${suffix}`;
}

/**
 * The Omnibus-side name of a topic group's queue. `:` cannot occur in an Omnibus name, so the
 * result never equals a queue name an application uses; {@link brokerName} maps it.
 */
export function groupQueueName(topic: string, group: string): string {
  return `${topic}:${group}`;
}

/** Validate a queue-name prefix; returns an error message or undefined. */
export function checkPrefix(prefix: string): string | undefined {
  if (prefix === "") return undefined;
  if (!SAFE.test(prefix)) return `prefix ${JSON.stringify(prefix)} may only contain A-Z a-z 0-9 _ -`;
  if (prefix.length > 40) return `prefix ${JSON.stringify(prefix)} is longer than 40 characters`;
  return undefined;
}
