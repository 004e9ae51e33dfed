import { describe, expect, it } from "vitest";
import type { Case } from "./case.js";
import { caseLimiter } from "./runner.js";

const fake = (id: string, exclusive = false) => ({ id, exclusive }) as unknown as Case<any>;
const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

// What concurrent conformance runs rest on: never more than `concurrency` cases at once, and a
// restart or cut case (exclusive) with nothing beside it.
describe("caseLimiter", () => {
  it("runs at most `concurrency` at once, exclusive cases alone, in call order", async () => {
    const limit = caseLimiter(3);
    let running = 0;
    let most = 0;
    const log: string[] = [];
    const task = (c: Case<any>) => async () => {
      running++;
      most = Math.max(most, running);
      if (c.exclusive) log.push(`${c.id} with ${running - 1} others`);
      log.push(`start ${c.id}`);
      await tick();
      await tick();
      running--;
      return c.id;
    };
    const cases = [
      ...["a", "b", "c", "d", "e"].map((id) => fake(id)),
      fake("restart", true),
      ...["f", "g"].map((id) => fake(id)),
      fake("cut", true),
    ];
    const done = await Promise.all(cases.map((c) => limit(c, task(c))));
    expect(done).toEqual(cases.map((c) => c.id));
    expect(most).toBe(3);
    expect(log).toContain("restart with 0 others");
    expect(log).toContain("cut with 0 others");
    expect(log.filter((l) => l.startsWith("start")).map((l) => l.slice(6))).toEqual(cases.map((c) => c.id));
  });

  it("one at a time with concurrency 1, and a failing task frees its slot", async () => {
    const limit = caseLimiter(1);
    let running = 0;
    let most = 0;
    const results = await Promise.allSettled(
      [0, 1, 2].map((i) =>
        limit(fake(`c${i}`), async () => {
          running++;
          most = Math.max(most, running);
          await tick();
          running--;
          if (i === 0) throw new Error("boom");
          return i;
        }),
      ),
    );
    expect(most).toBe(1);
    expect(results.map((r) => r.status)).toEqual(["rejected", "fulfilled", "fulfilled"]);
  });
});
