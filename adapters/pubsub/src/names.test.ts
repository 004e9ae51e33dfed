import { seededRandom } from "@omnibus/core/testing";
import { describe, expect, it } from "vitest";
import { groupSubscriptionId, queueIds, topicId } from "./names.js";

const VALID = /^[A-Za-z][A-Za-z0-9._~+%-]{2,254}$/;

describe("pubsub names", () => {
  it("are valid Pub/Sub ids, also for the longest names", () => {
    const long = "a".repeat(200);
    for (const id of [queueIds(long).topic, topicId(long), groupSubscriptionId(long, long), topicId("x")])
      expect(id).toMatch(VALID);
  });

  it("keep queues, topics and groups apart", () => {
    expect(queueIds("a").topic).not.toBe(topicId("a"));
    expect(groupSubscriptionId("a.b", "c")).not.toBe(groupSubscriptionId("a", "b.c"));
    expect(groupSubscriptionId("a", "b")).not.toBe(queueIds("a+b").subscription);
  });

  it("keep names apart that differ only after a long common prefix", () => {
    const p = "p".repeat(199);
    expect(groupSubscriptionId(`${p}1`, "g")).not.toBe(groupSubscriptionId(`${p}2`, "g"));
    expect(topicId(`${p}1`)).not.toBe(topicId(`${p}2`));
  });
});

/** What core accepts: 1-200 chars of [A-Za-z0-9._-], not starting with '.' or '-', no '..'. */
const OMNIBUS = (n: string) => /^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$/.test(n) && !n.includes("..");

/** A random valid name, short or around the 120/240-character cuts, biased to punctuation. */
function randomName(next: () => number): string {
  const alphabet = "..__--abqtg0Z";
  const r = next();
  const length =
    r < 0.4
      ? 1 + Math.floor(next() * 12)
      : r < 0.7
        ? 110 + Math.floor(next() * 20)
        : 1 + Math.floor(next() * 200);
  let n = "";
  while (n.length < length) {
    const c = alphabet[Math.floor(next() * alphabet.length)]!;
    if (n.length === 0 && (c === "." || c === "-")) continue;
    if (c === "." && n.endsWith(".")) continue;
    n += c;
  }
  return n;
}

/** Names built to meet: the id prefixes spelled inside names, splits of one string, long shared heads. */
function craftedNames(): string[] {
  const out = [
    "a",
    "b",
    "a.b",
    "b.c",
    "a.b.c",
    "q",
    "t",
    "g",
    "omnibus",
    "omnibus.q.a",
    "omnibus.t.a",
    "q.a",
    "t.a",
    "g.a",
  ];
  for (const k of [118, 119, 120, 121, 122, 198, 199]) {
    for (const tail of ["", "1", "2", ".x", "_x", "-x", "~"])
      out.push(`${"p".repeat(k)}${tail}`.slice(0, 200));
  }
  for (let k = 230; k <= 240; k++) out.push("x".repeat(Math.min(k, 200)));
  return out.filter(OMNIBUS);
}

describe("pubsub name mapping is one-to-one (property)", () => {
  const SEED = 20_261_216;
  const next = seededRandom(SEED);
  const names = [...new Set([...craftedNames(), ...Array.from({ length: 3_000 }, () => randomName(next))])];
  const groups = names.filter((_, i) => i % 7 === 0).slice(0, 120);

  it(`generates valid names only (seed ${SEED})`, () => {
    expect(names.filter((n) => !OMNIBUS(n))).toEqual([]);
    expect(names.length).toBeGreaterThan(2_500);
  });

  it("distinct queues, topics and (topic, group) pairs never share a topic or subscription id", () => {
    const topics = new Map<string, string>();
    const subscriptions = new Map<string, string>();
    const problems: string[] = [];
    const put = (map: Map<string, string>, id: string, owner: string) => {
      if (!VALID.test(id)) problems.push(`${owner}: invalid id ${id}`);
      const before = map.get(id);
      if (before !== undefined && before !== owner) problems.push(`${before} and ${owner} both map to ${id}`);
      map.set(id, owner);
    };
    for (const n of names) {
      const q = queueIds(n);
      put(topics, q.topic, `queue ${n}`);
      put(subscriptions, q.subscription, `queue ${n}`);
      put(topics, topicId(n), `topic ${n}`);
    }
    // Every crafted name as a topic with a spread of groups, and every group with crafted topics:
    // the splits (a.b, c) / (a, b.c) and long heads cut at 120 characters.
    const crafted = craftedNames();
    for (const t of [...crafted, ...names.slice(0, 300)])
      for (const g of [...crafted.slice(0, 40), ...groups])
        put(subscriptions, groupSubscriptionId(t, g), `group ${t} / ${g}`);
    expect(problems).toEqual([]);
  });
});
