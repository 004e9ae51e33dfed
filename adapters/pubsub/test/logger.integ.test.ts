/** The adapter logs through the client's `logger` (issue 16: adapters must not log on their own). */

import { absentReason, brokerUrl } from "@omnibus/brokers";
import { createClient, type Logger, type Subscription, shortId } from "@omnibus/core";
import { waitFor } from "@omnibus/core/testing";
import { expect, it, vi } from "vitest";
import { pubsub } from "../src/index.js";
import { queueIds } from "../src/names.js";

const absent = await absentReason("pubsub");

it.skipIf(absent !== undefined)(
  `a subscription deleted behind a consumer's back is reported through the client's logger, nothing printed${absent ? ` (skipped: ${absent})` : ""}`,
  async () => {
    const lines: string[] = [];
    const push = (message: string) => {
      lines.push(message);
    };
    const logger: Logger = { debug: push, info: push, warn: push, error: push };
    const stderr = vi.spyOn(process.stderr, "write");
    const stdout = vi.spyOn(process.stdout, "write");
    const adapter = pubsub({ emulatorHost: brokerUrl("pubsub"), projectId: "omnibus" });
    const bus = createClient({ adapter, logger });
    const queue = `log-${shortId()}`;
    let subscription: Subscription | undefined;
    try {
      const got: string[] = [];
      subscription = await bus.consume(queue, (m) => {
        got.push(m.id);
      });
      await adapter.native.pubsub.subscription(queueIds(queue).subscription).delete();
      await waitFor(() => lines.some((l) => l.includes("is gone; re-creating it")), {
        timeoutMs: 15_000,
        message: () => `client logger lines: ${JSON.stringify(lines)}`,
      });
      const printed = [...stderr.mock.calls, ...stdout.mock.calls].filter(([chunk]) =>
        String(chunk).includes("pubsub:"),
      );
      expect(printed).toEqual([]);
    } finally {
      stderr.mockRestore();
      stdout.mockRestore();
      // The consumer first: running, it re-creates the subscription a deletion takes away.
      await subscription?.close();
      await bus.deleteQueue(queue).catch(() => {});
      await bus.close();
    }
  },
  30_000,
);
