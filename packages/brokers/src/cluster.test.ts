import { waitFor } from "@omnibus/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PrivateCluster, startCluster } from "./cluster.js";

/** A three-node NATS cluster: every node answers, one leads, and a killed leader is replaced. */
describe("startCluster", () => {
  let cluster: PrivateCluster;
  beforeAll(async () => {
    cluster = await startCluster("nats");
  }, 120_000);
  afterAll(async () => {
    await cluster?.[Symbol.asyncDispose]();
  });

  it("nats: three routed JetStream nodes; a killed leader is replaced, and comes back as a member", async () => {
    expect(cluster.nodes).toHaveLength(3);
    expect(cluster.url.split(",")).toHaveLength(3);
    expect(new Set(cluster.nodes.map((n) => n.port)).size).toBe(3);
    const first = await waitFor(() => cluster.leader().catch(() => undefined), {
      timeoutMs: 30_000,
      intervalMs: 200,
      message: "no meta leader within 30 s",
    });
    await first.kill();
    expect(first.running).toBe(false);
    const next = await waitFor(
      async () => {
        const leader = await cluster.leader().catch(() => undefined);
        return leader !== first ? leader : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200, message: "no new leader within 30 s" },
    );
    expect(next.index).not.toBe(first.index);
    await first.start();
    expect(first.running).toBe(true);
  }, 120_000);
});
