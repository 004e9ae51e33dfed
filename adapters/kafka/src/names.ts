/**
 * Kafka names for Omnibus queues, topics, subscription groups and retry topics.
 *
 * Kafka topic names are 1-249 characters of `[a-zA-Z0-9._-]` (not `.` or `..`), and Kafka
 * refuses a topic whose name equals an existing one once `.` and `_` are taken for the same
 * character (their metric names would collide: `a.b` and `a_b` cannot coexist). Omnibus names
 * are 1-200 characters of `[A-Za-z0-9._-]`, not starting with `.` or `-`, without `..`.
 *
 * The mapping is a small grammar over Kafka's alphabet:
 *
 * - An output never contains `_`, so two outputs collide under Kafka's `.`/`_` rule only if they
 *   are equal.
 * - Every `..` in an output is an *escape*: the character right before it (never a `.`) says
 *   what the escape stands for. Omnibus names contain no `..`, so everything else is the names'
 *   own characters. Reading left to right, a character followed by `..` is an escape's code,
 *   any other character is itself; {@link parseKafkaName} does exactly that.
 *
 * | escape | meaning                                                             |
 * | ------ | ------------------------------------------------------------------- |
 * | `-..`  | a `_` of the name                                                   |
 * | `q..`  | (first) the topic of a queue                                        |
 * | `r..`  | (first) the retry topic of a subscription group                     |
 * | `g..`  | (retry topics) the end of the topic name, the group name follows    |
 * | `h..`  | (last) the rest was too long: 32 hex digits of a hash of the source |
 *
 * So queue `orders` is the Kafka topic `q..orders`, topic `orders` is `orders` (a topic of any
 * other Kafka producer reaches Omnibus subscribers as it is), queue `user_signup` is
 * `q..user-..signup`, and the retry topic of group `shipping` on topic `orders` is
 * `r..ordersg..shipping`. Different sources give different token sequences, hence different
 * strings (the test checks it by parsing every output back).
 *
 * A mapping longer than 249 characters keeps its kind escape and as many whole tokens as fit
 * (it is never cut inside an escape), then `h..` and a SHA-256 prefix of the whole source. No
 * plain output contains an `h` escape, so a hashed name never equals the plain name of another
 * source.
 *
 * Consumer-group ids are not topic names (any string is allowed): `<prefix>:queue:<queue>` and
 * `<prefix>:topic:<topic>:<group>`, apart because Omnibus names contain no `:`.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { ConfigError } from "@omnibus/core";

/** Kafka rejects topic names longer than this. */
export const MAX_TOPIC_LENGTH = 249;

/** What a Kafka topic of this adapter stands for. */
export type KafkaSource =
  | { readonly kind: "queue"; readonly name: string }
  | { readonly kind: "topic"; readonly name: string }
  | { readonly kind: "retry"; readonly topic: string; readonly group: string };

const NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$/;
const HASH_HEX = 32;
const Code = { underscore: "-", queue: "q", retry: "r", group: "g", hash: "h" } as const;

function checked(kind: string, name: string): string {
  if (typeof name !== "string" || !NAME.test(name) || name.includes("..")) {
    throw new ConfigError(`kafka: invalid ${kind} name ${JSON.stringify(String(name))}`);
  }
  return name;
}

/** One Omnibus name in the grammar: `_` becomes `-..`, every other character stays. */
function encode(name: string): string {
  return name.includes("_") ? name.replaceAll("_", `${Code.underscore}..`) : name;
}

/** The tokens of an encoded name: single characters and 3-character escapes. */
export function tokens(encoded: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < encoded.length; ) {
    const n = encoded[i] !== "." && encoded.startsWith("..", i + 1) ? 3 : 1;
    out.push(encoded.slice(i, i + n));
    i += n;
  }
  return out;
}

function digest(source: KafkaSource): string {
  const identity =
    source.kind === "retry" ? `retry\n${source.topic}\n${source.group}` : `${source.kind}\n${source.name}`;
  return createHash("sha256").update(identity).digest("hex").slice(0, HASH_HEX);
}

/** A source's Kafka name before any hashing: the kind escape and the rest. */
export function plainKafkaTopic(source: KafkaSource): { head: string; body: string } {
  let head: string;
  let body: string;
  switch (source.kind) {
    case "queue":
      head = `${Code.queue}..`;
      body = encode(checked("queue", source.name));
      break;
    case "topic":
      head = "";
      body = encode(checked("topic", source.name));
      break;
    case "retry":
      head = `${Code.retry}..`;
      body = `${encode(checked("topic", source.topic))}${Code.group}..${encode(checked("group", source.group))}`;
      break;
  }
  return { head, body };
}

/** The Kafka topic of a source (see the module comment). */
export function kafkaTopic(source: KafkaSource): string {
  const { head, body } = plainKafkaTopic(source);
  if (head.length + body.length <= MAX_TOPIC_LENGTH) return head + body;
  const tail = `${Code.hash}..${digest(source)}`;
  const room = MAX_TOPIC_LENGTH - head.length - tail.length;
  let kept = "";
  for (const token of tokens(body)) {
    if (kept.length + token.length > room) break;
    kept += token;
  }
  return head + kept + tail;
}

/** The Kafka topic of a queue. */
export const queueTopic = (queue: string): string => kafkaTopic({ kind: "queue", name: queue });
/** The Kafka topic of an Omnibus topic. */
export const topicTopic = (topic: string): string => kafkaTopic({ kind: "topic", name: topic });
/**
 * The retry topic of one subscription group: a nack in group G must come back to G only, so it
 * cannot be written to the shared topic.
 */
export const retryTopic = (topic: string, group: string): string =>
  kafkaTopic({ kind: "retry", topic, group });

/**
 * The consumer group id behind a queue: every consumer of the queue joins it, so they compete
 * for the topic's partitions.
 */
export function queueGroupId(prefix: string, queue: string): string {
  return `${prefix}:queue:${checked("queue", queue)}`;
}

/**
 * The consumer group id behind a topic subscription group. It includes the topic because core
 * lets one group name subscribe to several topics, and a Kafka group whose members subscribe to
 * different topics would leave partitions unassigned.
 */
export function topicGroupId(prefix: string, topic: string, group: string): string {
  return `${prefix}:topic:${checked("topic", topic)}:${checked("group", group)}`;
}

/** What {@link parseKafkaName} reads back. */
export type ParsedKafkaName = KafkaSource | { readonly kind: "hashed"; readonly of: KafkaSource["kind"] };

/**
 * Read a Kafka topic name of this adapter back (`undefined` if the grammar does not produce it).
 * A hashed name gives only its kind. Used by the tests to prove the mapping injective; it also
 * tells a topic of this adapter from any other.
 */
export function parseKafkaName(kafkaName: string): ParsedKafkaName | undefined {
  const parts: string[][] = [[]];
  const codes: string[] = [];
  let hashed = false;
  for (let i = 0; i < kafkaName.length; ) {
    const c = kafkaName[i]!;
    if (c !== "." && kafkaName.startsWith("..", i + 1)) {
      i += 3;
      if (c === Code.underscore) {
        parts[parts.length - 1]!.push("_");
        continue;
      }
      codes.push(c);
      if (c === Code.hash) {
        const hex = kafkaName.slice(i);
        if (!new RegExp(`^[0-9a-f]{${HASH_HEX}}$`).test(hex)) return undefined;
        hashed = true;
        break;
      }
      if ((c === Code.queue || c === Code.retry) && codes.length === 1 && i === 3) continue;
      if (c === Code.group && codes[0] === Code.retry && codes.length === 2) {
        parts.push([]);
        continue;
      }
      return undefined;
    }
    if (!/[A-Za-z0-9.-]/.test(c)) return undefined;
    parts[parts.length - 1]!.push(c);
    i++;
  }
  const kind = codes[0] === Code.queue ? "queue" : codes[0] === Code.retry ? "retry" : "topic";
  if (hashed) return { kind: "hashed", of: kind };
  const names = parts.map((p) => p.join(""));
  const valid = (n: string) => NAME.test(n) && !n.includes("..");
  if (!names.every(valid)) return undefined;
  if (kind === "retry") return names.length === 2 ? { kind, topic: names[0]!, group: names[1]! } : undefined;
  return names.length === 1 ? { kind, name: names[0]! } : undefined;
}
