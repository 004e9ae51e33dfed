import { createHash } from "node:crypto";

/** SQS queue names: 1-80 characters of `[A-Za-z0-9_-]`, FIFO ones ending in `.fifo` (counted). */
export const MAX_QUEUE_NAME = 80;
/** SNS topic names: 1-256 characters of `[A-Za-z0-9_-]`, FIFO ones ending in `.fifo` (counted). */
export const MAX_TOPIC_NAME = 256;

const FIFO_SUFFIX = ".fifo";
const SAFE = /^[A-Za-z0-9_-]+$/;
const HASH_CHARS = 10;
/** The tail of every hashed form: `-` and 10 lowercase hex characters. */
const HASHED_TAIL = /-[0-9a-f]{10}$/;

/**
 * Map an Omnibus name (`[A-Za-z0-9._-]`, up to 200 characters) to an SQS queue or SNS topic name
 * (`[A-Za-z0-9_-]`, up to 80 / 256 characters with the `.fifo` suffix): `prefix + form + suffix`,
 * where `form` is either
 *
 * - the **plain form**, the name itself, when SQS accepts it as it is (no `.`, short enough) and
 *   it does not end like a hashed form (`-` + 10 lowercase hex characters), or
 * - the **hashed form**, for every other name (one with a `.`, like core's `orders.dlq`; the
 *   `topic:group` of a group's queue; one too long; one that ends like a hashed form): its
 *   sanitized, truncated form, then `-` and 10 hex characters of the SHA-256 of the whole name:
 *   `orders.dlq` -> `orders_dlq-1a2b3c4d5e`.
 *
 * Why this is one-to-one (for one prefix and mode): a hashed form always ends in
 * `-<10 hex>` and a plain form never does, so no hashed form equals a plain form (the name
 * `orders_dlq-1a2b3c4d5e` itself is hashed, not kept, and cannot meet `orders.dlq`); plain forms
 * are the names themselves, so two names never share one; two hashed forms meet only if two names
 * share the first 40 bits of their SHA-256 (and their sanitized head), which for any realistic
 * set of names does not happen (no mapping of 200-character names into 80 characters can be
 * one-to-one for all names; this one is wherever the names fit).
 */
export function brokerName(name: string, options: { prefix: string; fifo: boolean; max: number }): string {
  const suffix = options.fifo ? FIFO_SUFFIX : "";
  const budget = options.max - options.prefix.length - suffix.length;
  if (isPlain(name, budget)) return options.prefix + name + suffix;
  const hash = createHash("sha256").update(name).digest("hex").slice(0, HASH_CHARS);
  const head = name.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, budget - HASH_CHARS - 1);
  return `${options.prefix}${head}-${hash}${suffix}`;
}

/** Whether `name` is kept as it is within `budget` characters (see {@link brokerName}). */
function isPlain(name: string, budget: number): boolean {
  return SAFE.test(name) && name.length <= budget && !HASHED_TAIL.test(name);
}

/**
 * The Omnibus-side name of a topic group's queue. `:` cannot occur in an Omnibus name, so the
 * result never equals a queue name an application uses; {@link brokerName} maps it.
 */
export function groupQueueName(topic: string, group: string): string {
  return `${topic}:${group}`;
}

/**
 * Whether SQS queue `queue` can be the queue of a group of `topic` (for one prefix and mode):
 * a hashed form whose head is the sanitized `<topic>:` (as far as it fits). Used to pick, among
 * the queues subscribed to a topic, those its groups own.
 */
export function isGroupQueueOf(
  queue: string,
  topic: string,
  prefix: string,
  fifo: boolean,
  max: number,
): boolean {
  const suffix = fifo ? FIFO_SUFFIX : "";
  if (!queue.startsWith(prefix) || !queue.endsWith(suffix)) return false;
  const form = queue.slice(prefix.length, queue.length - suffix.length);
  if (!HASHED_TAIL.test(form)) return false;
  const budget = max - prefix.length - suffix.length;
  const head = `${topic}:`.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, budget - HASH_CHARS - 1);
  return form.startsWith(head);
}

/** Validate a queue-name prefix; returns an error message or undefined. */
export function checkPrefix(prefix: string): string | undefined {
  if (prefix === "") return undefined;
  if (!SAFE.test(prefix)) return `prefix ${JSON.stringify(prefix)} may only contain A-Z a-z 0-9 _ -`;
  if (prefix.length > 40) return `prefix ${JSON.stringify(prefix)} is longer than 40 characters`;
  return undefined;
}
