import { createClient, silentLogger } from "@omnibus/core";
import { setDifference, waitFor } from "@omnibus/core/testing";
import { describe, expect, it } from "vitest";
import { nats } from "../src/index.js";
import { privateNats } from "./private.js";

/**
 * A private nats-server (own port and store) is restarted, then killed, in the middle of a
 * stream of sends while a consumer runs. Every send that resolved must be consumed; anything
 * consumed must have been sent (sends that rejected may or may not have been stored).
 */
describe("nats: server restart mid-stream", () => {
  const server = privateNats();

  const client = () => {
    const c = createClient({
      adapter: nats({ url: server.broker.url, ackWaitMs: 2_000, publishTimeoutMs: 3_000 }),
      logger: silentLogger,
      closeTimeoutMs: 2_000,
    });
    server.clients.push(c);
    return c;
  };

  it("loses no acknowledged message across a restart and a kill", async () => {
    const queue = `restart-${Date.now()}`;
    const consumer = client();
    const producer = client();
    const consumed: string[] = [];
    await consumer.consume(queue, (m) => {
      consumed.push(m.id);
    });

    const acknowledged: string[] = [];
    const attempted = new Set<string>();
    let rejected = 0;
    let stop = false;
    let n = 0;
    const sending = (async () => {
      while (!stop) {
        const id = `r-${n++}`;
        attempted.add(id);
        const batch = [{ id, body: { n } }];
        await producer.sendBatch(queue, batch).then(
          () => acknowledged.push(id),
          () => rejected++,
        );
      }
    })();

    const progress = (count: number) => waitFor(() => acknowledged.length >= count, { timeoutMs: 30_000 });
    try {
      await progress(200);
      await server.broker.restart();
      await progress(acknowledged.length + 200);
      await server.broker.kill();
      await server.broker.start();
      await progress(acknowledged.length + 200);
    } finally {
      // Also when a wait failed: a sender looping on a closed client would hold up afterAll.
      stop = true;
      await sending;
    }

    await waitFor(() => setDifference(acknowledged, consumed).missing.length === 0, {
      timeoutMs: 30_000,
      message: () =>
        `missing ${setDifference(acknowledged, consumed).missing.length} of ${acknowledged.length}`,
    });
    const diff = setDifference(acknowledged, consumed);
    expect(diff.missing).toEqual([]);
    expect(diff.unexpected.filter((id) => !attempted.has(id))).toEqual([]);
    console.info(
      `restart: ${acknowledged.length} acknowledged, ${rejected} rejected during outages, ` +
        `${consumed.length} consumed (${diff.duplicates.length} redelivered)`,
    );
  }, 120_000);
});
