import { validateName } from "@omnibus/core";
import { seededRandom } from "@omnibus/core/testing";
import { describe, expect, it } from "vitest";
import { groupQueueName, internalNames, MAX_NAME_BYTES, queueName, topicExchange } from "./names.js";

const FIRST = "abcAB0_";
const REST = "ab.-_A0";

/** A random valid Omnibus name, biased towards short ones, dots and dots at the end. */
function randomName(rand: () => number): string {
  const pick = (s: string) => s[Math.floor(rand() * s.length)]!;
  const r = rand();
  const length =
    r < 0.5
      ? 1 + Math.floor(rand() * 6)
      : r < 0.8
        ? 1 + Math.floor(rand() * 40)
        : 150 + Math.floor(rand() * 51);
  let name = pick(FIRST);
  while (name.length < length) {
    const c = pick(REST);
    if (c === "." && name.endsWith(".")) continue;
    name += c;
  }
  if (rand() < 0.1) name = `amq.${name}`.slice(0, 200).replace(/\.\.+/g, ".");
  return validateName("queue", name);
}

/** Names that careless mappings merge, split, truncate or reserve. */
const crafted = [
  "a",
  "b",
  "c",
  "a.b",
  "b.c",
  "a.b.c",
  "a.",
  "a..b".replace("..", "."),
  "a_b",
  "a-b",
  "A",
  "amq",
  "amq.",
  "amq.a",
  "amq.a.b",
  "AMQ.a",
  "omnibus",
  "omnibus.delay.1500",
  "omnibus.delay.1500.topics",
  "omnibus.delay.topics",
  "omnibus.queue.amq.a",
  "omnibus.group.a.b",
  "queue",
  "group",
  "topic",
  "delay",
  "hgroup",
  "x.",
  "x.y.",
  "L".repeat(200),
  `${"L".repeat(199)}1`,
  `${"L".repeat(199)}2`,
  `${"L".repeat(198)}.`,
  `amq.${"L".repeat(196)}`,
  `amq.${"L".repeat(195)}.`,
].map((n) => validateName("queue", n));

/** Every AMQP name of one name space, with what it was made from: a repeat is a collision. */
class Space {
  readonly #owner = new Map<string, string>();
  readonly collisions: string[] = [];

  add(amqp: string, what: string): void {
    expect(Buffer.byteLength(amqp), `${what} -> ${amqp}`).toBeLessThanOrEqual(MAX_NAME_BYTES);
    expect(amqp.length, what).toBeGreaterThan(0);
    expect(amqp.startsWith("amq."), `${what} -> ${amqp} is reserved`).toBe(false);
    const other = this.#owner.get(amqp);
    if (other !== undefined && other !== what) this.collisions.push(`${other} and ${what} -> ${amqp}`);
    this.#owner.set(amqp, what);
  }
}

function fill(names: readonly string[], pairs: readonly (readonly [string, string])[]) {
  const queues = new Space();
  const exchanges = new Space();
  for (const n of names) {
    queues.add(queueName(n), `queue ${n}`);
    exchanges.add(topicExchange(n), `topic ${n}`);
  }
  for (const [t, g] of pairs) queues.add(groupQueueName(t, g), `group (${t}, ${g})`);
  for (const ns of ["omnibus", "o", "a.b", "a", "omnibus.x", "x."]) {
    const internal = internalNames(ns);
    for (const bucket of [1, 99, 100, 1500, 2_147_483_647]) {
      queues.add(internal.waitQueue(bucket), `${ns} wait queue ${bucket}`);
      queues.add(internal.waitTopic(bucket), `${ns} topic wait queue ${bucket}`);
      exchanges.add(internal.waitQueue(bucket), `${ns} wait exchange ${bucket}`);
      exchanges.add(internal.waitTopic(bucket), `${ns} topic wait exchange ${bucket}`);
    }
    exchanges.add(internal.topicReturn, `${ns} topic return exchange`);
    exchanges.add(internal.epoch("0123abcd"), `${ns} epoch exchange`);
  }
  return { queues, exchanges };
}

describe("AMQP names", () => {
  it("keeps plain Omnibus names as they are, so other AMQP clients share them", () => {
    for (const n of ["orders", "order.placed", "a.b.c", "x-y_z", "L".repeat(200), "AMQ.x", "amq"]) {
      expect(queueName(n)).toBe(n);
      expect(topicExchange(n)).toBe(n);
    }
    expect(groupQueueName("order.placed", "shipping")).toBe("order.placed..shipping");
  });

  it("keeps (topic a.b, group c), (topic a, group b.c) and queue a.b.c apart", () => {
    const names = new Set([groupQueueName("a.b", "c"), groupQueueName("a", "b.c"), queueName("a.b.c")]);
    expect(names.size).toBe(3);
    expect(groupQueueName("a.", "b")).not.toBe(groupQueueName("a", "b"));
  });

  it("never starts with amq. and stays within 255 bytes", () => {
    expect(queueName("amq.x")).toBe("omnibus..queue..amq.x");
    expect(topicExchange("amq.fanout")).toBe("omnibus..topic..amq.fanout");
    expect(groupQueueName("amq.x", "g")).toBe("omnibus..group..amq.x..g");
    const long = groupQueueName("T".repeat(200), "G".repeat(200));
    expect(long.length).toBeLessThanOrEqual(255);
    expect(long.startsWith("omnibus..hgroup..")).toBe(true);
    expect(long).not.toBe(groupQueueName("T".repeat(200), `${"G".repeat(199)}H`));
  });

  it("is injective on crafted names, within each name space", () => {
    const pairs: [string, string][] = [];
    for (const t of crafted) for (const g of crafted) pairs.push([t, g]);
    const { queues, exchanges } = fill(crafted, pairs);
    expect(queues.collisions).toEqual([]);
    expect(exchanges.collisions).toEqual([]);
  });

  it("is injective on random names (property, seeded)", () => {
    for (const seed of [1, 2, 3, 42, 2026]) {
      const rand = seededRandom(seed);
      const names = Array.from({ length: 400 }, () => randomName(rand));
      const pairs: [string, string][] = [];
      // Pairs from the same small pool, so that splits like (a.b, c) / (a, b.c) occur.
      for (let i = 0; i < 4000; i++) {
        const t = names[Math.floor(rand() * names.length)]!;
        const g = names[Math.floor(rand() * names.length)]!;
        pairs.push([t, g]);
        // The same characters split at another dot.
        const joined = `${t}.${g}`;
        const dots = [...joined.matchAll(/\./g)].map((m) => m.index);
        const at = dots[Math.floor(rand() * dots.length)];
        if (at !== undefined && at > 0 && at < joined.length - 1) {
          const [t2, g2] = [joined.slice(0, at), joined.slice(at + 1)];
          try {
            pairs.push([validateName("topic", t2), validateName("group", g2)]);
            names.push(validateName("queue", joined));
          } catch {
            // not a pair of valid names (too long, a leading '-')
          }
        }
      }
      const { queues, exchanges } = fill([...new Set([...names, ...crafted])], pairs);
      expect(queues.collisions, `seed ${seed}`).toEqual([]);
      expect(exchanges.collisions, `seed ${seed}`).toEqual([]);
    }
  });

  it("stays injective and valid for strings that are not Omnibus names", () => {
    const odd = ["", ".", "..", "a..b", ".a", "a...b", "-a", "ü", "ü".repeat(200), "a b", "a..", "..a"];
    const pairs: [string, string][] = [];
    for (const t of [...odd, ...crafted.slice(0, 8)])
      for (const g of [...odd, ...crafted.slice(0, 8)]) pairs.push([t, g]);
    const names = [...odd.filter((n) => n !== ""), ...crafted];
    const { queues, exchanges } = fill(names, pairs);
    expect(queues.collisions).toEqual([]);
    expect(exchanges.collisions).toEqual([]);
  });
});
