import { randomName, seededRandom } from "@omnibus/core/testing";
import { describe, expect, it } from "vitest";
import { groupDest, queueDest } from "./schema.js";

/** What core accepts: 1-200 chars of [A-Za-z0-9._-], not starting with '.' or '-', no '..'. */
const OMNIBUS = (n: string) => /^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$/.test(n) && !n.includes("..");

/** Separators and pieces of the mapped forms, where collisions hide. */
const ALPHABET = "..__--qtab0Z";

/** Names spelling the `dest` forms of others, and splits of one dotted string. */
const crafted = ["a", "b", "c", "a.b", "b.c", "a.b.c", "q", "t", "q.a", "t.a", "t_a", "x".repeat(200)];

describe("postgres destination mapping is one-to-one (property)", () => {
  const SEED = 20_261_216;
  const next = seededRandom(SEED);
  const names = [
    ...new Set([...crafted, ...Array.from({ length: 3_000 }, () => randomName(next, ALPHABET))]),
  ];

  it(`generates valid names only (seed ${SEED})`, () => {
    expect(names.filter((n) => !OMNIBUS(n))).toEqual([]);
  });

  it("distinct queues and (topic, group) pairs never share a dest", () => {
    const owners = new Map<string, string>();
    const problems: string[] = [];
    const put = (dest: string, owner: string) => {
      const before = owners.get(dest);
      if (before !== undefined && before !== owner)
        problems.push(`${before} and ${owner} both use dest ${dest}`);
      owners.set(dest, owner);
    };
    for (const n of names) put(queueDest(n), `queue ${n}`);
    for (const t of [...crafted, ...names.slice(0, 400)])
      for (const g of [...crafted, ...names.slice(400, 520)]) put(groupDest(t, g), `group ${t} / ${g}`);
    expect(problems).toEqual([]);
  });
});
