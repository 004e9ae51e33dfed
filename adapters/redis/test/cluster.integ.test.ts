/**
 * The adapter on a Redis Cluster (three private nodes): the shared conformance suite, plus the
 * idempotency store. Every key of one queue or topic shares a hash tag, so each script and pipeline
 * stays on one node.
 */
import { describeConformance } from "@omnibus/conformance";
import { shortId } from "@omnibus/core";
import { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redis, redisIdempotencyStore } from "../src/index.js";
import { type PrivateCluster, startCluster } from "./cluster.js";

let cluster: PrivateCluster | undefined;

beforeAll(async () => {
  cluster = await startCluster(3);
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

// Called once at collection time (for `features`), before the cluster exists: a placeholder node.
const nodes = () => cluster?.nodes ?? [{ host: "127.0.0.1", port: 1 }];

// The lease: a delivery not renewed for this long goes to another consumer (XAUTOCLAIM).
const CLAIM_IDLE_MS = 1000;

describeConformance({
  concurrency: 4, // cases overlap (the restart and cut cases run alone)
  name: "redis (cluster)",
  adapter: () => redis({ cluster: { nodes: nodes() }, claimIdleMs: CLAIM_IDLE_MS, blockMs: 200 }),
  // Nothing listens on port 1; the password must not show in any error.
  unreachable: (password) =>
    redis({
      cluster: { nodes: [{ host: "127.0.0.1", port: 1 }], options: { redisOptions: { password } } },
    }),
  redeliveryAfterMs: 2000,
  leaseMs: CLAIM_IDLE_MS,
});

describe("redis cluster", () => {
  it("idempotency store: exactly one claim per key across nodes", async () => {
    const client = new Cluster(nodes());
    try {
      const store = redisIdempotencyStore({ client, prefix: `idem:${shortId()}:` });
      const keys = Array.from({ length: 100 }, (_, i) => `k-${i}`);
      const results = await Promise.all(
        keys.flatMap((key) => [0, 1, 2].map(async () => ({ key, r: await store.claim(key, 10_000) }))),
      );
      for (const key of keys) {
        expect(results.filter((x) => x.key === key && x.r.status === "claimed")).toHaveLength(1);
      }
    } finally {
      client.disconnect();
    }
  });
});
