import { ConfigError } from "@omnibus/core";
import { seededRandom } from "@omnibus/core/testing";
import { describe, expect, it } from "vitest";
import {
  type KafkaSource,
  kafkaTopic,
  MAX_TOPIC_LENGTH,
  parseKafkaName,
  plainKafkaTopic,
  queueGroupId,
  queueTopic,
  retryTopic,
  tokens,
  topicGroupId,
  topicTopic,
} from "./names.js";

const ALNUM = "ABCXYZabcqrghuxyz0189";
const SPECIAL = "._-";

/** A random valid Omnibus name, biased towards '.', '_', '-' and the grammar's code letters. */
function randomName(random: () => number, maxLength = 200): string {
  const length =
    random() < 0.15
      ? maxLength - Math.floor(random() * 3)
      : 1 + Math.floor(random() * Math.min(12, maxLength));
  let name = "";
  while (name.length < length) {
    const pool = random() < 0.45 ? SPECIAL : ALNUM;
    const c = pool[Math.floor(random() * pool.length)]!;
    if (name.length === 0 && (c === "." || c === "-")) continue;
    if (c === "." && name.endsWith(".")) continue;
    name += c;
  }
  return name;
}

const valid = (n: string) => /^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$/.test(n) && !n.includes("..");

/** Names a careless mapping merges: '.' vs '_', suffixes, escape look-alikes, long shared prefixes. */
function craftedNames(): string[] {
  const base = [
    "a",
    "q",
    "r",
    "g",
    "h",
    "_",
    "__",
    "a.b",
    "a_b",
    "a-b",
    "a._b",
    "a_.b",
    "a-_b",
    "a_-b",
    "a.",
    "a_",
    "a-",
    "_a",
    "q.a",
    "q_a",
    "q-a",
    "qa",
    "r.a",
    "g",
    "ag",
    "a.g",
    "a_g",
    "x.dlq",
    "x_dlq",
    "x-dlq",
    "omnibus.inbox.x",
    "__consumer_offsets",
    "Alpha",
    "alpha",
    "ALPHA",
    "h.0123456789abcdef0123456789abcdef",
  ];
  const long: string[] = [];
  for (const fill of ["L", "_", "._", "_.", "a_", "-_"]) {
    const stem = fill.repeat(200).slice(0, 199).replace(/\.\./g, "._");
    for (const last of ["1", "2", "_", "."]) long.push(`${stem}${last}`.slice(0, 200));
    long.push(stem);
  }
  // Names equal up to the point where a hashed form would cut them.
  for (let cut = 180; cut <= 200; cut += 4) {
    long.push(`${"u_".repeat(100).slice(0, cut - 1)}x`);
    long.push(`${"u_".repeat(100).slice(0, cut - 1)}y`);
  }
  return [...base, ...long].filter(valid);
}

function sourcesFor(names: string[], random: () => number): KafkaSource[] {
  const sources: KafkaSource[] = [];
  for (const name of names) {
    sources.push({ kind: "queue", name }, { kind: "topic", name });
    const other = names[Math.floor(random() * names.length)]!;
    sources.push({ kind: "retry", topic: name, group: other }, { kind: "retry", topic: other, group: name });
  }
  return sources;
}

const identity = (s: KafkaSource) =>
  s.kind === "retry" ? `retry ${s.topic} ${s.group}` : `${s.kind} ${s.name}`;

describe("Kafka names", () => {
  it("maps queues, topics and retry topics apart, with readable plain forms", () => {
    expect(queueTopic("orders")).toBe("q..orders");
    expect(topicTopic("orders")).toBe("orders");
    expect(queueTopic("user_signup")).toBe("q..user-..signup");
    expect(retryTopic("orders", "shipping")).toBe("r..ordersg..shipping");
    expect(topicTopic("a.b")).not.toBe(topicTopic("a_b"));
    expect(retryTopic("a.b", "c")).not.toBe(retryTopic("a", "b.c"));
  });

  it("derives distinct group ids for queues and topic groups", () => {
    expect(queueGroupId("omnibus", "orders")).toBe("omnibus:queue:orders");
    expect(topicGroupId("omnibus", "orders", "shipping")).toBe("omnibus:topic:orders:shipping");
    expect(topicGroupId("omnibus", "a.b", "c")).not.toBe(topicGroupId("omnibus", "a", "b.c"));
    expect(queueGroupId("p", "x")).not.toBe(topicGroupId("p", "x", "x"));
  });

  it("refuses what is not an Omnibus name", () => {
    for (const bad of ["", ".a", "-a", "a..b", "a:b", "a/b", "ü", "x".repeat(201)]) {
      expect(() => queueTopic(bad)).toThrow(ConfigError);
      expect(() => retryTopic("t", bad)).toThrow(ConfigError);
    }
  });

  it("is injective across kinds, Kafka-legal and free of '.'/'_' collisions (random and crafted names)", () => {
    const random = seededRandom(0x5eed);
    const names = [...craftedNames()];
    for (let i = 0; i < 4000; i++) names.push(randomName(random, i % 5 === 0 ? 200 : 40));
    const sources = sourcesFor([...new Set(names)], random);
    const byKafka = new Map<string, string>();
    const byFolded = new Map<string, string>();
    let hashed = 0;
    for (const source of sources) {
      const id = identity(source);
      const kafkaName = kafkaTopic(source);
      expect(kafkaName.length, id).toBeLessThanOrEqual(MAX_TOPIC_LENGTH);
      expect(kafkaName, id).toMatch(/^[A-Za-z0-9.-]+$/);
      expect([".", ".."], id).not.toContain(kafkaName);
      // Injective: one Kafka name per source, and a plain name reads back as its source.
      const previous = byKafka.get(kafkaName);
      if (previous !== undefined) expect(previous, kafkaName).toBe(id);
      byKafka.set(kafkaName, id);
      const parsed = parseKafkaName(kafkaName);
      expect(parsed, `${id} -> ${kafkaName}`).toBeDefined();
      if (parsed!.kind === "hashed") {
        hashed++;
        expect(parsed!.of).toBe(source.kind);
      } else {
        expect(parsed).toEqual(source);
      }
      // Kafka's collision rule: '.' and '_' are one character.
      const folded = kafkaName.replaceAll(".", "_");
      const clash = byFolded.get(folded);
      if (clash !== undefined) expect(clash, folded).toBe(kafkaName);
      byFolded.set(folded, kafkaName);
    }
    expect(hashed).toBeGreaterThan(100);
    expect(byKafka.size).toBe(new Set(sources.map(identity)).size);
  });

  it("cuts a long name only between tokens, so that a hashed form parses as hashed", () => {
    for (const fill of ["_", "a_", "._", "_.", "L"]) {
      const name = fill.repeat(200).slice(0, 200).replace(/\.\./g, "._").replace(/^\./, "a");
      for (const source of [
        { kind: "queue", name },
        { kind: "retry", topic: name, group: name },
      ] as KafkaSource[]) {
        const kafkaName = kafkaTopic(source);
        const { head, body } = plainKafkaTopic(source);
        if (head.length + body.length <= MAX_TOPIC_LENGTH) {
          expect(kafkaName).toBe(head + body);
          continue;
        }
        expect(parseKafkaName(kafkaName)).toEqual({ kind: "hashed", of: source.kind });
        // What is kept of the plain form is whole tokens: the first n of them.
        const kept = kafkaName.slice(head.length, kafkaName.length - 35);
        const whole = tokens(body);
        const n = tokens(kept).length;
        expect(whole.slice(0, n).join(""), kafkaName).toBe(kept);
        expect(kafkaName.length).toBeGreaterThan(MAX_TOPIC_LENGTH - 3);
      }
    }
    // Two long names that differ only after the cut get different hashes.
    const a = `${"x_".repeat(100).slice(0, 199)}a`;
    const b = `${"x_".repeat(100).slice(0, 199)}b`;
    expect(queueTopic(a)).not.toBe(queueTopic(b));
    expect(queueTopic(a)).toMatch(/^q\.\..*h\.\.[0-9a-f]{32}$/);
  });

  it("reads names of other producers as not its own", () => {
    expect(parseKafkaName("q..a..b")).toBeUndefined();
    expect(parseKafkaName("x..y")).toBeUndefined();
    expect(parseKafkaName("a_b")).toBeUndefined();
    expect(parseKafkaName("orders")).toEqual({ kind: "topic", name: "orders" });
  });
});
