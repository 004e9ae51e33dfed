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
  it("release frees the key only for the holder", async () => {
    const store = memoryIdempotencyStore();
    const claim = await store.claim("k", 1000);
    if (claim.status !== "claimed") throw new Error("expected a claim");
    await store.release("k", "someone-else");
    expect((await store.claim("k", 1000)).status).toBe("in-progress");
    await store.release("k", claim.token);
    expect((await store.claim("k", 1000)).status).toBe("claimed");
  });
});
