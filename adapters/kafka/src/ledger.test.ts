import { describe, expect, it } from "vitest";
import {
  countAt,
  Ledger,
  MAX_SETTLED_RANGES,
  maxSteps,
  parseHistory,
  parseSteps,
  unionRanges,
} from "./ledger.js";

describe("Ledger", () => {
  it("counts a redelivery after the history was committed", () => {
    const first = new Ledger();
    for (let o = 10; o <= 14; o++) first.delivered(o);
    const meta = first.encode(10);
    expect(meta).toBe("omnibus2;10;14:1;");
    const second = new Ledger(parseSteps(meta));
    expect(second.previous(10)).toBe(1);
    expect(second.previous(14)).toBe(1);
    expect(second.previous(15)).toBe(0);
  });

  it("adds a session on top of the history and extends it", () => {
    const l = new Ledger([
      [10, 2],
      [20, 1],
    ]);
    l.delivered(15);
    expect(l.steps()).toEqual([
      [10, 3],
      [15, 2],
      [20, 1],
    ]);
    l.delivered(25);
    expect(l.steps()).toEqual([
      [10, 3],
      [20, 2],
      [25, 1],
    ]);
  });

  it("drops history below the commit point and stays short", () => {
    const l = new Ledger([
      [5, 4],
      [9, 3],
    ]);
    l.delivered(12);
    expect(l.encode(6)).toBe("omnibus2;6;9:4,12:1;");
    expect(l.encode(13)).toBeNull();
    const many = new Ledger(Array.from({ length: 40 }, (_, i) => [i * 10, 40 - i] as const));
    const steps = parseSteps(many.encode(0));
    expect(steps.length).toBeLessThanOrEqual(16);
    // Merging only ever over-counts.
    for (let o = 0; o < 400; o += 7) expect(countAt(steps, o)).toBeGreaterThanOrEqual(many.previous(o));
  });

  it("still reads the steps of the first format", () => {
    expect(parseSteps("omnibus1;9:4,12:1")).toEqual([
      [9, 4],
      [12, 1],
    ]);
    expect(parseHistory("omnibus1;9:4").settled).toEqual([]);
  });

  it("carries settled offsets above the commit point, relative to it and bounded", () => {
    const l = new Ledger();
    for (let o = 100; o <= 110; o++) l.delivered(o);
    const meta = l.encode(100, [
      [102, 104],
      [107, 107],
    ]);
    expect(meta).toBe("omnibus2;100;110:1;2-4,7");
    const next = new Ledger(parseHistory(meta).steps, parseHistory(meta).settled);
    expect([100, 101, 102, 103, 104, 105, 106, 107, 108].map((o) => next.wasSettled(o))).toEqual([
      false,
      false,
      true,
      true,
      true,
      false,
      false,
      true,
      false,
    ]);
    // Only settled offsets, without history, still make metadata.
    expect(new Ledger().encode(5, [[7, 9]])).toBe("omnibus2;5;;2-4");
    // Bounded: the lowest ranges are kept, the metadata stays far below Kafka's 4096 bytes.
    const many = Array.from({ length: 500 }, (_, i) => [1e12 + 2 * i + 1, 1e12 + 2 * i + 1] as const);
    const big = new Ledger().encode(1e12, many)!;
    const kept = parseHistory(big).settled;
    expect(kept.length).toBe(MAX_SETTLED_RANGES);
    expect(kept[0]).toEqual([1e12 + 1, 1e12 + 1]);
    expect(big.length).toBeLessThan(2000);
  });

  it("merges settled ranges", () => {
    expect(
      unionRanges(
        [
          [1, 3],
          [10, 12],
        ],
        [
          [4, 5],
          [11, 20],
          [30, 30],
        ],
      ),
    ).toEqual([
      [1, 5],
      [10, 20],
      [30, 30],
    ]);
  });

  it("ignores metadata it did not write", () => {
    expect(parseSteps(null)).toEqual([]);
    expect(parseSteps("some other client's metadata")).toEqual([]);
    expect(parseSteps("omnibus1;x:1")).toEqual([]);
    expect(parseSteps("omnibus1;5:1,3:1")).toEqual([]);
    expect(parseHistory("omnibus2;x;;")).toEqual({ steps: [], settled: [] });
    expect(parseHistory("omnibus2;5;;3-1")).toEqual({ steps: [], settled: [] });
  });

  it("takes the pointwise maximum of two histories", () => {
    const a = [
      [10, 1],
      [20, 3],
    ] as const;
    const b = [[15, 2]] as const;
    const m = maxSteps([...a], [...b]);
    for (let o = 0; o <= 25; o++) {
      expect(countAt(m, o)).toBe(Math.max(countAt([...a], o), countAt([...b], o)));
    }
  });
});
