import { describe, expect, it } from "vitest";
import { Batcher } from "./batcher.js";

describe("Batcher", () => {
  it("flushes a full batch at once and the rest after the delay, per key", async () => {
    const calls: [string, number[]][] = [];
    const batcher = new Batcher<number>(
      async (key, items) => {
        calls.push([key, items]);
        return items.map(() => undefined);
      },
      3,
      20,
    );
    const all = [1, 2, 3, 4].map((n) => batcher.add("a", n));
    const other = batcher.add("b", 9);
    expect(calls).toEqual([["a", [1, 2, 3]]]);
    await Promise.all([...all, other]);
    expect(calls).toEqual([
      ["a", [1, 2, 3]],
      ["a", [4]],
      ["b", [9]],
    ]);
  });

  it("settles each item with its own outcome, and all of a batch when the call fails", async () => {
    let fail = false;
    const batcher = new Batcher<number>(
      async (_key, items) => {
        if (fail) throw new Error("down");
        return items.map((n) => (n % 2 ? new Error(`odd ${n}`) : undefined));
      },
      10,
      0,
    );
    const results = await Promise.allSettled([1, 2].map((n) => batcher.add("k", n)));
    expect(results.map((r) => r.status)).toEqual(["rejected", "fulfilled"]);
    fail = true;
    const failed = await Promise.allSettled([3, 4].map((n) => batcher.add("k", n)));
    expect(failed.map((r) => r.status)).toEqual(["rejected", "rejected"]);
  });

  it("drain() sends what is pending now and waits for it", async () => {
    const sent: number[] = [];
    const batcher = new Batcher<number>(
      async (_key, items) => {
        sent.push(...items);
        return items.map(() => undefined);
      },
      10,
      60_000,
    );
    void batcher.add("k", 1);
    await batcher.drain();
    expect(sent).toEqual([1]);
  });
});
