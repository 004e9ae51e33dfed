import { describe, expect, it } from "vitest";
import { countAt, Ledger, maxSteps, parseSteps } from "./ledger.js";

describe("Ledger", () => {
  it("counts a redelivery after the history was committed", () => {
    const first = new Ledger();
    for (let o = 10; o <= 14; o++) first.delivered(o);
    const meta = first.encode(10);
    expect(meta).toBe("omnibus1;14:1");
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
    expect(l.encode(6)).toBe("omnibus1;9:4,12:1");
    expect(l.encode(13)).toBeNull();
    const many = new Ledger(Array.from({ length: 40 }, (_, i) => [i * 10, 40 - i] as const));
    const steps = parseSteps(many.encode(0));
    expect(steps.length).toBeLessThanOrEqual(16);
    // Merging only ever over-counts.
    for (let o = 0; o < 400; o += 7) expect(countAt(steps, o)).toBeGreaterThanOrEqual(many.previous(o));
  });

  it("ignores metadata it did not write", () => {
    expect(parseSteps(null)).toEqual([]);
    expect(parseSteps("some other client's metadata")).toEqual([]);
    expect(parseSteps("omnibus1;x:1")).toEqual([]);
    expect(parseSteps("omnibus1;5:1,3:1")).toEqual([]);
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
