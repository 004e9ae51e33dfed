import { tcpProxy } from "@omnibus/conformance";
import { createClient, silentLogger } from "@omnibus/core";
import { setDifference, waitFor } from "@omnibus/core/testing";
import { describe, expect, it } from "vitest";
import { nats } from "../src/index.js";
import { privateNats } from "./private.js";

/** Every send in flight when the server went away must settle this soon after it is back. */
const SETTLE_MS = 5_000;

interface Send {
  readonly ids: string[];
  readonly started: number;
  ended?: number;
  ok?: boolean;
}

/**
 * Publishes whose PubAck was owed on a connection that dropped must be sent again on the new
 * connection as soon as it is up, not wait out `publishTimeoutMs` (10 s by default, used here).
 * A private server is restarted, then killed and started, while sends are in flight; every send
 * started before the server was back must settle within a few seconds of it, resolved, and every
 * message whose send resolved must be consumed (two-way set difference).
 */
describe("nats: sends in flight across a server restart", () => {
  const server = privateNats();

  const client = () => {
    // Default adapter settings (publishTimeoutMs 10 s): the point is not to need a short one.
    const c = createClient({
      adapter: nats({ url: server.broker.url }),
      logger: silentLogger,
      closeTimeoutMs: 2_000,
    });
    server.clients.push(c);
    return c;
  };

  it("settles every send in flight within seconds of the server's return, losing nothing", async () => {
    const queue = `inflight-${Date.now()}`;
    const consumer = client();
    const consumed: string[] = [];
    await consumer.consume(queue, (m) => {
      consumed.push(m.id);
    });

    const sends: Send[] = [];
    let stop = false;
    let n = 0;
    const producer = async (p: number) => {
      const bus = client();
      while (!stop) {
        const send: Send = { ids: Array.from({ length: 20 }, () => `p${p}-${n++}`), started: Date.now() };
        sends.push(send);
        await bus
          .sendBatch(
            queue,
            send.ids.map((id) => ({ id, body: { id } })),
          )
          .then(
            () => {
              send.ok = true;
            },
            () => {
              send.ok = false;
            },
          );
        send.ended = Date.now();
        // No hot loop once the clients are closed (a failed assertion closes them below).
        if (!send.ok) await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    const producing = Promise.all([0, 1, 2, 3].map(producer));
    const resolved = () => sends.filter((s) => s.ok).length;

    const faults: { label: string; run: () => Promise<void> }[] = [
      { label: "graceful restart", run: () => server.broker.restart() },
      {
        label: "SIGKILL and start",
        run: async () => {
          await server.broker.kill();
          await server.broker.start();
        },
      },
    ];
    try {
      for (const fault of faults) {
        await waitFor(() => resolved() >= 20, { timeoutMs: 30_000 });
        const begun = Date.now();
        const before = resolved();
        await fault.run();
        const back = Date.now();
        // Sends that were under way while the server was away (started before it was back and not
        // settled before the fault began).
        const affected = sends.filter((s) => s.started < back && (s.ended === undefined || s.ended > begun));
        expect(affected.length, `${fault.label}: no send was in flight`).toBeGreaterThan(0);
        await waitFor(() => affected.every((s) => s.ended !== undefined), {
          timeoutMs: SETTLE_MS + 10_000,
        });
        const slowest = Math.max(...affected.map((s) => s.ended! - back));
        const failed = affected.filter((s) => !s.ok).length;
        console.info(
          `${fault.label}: server away ${back - begun} ms, ${affected.length} sends in flight, ` +
            `all settled ${slowest} ms after it was back, ${failed} rejected`,
        );
        expect(
          slowest,
          `${fault.label}: a send settled ${slowest} ms after the server was back`,
        ).toBeLessThan(SETTLE_MS);
        expect(failed, `${fault.label}: sends rejected`).toBe(0);
        // And sending goes on.
        await waitFor(() => resolved() >= before + 20, { timeoutMs: SETTLE_MS });
      }
    } finally {
      // Also when an expectation failed: the producers must not outlive the test.
      stop = true;
      await producing;
    }

    const acknowledged = sends.filter((s) => s.ok).flatMap((s) => s.ids);
    const attempted = new Set(sends.flatMap((s) => s.ids));
    await waitFor(() => setDifference(acknowledged, consumed).missing.length === 0, {
      timeoutMs: 45_000,
      message: () =>
        `missing ${setDifference(acknowledged, consumed).missing.length} of ${acknowledged.length}`,
    });
    const diff = setDifference(acknowledged, consumed);
    expect(diff.missing).toEqual([]);
    expect(diff.unexpected.filter((id) => !attempted.has(id))).toEqual([]);
  }, 120_000);
});

/**
 * A JetStream delivery is settled by its ack subject, on any connection: acks made while the
 * connection is down (and those the server may not have read when it dropped) are sent once it is
 * back, so handlers that finish during an outage shorter than `ack_wait` cause no redelivery.
 */
describe("nats: settlements across a connection cut", () => {
  const server = privateNats();

  it("acks made while disconnected reach the server after the reconnect: nothing comes back", async () => {
    const ACK_WAIT_MS = 2_000;
    const queue = `cut-acks-${Date.now()}`;
    await using proxy = await tcpProxy({ target: { host: "127.0.0.1", port: server.broker.port } });
    const direct = createClient({ adapter: nats({ url: server.broker.url }), logger: silentLogger });
    server.clients.push(direct);
    const ids = Array.from({ length: 40 }, (_, i) => `m-${i}`);
    await direct.sendBatch(
      queue,
      ids.map((id) => ({ id, body: { id } })),
    );

    const consumer = createClient({
      adapter: nats({ url: `nats://127.0.0.1:${proxy.port}`, ackWaitMs: ACK_WAIT_MS }),
      logger: silentLogger,
      closeTimeoutMs: 2_000,
    });
    server.clients.push(consumer);
    const handled: string[] = [];
    let running = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    await consumer.consume(
      queue,
      async (m) => {
        running++;
        await gate;
        handled.push(m.id);
        running--;
      },
      { concurrency: 8, prefetch: 16 },
    );
    await waitFor(() => running === 8, { timeoutMs: 10_000 });

    await proxy.cut();
    release(); // the running handlers ack while the connection is down
    await waitFor(() => handled.length >= 8, { timeoutMs: 5_000 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    await proxy.restore();

    await waitFor(() => new Set(handled).size === ids.length, {
      timeoutMs: 20_000,
      message: () => `${new Set(handled).size} of ${ids.length} handled`,
    });
    // Long enough for the server to redeliver anything whose ack it never got.
    await new Promise((resolve) => setTimeout(resolve, ACK_WAIT_MS * 2));
    const diff = setDifference(ids, handled);
    expect(diff.missing).toEqual([]);
    expect(diff.duplicates).toEqual([]);
  }, 60_000);
});
