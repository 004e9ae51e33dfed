import { randomName, seededRandom } from "@omnibus/core/testing";
import { describe, expect, it } from "vitest";
import { groupFqqn, groupQueue, topicAddress } from "./names.js";

/** What core accepts: 1-200 chars of [A-Za-z0-9._-], not starting with '.' or '-', no '..'. */
const OMNIBUS = (n: string) => /^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$/.test(n) && !n.includes("..");

/** Separators and pieces of the mapped forms, where collisions hide. */
const ALPHABET = "..__--topicab0Z";

/** Names spelling the mapped forms of others, and splits of one dotted string. */
const crafted = [
  "a",
  "b",
  "c",
  "a.b",
  "b.c",
  "a.b.c",
  "topic",
  "topic.a",
  "topic_a",
  "topic-a",
  "t",
  "x".repeat(200),
];

describe("activemq name mapping is one-to-one (property)", () => {
  const SEED = 20_261_216;
  const next = seededRandom(SEED);
  const names = [
    ...new Set([...crafted, ...Array.from({ length: 3_000 }, () => randomName(next, ALPHABET))]),
  ];

  it(`generates valid names only (seed ${SEED})`, () => {
    expect(names.filter((n) => !OMNIBUS(n))).toEqual([]);
  });

  it("distinct queues, topics and (topic, group) pairs never share an address or a queue", () => {
    const addresses = new Map<string, string>();
    const queues = new Map<string, string>();
    const fqqns = new Map<string, string>();
    const problems: string[] = [];
    const put = (map: Map<string, string>, id: string, owner: string) => {
      const before = map.get(id);
      if (before !== undefined && before !== owner) problems.push(`${before} and ${owner} both map to ${id}`);
      map.set(id, owner);
    };
    for (const n of names) {
      // A queue is an anycast address of its name holding one queue of its name.
      put(addresses, n, `queue ${n}`);
      put(queues, n, `queue ${n}`);
      put(addresses, topicAddress(n), `topic ${n}`);
    }
    for (const t of [...crafted, ...names.slice(0, 400)])
      for (const g of [...crafted, ...names.slice(400, 520)]) {
        put(queues, groupQueue(t, g), `group ${t} / ${g}`);
        put(fqqns, groupFqqn(t, g), `group ${t} / ${g}`);
        if (!groupFqqn(t, g).startsWith(`${topicAddress(t)}::`))
          problems.push(`${t} / ${g}: FQQN off its address`);
      }
    expect(problems).toEqual([]);
  });
});
