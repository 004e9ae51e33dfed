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
});
