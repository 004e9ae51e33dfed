import { startPrivate } from "@omnibus/brokers";
import { setDifference, waitFor } from "@omnibus/core/testing";
import { afterEach, describe, expect, it } from "vitest";
import { closeAll, collector, connected, messages, unique } from "./helpers.js";

afterEach(closeAll);

describe("kafka adapter across a broker restart", () => {
  it("keeps stored messages and committed offsets, and a running consumer resumes", async () => {
    const t0 = Date.now();
    const phase = (what: string) => console.log(`${what}: ${Date.now() - t0} ms`);
    await using broker = await startPrivate("kafka");
    phase("started");
    const producer = await connected({ brokers: broker.url });
    // The restarted coordinator waits for the old membership to expire before the group rejoins:
    // the broker's minimum session timeout keeps that short.
    const consumerAdapter = await connected({
      brokers: broker.url,
      sessionTimeoutMs: 6000,
      rebalanceTimeoutMs: 6000,
    });
    const live = { kind: "queue", name: unique("live") } as const;
    const backlog = { kind: "queue", name: unique("backlog") } as const;

    // A running consumer takes the first half; a backlog waits for a consumer started later.
    const c = collector();
    await consumerAdapter.consume(live, c.options());
    const before = messages(50);
    await producer.send(live, before);
    const stored = messages(30);
    await producer.send(backlog, stored);
    await waitFor(() => c.deliveries.length >= 50, { timeoutMs: 30_000 });

    phase("consumed");
    await broker.restart();
    phase("restarted");

    const after = messages(50);
    await producer.send(live, after);
    const all = [...before, ...after].map((m) => m.id);
    await waitFor(() => setDifference(all, c.ids()).missing.length === 0, {
      timeoutMs: 60_000,
      message: () => `missing ${setDifference(all, c.ids()).missing.length}`,
    });
    phase("resumed");
    const diff = setDifference(all, c.ids());
    expect(diff.missing).toEqual([]);
    expect(diff.unexpected).toEqual([]);

    const late = collector();
    await (await connected({ brokers: broker.url })).consume(backlog, late.options());
    await waitFor(() => late.deliveries.length >= 30, { timeoutMs: 30_000 });
    expect(
      setDifference(
        stored.map((m) => m.id),
        late.ids(),
      ),
    ).toEqual({
      missing: [],
      unexpected: [],
      duplicates: [],
    });
    phase("backlog");
    await closeAll();
    phase("closed");
  }, 180_000);
});
