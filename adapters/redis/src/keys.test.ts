import { randomName, seededRandom } from "@omnibus/core/testing";
import { describe, expect, it } from "vitest";
import { addressKeys, QUEUE_GROUP, queueKeys, topicKeys } from "./keys.js";

/** What core accepts: 1-200 chars of [A-Za-z0-9._-], not starting with '.' or '-', no '..'. */
const OMNIBUS = (n: string) => /^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$/.test(n) && !n.includes("..");

/** Separators and pieces of the mapped forms, where collisions hide. */
const ALPHABET = "..__--qtretrydelayedstream0Z";

/** Names spelling the key suffixes of others, the queue consumer group, splits of one string. */
const crafted = [
  "a",
  "b",
  "a.b",
  "b.c",
  "a.b.c",
  "stream",
  "delayed",
  "retry",
  "q",
  "t",
  QUEUE_GROUP,
  "x".repeat(200),
];

describe("redis key mapping is one-to-one (property)", () => {
  const SEED = 20_261_216;
  const next = seededRandom(SEED);
  const names = [
    ...new Set([...crafted, ...Array.from({ length: 3_000 }, () => randomName(next, ALPHABET))]),
  ];

  it(`generates valid names only (seed ${SEED})`, () => {
    expect(names.filter((n) => !OMNIBUS(n))).toEqual([]);
  });

  for (const prefix of ["omnibus", "app:x"]) {
    it(`distinct queues, topics and (topic, group) pairs never share a key, prefix ${prefix}`, () => {
      const owners = new Map<string, string>();
      const problems: string[] = [];
      const put = (key: string, owner: string) => {
        const before = owners.get(key);
        if (before !== undefined && before !== owner) problems.push(`${before} and ${owner} both use ${key}`);
        owners.set(key, owner);
      };
      const tag = (key: string) => /\{[^}]*\}/.exec(key)?.[0];
      for (const n of names) {
        const q = queueKeys(prefix, n);
        const sent = addressKeys(prefix, "queue", n);
        if (sent.stream !== q.streams[0])
          problems.push(`queue ${n}: sends and consumers use different streams`);
        for (const key of [...q.streams, q.retryDelayed]) put(key, `queue ${n}`);
        const t = addressKeys(prefix, "topic", n);
        put(t.stream, `topic ${n}`);
        put(t.delayed, `topic ${n}`);
      }
      for (const topic of [...crafted, ...names.slice(0, 300)])
        for (const group of [...crafted, ...names.slice(300, 420)]) {
          const k = topicKeys(prefix, topic, group);
          const owner = `group ${topic} / ${group}`;
          // The topic's own stream is shared by its groups by design; a group's own keys are not.
          put(k.retryStream, owner);
          put(k.retryDelayed, owner);
          if (new Set([...k.streams, k.retryDelayed].map(tag)).size !== 1)
            problems.push(`${owner}: keys in two slots`);
        }
      expect(problems).toEqual([]);
    });
  }
});
