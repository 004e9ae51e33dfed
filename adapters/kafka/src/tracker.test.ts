import { describe, expect, it } from "vitest";
import { PartitionTracker } from "./tracker.js";

describe("PartitionTracker", () => {
  it("commits up to the lowest unsettled offset", () => {
    const t = new PartitionTracker();
    expect(t.commitPoint()).toBeUndefined();
    const [a, b, c] = [t.track(10), t.track(11), t.track(12)];
    expect(t.commitPoint()).toBe(10);
    t.settle(c!);
    expect(t.commitPoint()).toBe(10);
    t.settle(a!);
    expect(t.commitPoint()).toBe(11);
    t.settle(b!);
    expect(t.commitPoint()).toBe(13);
    expect(t.outstanding).toBe(0);
    expect(t.last).toBe(12);
  });

  it("skips gaps in offsets (compaction, transaction markers)", () => {
    const t = new PartitionTracker();
    const a = t.track(3);
    const b = t.track(9);
    t.settle(a);
    expect(t.commitPoint()).toBe(9);
    t.settle(b);
    expect(t.commitPoint()).toBe(10);
  });

  it("starts from a known commit point", () => {
    const t = new PartitionTracker(100);
    expect(t.commitPoint()).toBe(100);
    expect(t.last).toBeUndefined();
  });

  it("stays correct over many out-of-order settles", () => {
    const t = new PartitionTracker();
    const entries = Array.from({ length: 5000 }, (_, i) => t.track(i));
    // Settle odd offsets first, then even ones backwards.
    for (const e of entries) if (e.offset % 2 === 1) t.settle(e);
    expect(t.commitPoint()).toBe(0);
    for (let i = entries.length - 2; i >= 0; i -= 2) {
      t.settle(entries[i]!);
      expect(t.commitPoint()).toBe(i === 0 ? 5000 : 0);
    }
    expect(t.outstanding).toBe(0);
  });

  it("lists the settled records above the commit point", () => {
    const t = new PartitionTracker();
    const e = [10, 11, 12, 14, 15, 16, 17].map((o) => t.track(o));
    expect(t.settledRanges()).toEqual([]);
    for (const i of [1, 2, 3, 5]) t.settle(e[i]!);
    // 12 and 14 are neighbours (13 holds no record).
    expect(t.settledRanges()).toEqual([
      [11, 14],
      [16, 16],
    ]);
    expect(t.settledRanges(1)).toEqual([[11, 14]]);
    t.settle(e[0]!);
    expect(t.commitPoint()).toBe(15);
    expect(t.settledRanges()).toEqual([[16, 16]]);
    t.settle(e[4]!);
    t.settle(e[6]!);
    expect(t.settledRanges()).toEqual([]);
    expect(t.commitPoint()).toBe(18);
  });

  it("lists what it settled, below and above the commit point, and what is outstanding", () => {
    const t = new PartitionTracker();
    expect(t.settledAll()).toEqual([]);
    const e = [20, 21, 22, 23, 25].map((o) => t.track(o));
    t.settle(e[0]!);
    t.settle(e[1]!);
    t.settle(e[3]!);
    expect(t.commitPoint()).toBe(22);
    expect(t.settledAll()).toEqual([
      [20, 21],
      [23, 23],
    ]);
    expect(t.unsettled().map((x) => x.offset)).toEqual([22, 25]);
    const started = new PartitionTracker(40);
    expect(started.settledAll()).toEqual([]);
    started.settle(started.track(40));
    expect(started.settledAll()).toEqual([[40, 40]]);
  });
});
