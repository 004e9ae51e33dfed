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
    const deadline = Date.now() + 30_000;
    let first: Awaited<ReturnType<PrivateCluster["leader"]>> | undefined;
    while (!first) {
      first = await cluster.leader().catch(() => undefined);
      if (!first && Date.now() > deadline) throw new Error("no meta leader within 30 s");
      if (!first) await new Promise((r) => setTimeout(r, 200));
    }
    await first.kill();
    expect(first.running).toBe(false);
    let next: typeof first | undefined;
    const again = Date.now() + 30_000;
    while (!next || next === first) {
      next = await cluster.leader().catch(() => undefined);
      if ((!next || next === first) && Date.now() > again) throw new Error("no new leader within 30 s");
      if (!next || next === first) await new Promise((r) => setTimeout(r, 200));
    }
    expect(next.index).not.toBe(first.index);
    await first.start();
    expect(first.running).toBe(true);
  }, 120_000);
});
