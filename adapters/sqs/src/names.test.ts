import { describe, expect, it } from "vitest";
import { brokerName, checkPrefix, groupQueueName, MAX_QUEUE_NAME } from "./names.js";

const q = (name: string, prefix = "", fifo = false) =>
  brokerName(name, { prefix, fifo, max: MAX_QUEUE_NAME });

describe("brokerName", () => {
  it("keeps names SQS accepts, after the prefix", () => {
    expect(q("orders")).toBe("orders");
    expect(q("orders_v2-eu", "dev-")).toBe("dev-orders_v2-eu");
    expect(q("orders", "", true)).toBe("orders.fifo");
  });

  it("maps names with dots to a sanitized name plus a hash, never onto another name", () => {
    const dlq = q("orders.dlq");
    expect(dlq).toMatch(/^orders_dlq-[0-9a-f]{10}$/);
    expect(dlq).not.toBe(q("orders_dlq"));
    expect(q("a.b")).not.toBe(q("a-b"));
    expect(q(groupQueueName("orders", "shipping"))).not.toBe(q("orders.shipping"));
    expect(q("orders.dlq")).toBe(dlq); // stable
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

describe("checkPrefix", () => {
  it("accepts SQS-safe prefixes only", () => {
    expect(checkPrefix("")).toBeUndefined();
    expect(checkPrefix("dev-1_")).toBeUndefined();
    expect(checkPrefix("dev.")).toMatch(/may only contain/);
    expect(checkPrefix("x".repeat(41))).toMatch(/longer/);
  });
});
