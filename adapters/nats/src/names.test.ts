import { seededRandom } from "@omnibus/core/testing";
import { describe, expect, it } from "vitest";
import {
  escapeName,
  groupConsumer,
  MAX_TOKEN,
  QUEUE_CONSUMER,
  queueNames,
  topicNames,
  unescapeName,
} from "./names.js";

const prefixes = { stream: "OMNIBUS", subject: "omnibus" };
const STREAM_NAME = /^[A-Za-z0-9_-]+$/;

describe("escapeName", () => {
  const names = ["orders", "a.b", "a_b", "a_db", "a__b", "a._b", "a_.b", "x-y", "Q.dlq", "omnibus.inbox.abc"];

  it("is injective over tricky names", () => {
    const escaped = names.map(escapeName);
    expect(new Set(escaped).size).toBe(names.length);
  });

  it.each(names)("maps %j to a valid stream/subject token and back", (n) => {
    const e = escapeName(n);
    expect(e).toMatch(STREAM_NAME);
    expect(unescapeName(e)).toBe(n);
  });

  it("hashes long names, keeping them distinct and bounded", () => {
    const a = "a.".repeat(99) + "a";
    const b = "a.".repeat(99) + "b";
    expect(escapeName(a).length).toBeLessThanOrEqual(MAX_TOKEN);
    expect(escapeName(a)).not.toBe(escapeName(b));
    expect(escapeName(a)).toMatch(STREAM_NAME);
    expect(unescapeName(escapeName(a))).toBeUndefined();
  });

  it("keeps queue, topic and group names apart", () => {
    expect(queueNames(prefixes, "a.b")).toEqual({ stream: "OMNIBUS_Q_a_db", subject: "omnibus.q.a_db" });
    expect(topicNames(prefixes, "a.b")).toEqual({ stream: "OMNIBUS_T_a_db", subject: "omnibus.t.a_db" });
    expect(groupConsumer("billing.eu")).toBe("g_billing_deu");
  });
});

/** What core accepts: 1-200 chars of [A-Za-z0-9._-], not starting with '.' or '-', no '..'. */
const VALID = (n: string) => /^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$/.test(n) && !n.includes("..");

/** Read a token as loosely as possible (`__` → `_`, `_d` → `.`, anything else kept). */
const loose = (token: string) => token.replace(/_[_d]/g, (pair) => (pair === "__" ? "_" : "."));

/** A random valid name, biased towards `_` and `.` (the characters the escape touches). */
function randomName(next: () => number): string {
  const alphabet = "__..-adxZ0";
  const length = next() < 0.5 ? 1 + Math.floor(next() * 200) : 50 + Math.floor(next() * 80);
  let n = "";
  while (n.length < length) {
    const c = alphabet[Math.floor(next() * alphabet.length)]!;
    if (n.length === 0 && (c === "." || c === "-")) continue;
    if (c === "." && n.endsWith(".")) continue;
    n += c;
  }
  return n;
}

/** Names built to meet at the cut, and plain names spelling (or nearly) the hashed tokens. */
function craftedNames(): string[] {
  const out: string[] = [`${"a".repeat(63)}.${"b".repeat(100)}`];
  for (let k = 50; k <= 70; k++) {
    for (const at of [".", "_", "-"]) {
      for (const tail of ["b".repeat(100), ".b".repeat(40), "_".repeat(70), `x${"_d".repeat(40)}`, "_x"]) {
        out.push(`${"a".repeat(k)}${at}${tail}`.slice(0, 200));
        out.push(`${"_".repeat(k)}${at}${tail}`.slice(0, 200));
      }
    }
  }
  for (const n of [...out]) {
    const token = escapeName(n);
    const i = token.lastIndexOf("_x");
    if (i < 0) continue;
    const [prefix, hash] = [token.slice(0, i), token.slice(i + 2)];
    // The name the old mapping confused with a cut pair, and its neighbours.
    for (const candidate of [
      `${loose(prefix)}_x${hash}`,
      `${loose(prefix)}x${hash}`,
      `${loose(prefix.slice(0, -1))}_x${hash}`,
      loose(token),
    ]) {
      if (VALID(candidate)) out.push(candidate);
    }
  }
  out.push("a", "_", "a.b", "a_db", "a__b", "x".repeat(200), "_".repeat(200), `a${"._".repeat(99)}b`);
  return out.filter(VALID);
}

describe("name mapping is one-to-one (property)", () => {
  const SEED = 20_261_201;
  const next = seededRandom(SEED);
  const names = [...new Set([...craftedNames(), ...Array.from({ length: 5_000 }, () => randomName(next))])];

  it(`generates valid names only (seed ${SEED})`, () => {
    expect(names.filter((n) => !VALID(n))).toEqual([]);
    expect(names.length).toBeGreaterThan(5_000);
  });

  it("the old collision: a name cut inside an escape pair vs the plain name spelling its token", () => {
    const long = `${"a".repeat(63)}.${"b".repeat(100)}`;
    const hash = escapeName(long).slice(-32);
    const plain = `${"a".repeat(63)}_x${hash}`;
    expect(VALID(plain)).toBe(true);
    expect(escapeName(plain)).toBe(`${"a".repeat(63)}__x${hash}`);
    expect(escapeName(long)).toBe(`${"a".repeat(63)}_x${hash}`);
    expect(escapeName(long)).not.toBe(escapeName(plain));
  });

  it("every token is valid and bounded; a plain one reads back to its name, a hashed one to nothing", () => {
    const problems: string[] = [];
    for (const n of names) {
      const token = escapeName(n);
      const plain = n.replace(/[_.]/g, "__").length <= MAX_TOKEN;
      const back = unescapeName(token);
      // The inverse proves injectivity on plain tokens, and that no hashed token is a plain one.
      if (!STREAM_NAME.test(token) || token.length > MAX_TOKEN) problems.push(`${n}: bad token ${token}`);
      else if (plain && back !== n) problems.push(`${n}: plain token ${token} reads back as ${back}`);
      else if (!plain && (back !== undefined || !/_x[0-9a-f]{32}$/.test(token)))
        problems.push(`${n}: hashed token ${token} reads as a plain one (${back})`);
    }
    expect(problems).toEqual([]);
  });

  it("distinct names give distinct streams, subjects and group consumers, across queues and topics", () => {
    const streams = new Map<string, string>();
    const subjects = new Map<string, string>();
    const durables = new Map<string, string>();
    const clashes: string[] = [];
    const put = (map: Map<string, string>, key: string, owner: string) => {
      const before = map.get(key);
      if (before !== undefined) clashes.push(`${before} and ${owner} both map to ${key}`);
      map.set(key, owner);
    };
    for (const n of names) {
      const q = queueNames(prefixes, n);
      const t = topicNames(prefixes, n);
      put(streams, q.stream, `queue ${n}`);
      put(streams, t.stream, `topic ${n}`);
      put(subjects, q.subject, `queue ${n}`);
      put(subjects, t.subject, `topic ${n}`);
      put(durables, groupConsumer(n), `group ${n}`);
      if (groupConsumer(n) === QUEUE_CONSUMER) clashes.push(`group ${n} is the queue consumer`);
      if (q.subject.split(".").length !== 3 || t.subject.split(".").length !== 3)
        clashes.push(`${n}: more than one subject token`);
    }
    expect(clashes).toEqual([]);
  });
});
