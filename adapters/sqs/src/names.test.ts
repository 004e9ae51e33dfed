import { validateName } from "@omnibus/core";
import { seededRandom } from "@omnibus/core/testing";
import { describe, expect, it } from "vitest";
import { brokerName, checkPrefix, groupQueueName, MAX_QUEUE_NAME, MAX_TOPIC_NAME } from "./names.js";

const q = (name: string, prefix = "", fifo = false) =>
  brokerName(name, { prefix, fifo, max: MAX_QUEUE_NAME });

describe("brokerName", () => {
  it("keeps names SQS accepts, after the prefix", () => {
    expect(q("orders")).toBe("orders");
    expect(q("orders_v2-eu", "dev-")).toBe("dev-orders_v2-eu");
    expect(q("orders", "", true)).toBe("orders.fifo");
    expect(q("batch-2024")).toBe("batch-2024");
    expect(q("x-0123456789a")).toBe("x-0123456789a"); // 11 hex: not a hashed tail
    expect(q("x-0123456789ABCDEF")).toBe("x-0123456789ABCDEF");
  });

  it("maps names with dots to a sanitized name plus a hash, never onto another name", () => {
    const dlq = q("orders.dlq");
    expect(dlq).toMatch(/^orders_dlq-[0-9a-f]{10}$/);
    expect(dlq).not.toBe(q("orders_dlq"));
    expect(q("a.b")).not.toBe(q("a-b"));
    expect(q(groupQueueName("orders", "shipping"))).not.toBe(q("orders.shipping"));
    expect(q("orders.dlq")).toBe(dlq); // stable
  });

  it("hashes a name that ends like a hashed form, so that it cannot meet the name it looks like", () => {
    const dlq = q("orders.dlq");
    // `orders_dlq-<hash>` is a valid Omnibus name: it must not be consumed from `orders.dlq`.
    expect(q(dlq)).not.toBe(dlq);
    expect(q(dlq)).toMatch(/^orders_dlq-[0-9a-f]{10}-[0-9a-f]{10}$/);
    const group = q(groupQueueName("orders", "shipping"));
    expect(q(group)).not.toBe(group);
    expect(q("batch-1718000000")).toMatch(/^batch-1718000000-[0-9a-f]{10}$/);
  });

  it("fits long names in 80 characters with prefix and .fifo", () => {
    const long = "x".repeat(200);
    for (const [prefix, fifo] of [
      ["", false],
      ["staging-", true],
    ] as const) {
      const name = q(long, prefix, fifo);
      expect(name.length).toBeLessThanOrEqual(80);
      expect(name).toMatch(/^[A-Za-z0-9_-]+(\.fifo)?$/);
      expect(name.startsWith(prefix)).toBe(true);
    }
    expect(q(long)).not.toBe(q(`${long.slice(0, 199)}y`));
  });
});

// ------------------------------------------------------------------ property test

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const HEX = "0123456789abcdef";

/**
 * A random Omnibus name: 1-200 characters of `[A-Za-z0-9._-]`, not starting with `.` or `-`, no
 * `..`. Lengths cluster where the mapping changes (short names, the 75/80-character budgets, 200),
 * punctuation is frequent, and some names end in what looks like a hashed tail.
 */
function randomName(rand: () => number): string {
  const pick = (chars: string) => chars[Math.floor(rand() * chars.length)]!;
  const lengths = [1, 2, 3, 8, 20, 63, 64, 74, 75, 76, 79, 80, 81, 120, 199, 200];
  const length = rand() < 0.5 ? lengths[Math.floor(rand() * lengths.length)]! : 1 + Math.floor(rand() * 200);
  let name = pick(`${ALNUM}_`);
  while (name.length < length) {
    const r = rand();
    let c = r < 0.1 ? "." : r < 0.2 ? "-" : r < 0.27 ? "_" : r < 0.5 ? pick(HEX) : pick(ALNUM);
    if (c === "." && name.endsWith(".")) c = "x";
    name += c;
  }
  if (rand() < 0.2) {
    const tail = `-${Array.from({ length: 10 }, () => pick(HEX)).join("")}`;
    name = name.slice(0, Math.max(1, 200 - tail.length)) + tail;
    if (name.length > 200) name = name.slice(0, 200);
  }
  return name;
}

const SQS_NAME = /^[A-Za-z0-9_-]{1,80}$/;
const SQS_FIFO_NAME = /^[A-Za-z0-9_-]{1,75}\.fifo$/;
const SNS_NAME = /^[A-Za-z0-9_-]{1,256}$/;
const SNS_FIFO_NAME = /^[A-Za-z0-9_-]{1,251}\.fifo$/;

const CONFIGS = [
  { prefix: "", fifo: false },
  { prefix: "", fifo: true },
  { prefix: "dev-", fifo: false },
  { prefix: "p".repeat(40), fifo: true },
] as const;

describe("brokerName is one-to-one (property test)", () => {
  const seed = 20_240_611;
  const rand = seededRandom(seed);
  const names = new Set<string>();
  const groups: [string, string][] = [];
  while (names.size < 4_000) names.add(randomName(rand));
  const list = [...names];
  for (let i = 0; i < 600; i++) {
    groups.push([list[Math.floor(rand() * list.length)]!, list[Math.floor(rand() * list.length)]!]);
  }

  it("generates valid Omnibus names only", () => {
    for (const name of list) expect(() => validateName("queue", name), name).not.toThrow();
  });

  for (const config of CONFIGS) {
    for (const [kind, max] of [
      ["queue", MAX_QUEUE_NAME],
      ["topic", MAX_TOPIC_NAME],
    ] as const) {
      it(`${kind} names, prefix ${JSON.stringify(config.prefix.slice(0, 8))}${config.prefix.length > 8 ? "…" : ""}, fifo ${config.fifo}: valid, distinct, and no hashed form equals another name's plain form`, () => {
        const map = (name: string) => brokerName(name, { ...config, max });
        const valid =
          kind === "queue"
            ? config.fifo
              ? SQS_FIFO_NAME
              : SQS_NAME
            : config.fifo
              ? SNS_FIFO_NAME
              : SNS_NAME;
        // Inputs: random names, group queues (`topic:group`), and, crafted, every hashed form
        // (what a name with a dot, a group or a long name became) taken as an Omnibus name itself.
        const inputs = new Set<string>(list);
        if (kind === "queue") for (const [t, g] of groups) inputs.add(groupQueueName(t, g));
        for (const name of [...inputs]) {
          const out = map(name);
          const form = out.slice(config.prefix.length, out.length - (config.fifo ? 5 : 0));
          // A hashed form is a valid Omnibus name ([A-Za-z0-9_-], starting as the name did) when
          // it fits in 200 characters (topic forms of long names may not).
          if (form !== name && form.length <= 200) {
            expect(() => validateName("queue", form), form).not.toThrow();
            inputs.add(form);
          }
        }
        const seen = new Map<string, string>();
        const problems: string[] = [];
        for (const name of inputs) {
          const out = map(name);
          if (!valid.test(out) || !out.startsWith(config.prefix)) problems.push(`${name} -> ${out}: invalid`);
          if (map(name) !== out) problems.push(`${name}: unstable`);
          const other = seen.get(out);
          if (other !== undefined)
            problems.push(`${JSON.stringify(name)} and ${JSON.stringify(other)} -> ${out}`);
          seen.set(out, name);
        }
        expect(problems, `seed ${seed}`).toEqual([]);
        expect(seen.size).toBe(inputs.size);
      });
    }
  }

  it("a hashed form never equals a plain form, whatever the hashed name", () => {
    // The structural half of the argument, checked on its own: every name the mapping does not
    // keep maps to something ending in -<10 hex>, and every name it keeps does not end so.
    for (const name of list) {
      const out = q(name);
      if (out === name) expect(out).not.toMatch(/-[0-9a-f]{10}$/);
      else expect(out).toMatch(/-[0-9a-f]{10}$/);
    }
  });
});

describe("checkPrefix", () => {
  it("accepts SQS-safe prefixes only", () => {
    expect(checkPrefix("")).toBeUndefined();
    expect(checkPrefix("dev-1_")).toBeUndefined();
    expect(checkPrefix("dev.")).toMatch(/may only contain/);
    expect(checkPrefix("x".repeat(41))).toMatch(/longer/);
  });
});
