import { describe, expect, it } from "vitest";
import { assignPartitions, type Member, type MemberReport } from "./assigner.js";

const T = "q..orders";
const R = "r..ordersg..g";
const partitions = new Map([[T, [0, 1, 2]]]);

function member(id: string, report: Partial<MemberReport> = {}, topics = [T]): Member {
  return { id, topics, report: { busy: {}, owned: {}, stopped: false, ...report } };
}

const count = (plan: Map<string, Record<string, number[]>>, id: string, topic = T) =>
  plan.get(id)?.[topic]?.length ?? 0;

describe("assignPartitions", () => {
  it("spreads partitions evenly and assigns each once", () => {
    const plan = assignPartitions([member("a"), member("b")], partitions);
    const all = [...(plan.get("a")![T] ?? []), ...(plan.get("b")![T] ?? [])].sort();
    expect(all).toEqual([0, 1, 2]);
    expect(Math.abs(count(plan, "a") - count(plan, "b"))).toBe(1);
  });

  it("leaves a partition with the member that has unsettled deliveries of it", () => {
    for (const p of [0, 1, 2]) {
      const holder = member("z-holder", { busy: { [T]: { [p]: 1 } }, owned: { [T]: [0, 1, 2] } });
      const plan = assignPartitions([holder, member("a-rival")], partitions);
      expect(plan.get("z-holder")![T]).toContain(p);
      expect(count(plan, "a-rival")).toBeGreaterThanOrEqual(1);
    }
  });

  it("still gives a joining member its share when every partition is busy (least busy first)", () => {
    const busy = member("a", { busy: { [T]: { 0: 5, 1: 1, 2: 9 } }, owned: { [T]: [0, 1, 2] } });
    const plan = assignPartitions([busy, member("b")], partitions);
    expect(plan.get("b")![T]).toEqual([1]);
    expect(plan.get("a")![T]).toEqual([0, 2]);
  });

  it("gives a stopped member only what it still has deliveries of", () => {
    const stopped = member("a", { stopped: true, owned: { [T]: [0, 1, 2] } });
    let plan = assignPartitions([stopped, member("b")], partitions);
    expect(count(plan, "a")).toBe(0);
    expect(plan.get("b")![T]).toEqual([0, 1, 2]);
    const holding = member("a", { stopped: true, busy: { [T]: { 1: 2 } }, owned: { [T]: [0, 1, 2] } });
    plan = assignPartitions([holding, member("b")], partitions);
    expect(plan.get("a")![T]).toEqual([1]);
    // Only stopped members: they keep the partitions (nobody else could take them).
    plan = assignPartitions([stopped], partitions);
    expect(plan.get("a")![T]).toEqual([0, 1, 2]);
  });

  it("keeps partitions where they were when nothing forces a move", () => {
    const a = member("a", { owned: { [T]: [2] } });
    const b = member("b", { owned: { [T]: [0, 1] } });
    const plan = assignPartitions([a, b], partitions);
    expect(plan.get("a")![T]).toEqual([2]);
    expect(plan.get("b")![T]).toEqual([0, 1]);
  });

  it("assigns each topic among the members subscribed to it", () => {
    const both = new Map([
      [T, [0, 1, 2]],
      [R, [0, 1, 2]],
    ]);
    const plan = assignPartitions([member("a", {}, [T, R]), member("b", {}, [T, R])], both);
    for (const topic of [T, R]) expect(count(plan, "a", topic) + count(plan, "b", topic)).toBe(3);
    const only = assignPartitions([member("a", {}, [T]), member("b", {}, [T, R])], both);
    expect(only.get("b")![R]).toEqual([0, 1, 2]);
  });
});
