import { describe, expect, it } from "vitest";
import { memoryIdempotencyStore } from "./memory-store.js";

describe("memory idempotency store", () => {
  it("grants exactly one claim per key to racing callers", async () => {
    const store = memoryIdempotencyStore();
    const results = await Promise.all(Array.from({ length: 100 }, () => store.claim("k", 1000)));
    expect(results.filter((r) => r.status === "claimed")).toHaveLength(1);
    expect(results.filter((r) => r.status === "in-progress")).toHaveLength(99);
  });
  it("goes claimed -> done -> claimable after the TTL", async () => {
    let now = 0;
    const store = memoryIdempotencyStore({ now: () => now });
    const claim = await store.claim("k", 100);
    if (claim.status !== "claimed") throw new Error("expected a claim");
    await store.complete("k", claim.token, 1000);
    expect((await store.claim("k", 100)).status).toBe("done");
    now = 1001;
    expect((await store.claim("k", 100)).status).toBe("claimed");
  });
  it("lets a claim be taken over once its lock expired (holder died)", async () => {
    let now = 0;
    const store = memoryIdempotencyStore({ now: () => now });
    const first = await store.claim("k", 100);
    now = 101;
    const second = await store.claim("k", 100);
    expect(second.status).toBe("claimed");
    // The first holder's late completion must not overwrite the new claim.
    if (first.status !== "claimed") throw new Error("expected a claim");
    await store.complete("k", first.token, 1000);
    expect((await store.claim("k", 100)).status).toBe("in-progress");
  });
  it("extends a claim whose lock ran out while nobody took it, not one someone else took", async () => {
    let now = 0;
    const store = memoryIdempotencyStore({ now: () => now });
    const first = await store.claim("k", 100);
    if (first.status !== "claimed") throw new Error("expected a claim");
    now = 150; // the renewal comes late: the lock ran out at 100
    expect(await store.extend!("k", first.token, 100)).toBe(true);
    expect((await store.claim("k", 100)).status).toBe("in-progress");
    now = 400; // ran out again, and this time another consumer claims the key first
    const second = await store.claim("k", 100);
    expect(second.status).toBe("claimed");
    expect(await store.extend!("k", first.token, 100)).toBe(false);
  });
  it("release frees the key only for the holder", async () => {
    const store = memoryIdempotencyStore();
    const claim = await store.claim("k", 1000);
    if (claim.status !== "claimed") throw new Error("expected a claim");
    await store.release("k", "someone-else");
    expect((await store.claim("k", 1000)).status).toBe("in-progress");
    await store.release("k", claim.token);
    expect((await store.claim("k", 1000)).status).toBe("claimed");
  });
  it("past maxEntries drops old done marks, never a claim in progress", async () => {
    const store = memoryIdempotencyStore({ maxEntries: 3 });
    const running = await store.claim("running", 60_000);
    for (const k of ["a", "b", "c", "d"]) {
      const claim = await store.claim(k, 60_000);
      if (claim.status === "claimed") await store.complete(k, claim.token, 60_000);
    }
    expect((await store.claim("running", 60_000)).status).toBe("in-progress");
    if (running.status !== "claimed") throw new Error("expected a claim");
    await store.complete("running", running.token, 60_000);
    expect((await store.claim("running", 60_000)).status).toBe("done");
  });
  it("completes a claim that expired while its handler was slow, unless someone else took it", async () => {
    let now = 0;
    const store = memoryIdempotencyStore({ now: () => now });
    const slow = await store.claim("slow", 100);
    if (slow.status !== "claimed") throw new Error("expected a claim");
    now = 500;
    await store.complete("slow", slow.token, 1000);
    expect((await store.claim("slow", 100)).status).toBe("done");
    expect(await store.extend!("slow", slow.token, 100)).toBe(false);
  });
});
