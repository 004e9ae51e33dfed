/**
 * AMQP names of Omnibus queues, topics, groups and the adapter's own wait queues.
 *
 * RabbitMQ has two name spaces that matter here, queues and exchanges; a name is at most 255
 * bytes and may not start with `amq.`. The mapping is injective within each space:
 *
 * - An Omnibus name (1-200 characters of `[A-Za-z0-9._-]`, never containing `..`) maps to
 *   itself, so other AMQP clients can share queues and topics by their names.
 * - Every derived name contains `..`, which no Omnibus name does. Its parts are separated by a
 *   run of dots: a run of 2 is a separator, a run of 3 a part ending in `.` followed by one.
 *   - a group queue is `<topic>..<group>` (exactly one separator), unless that would start with
 *     `amq.` or exceed 255 bytes;
 *   - escapes start with the fixed part `omnibus` followed by a kind: `omnibus..queue..<name>`
 *     for a queue name that cannot be used as it is (`amq.*`, too long, `..`), likewise
 *     `omnibus..topic..<name>` and `omnibus..group..<topic>..<group>`; `omnibus..hqueue..`,
 *     `omnibus..htopic..` and `omnibus..hgroup..` are followed by 32 hex digits of a SHA-256 of
 *     the input and a readable prefix, where the full form would exceed 255 bytes;
 *   - the adapter's own names are `<namespace>..delay..…` (the namespace has no `..`);
 *   - a topic's group registry is `omnibus..groups..<exchange>` (`omnibus..hgroups..` hashed).
 *
 * Two derived names of different kinds differ in the number of separators or in the second
 * part; two of one kind differ in what follows a fixed prefix, or in their hash (128 bits: a
 * collision is not a practical concern). Derived names of groups and escapes do not depend on
 * the adapter's namespace, so clients configured differently share them.
 *
 * @module
 */
import { createHash } from "node:crypto";

/** The longest AMQP short string: queue, exchange and routing key names. */
export const MAX_NAME_BYTES = 255;

const SEP = "..";
const TAG = "omnibus";
const RESERVED = "amq.";

const bytes = (s: string): number => Buffer.byteLength(s);

/** Usable as it is: no separator, not reserved, not empty, fits. */
function plain(name: string): boolean {
  return (
    name.length > 0 && !name.includes(SEP) && !name.startsWith(RESERVED) && bytes(name) <= MAX_NAME_BYTES
  );
}

/** Usable as a part of a derived name: no separator, not starting with '.', not empty. */
function part(name: string): boolean {
  return name.length > 0 && !name.includes(SEP) && !name.startsWith(".");
}

/** `omnibus..h<kind>..<32 hex of the inputs' SHA-256>..<readable prefix>`, within 255 bytes. */
function hashed(kind: string, inputs: readonly string[], readable: string): string {
  const digest = createHash("sha256")
    .update(JSON.stringify([kind, ...inputs]))
    .digest("hex")
    .slice(0, 32);
  const head = `${TAG}${SEP}h${kind}${SEP}${digest}${SEP}`;
  const prefix = readable.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, MAX_NAME_BYTES - head.length);
  return head + prefix;
}

function escaped(kind: "queue" | "topic", name: string): string {
  const full = `${TAG}${SEP}${kind}${SEP}${name}`;
  return bytes(full) <= MAX_NAME_BYTES ? full : hashed(kind, [name], name);
}

/** The AMQP queue of an Omnibus queue: its own name unless it cannot be (`amq.*`, too long). */
export function queueName(queue: string): string {
  return plain(queue) ? queue : escaped("queue", queue);
}

/** The AMQP (fanout) exchange of an Omnibus topic: its own name unless it cannot be. */
export function topicExchange(topic: string): string {
  return plain(topic) ? topic : escaped("topic", topic);
}

/** The AMQP queue of a topic group: `<topic>..<group>` when that can be used. */
export function groupQueueName(topic: string, group: string): string {
  if (part(topic) && part(group)) {
    const readable = `${topic}${SEP}${group}`;
    if (!readable.startsWith(RESERVED) && bytes(readable) <= MAX_NAME_BYTES) return readable;
    const full = `${TAG}${SEP}group${SEP}${readable}`;
    if (bytes(full) <= MAX_NAME_BYTES) return full;
    return hashed("group", [topic, group], readable);
  }
  return hashed("group", [topic, group], `${topic}${SEP}${group}`);
}

/**
 * The queue listing the groups of a topic (`omnibus..groups..<exchange>`, one message per group
 * declared), so that deleting the topic can delete their queues: AMQP cannot list the queues
 * bound to an exchange. Like group queues it does not depend on the namespace.
 */
export function groupRegistryName(topic: string): string {
  const exchange = topicExchange(topic);
  const full = `${TAG}${SEP}groups${SEP}${exchange}`;
  return bytes(full) <= MAX_NAME_BYTES ? full : hashed("groups", [exchange], exchange);
}

/**
 * The adapter's own queues and exchanges, under `namespace` (validated by the options: no
 * `..`, not `amq.*`, at most 50 characters).
 */
export function internalNames(namespace: string) {
  const base = `${namespace}${SEP}delay${SEP}`;
  return {
    /** Wait queue (and its fanout exchange) of a delay bucket for queues. */
    waitQueue: (bucket: number): string => `${base}${bucket}`,
    /** Wait queue (and its fanout exchange) of a delay bucket for topics. */
    waitTopic: (bucket: number): string => `${base}${bucket}${SEP}topics`,
    /** The direct exchange expired topic messages return through, bound to each topic's exchange. */
    topicReturn: `${base}topics`,
    /**
     * An adapter's transient exchange (no messages, no bindings; `id` is the adapter's own),
     * declared on every connect and deleted on close: gone after a reconnect means the broker
     * restarted in between (see `Link.brokerRestarted`).
     */
    epoch: (id: string): string => `${namespace}${SEP}epoch${SEP}${id}`,
  };
}
