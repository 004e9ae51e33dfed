/** The adapter logs through the client's `logger` unless its own `logger` option is given. */

import { brokerUrl } from "@omnibus/brokers";
import { createClient, type Logger } from "@omnibus/core";
import { waitFor } from "@omnibus/core/testing";
import { expect, it, vi } from "vitest";
import { redis } from "../src/index.js";

function capture(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const push = (message: string) => lines.push(message);
  return { logger: { debug: push, info: push, warn: push, error: push }, lines };
}

// `persistent: true` on the shared Redis (appendonly no) makes the adapter warn at connect.
it("warnings go to the client's logger, and nothing to stderr", async () => {
  const stderr = vi.spyOn(process.stderr, "write");
  const client = capture();
  const bus = createClient({
    adapter: redis({ url: brokerUrl("redis"), persistent: true }),
    logger: client.logger,
  });
  try {
    await bus.connect();
    await waitFor(() => client.lines.some((l) => l.includes("persistent is declared")), {
      timeoutMs: 10_000,
    });
    expect(stderr.mock.calls.filter(([chunk]) => String(chunk).includes("redis:"))).toEqual([]);
  } finally {
    stderr.mockRestore();
    await bus.close();
  }
});

it("the adapter's own logger option wins over the client's", async () => {
  const own = capture();
  const client = capture();
  const bus = createClient({
    adapter: redis({ url: brokerUrl("redis"), persistent: true, logger: own.logger }),
    logger: client.logger,
  });
  try {
    await bus.connect();
    await waitFor(() => own.lines.some((l) => l.includes("persistent is declared")), { timeoutMs: 10_000 });
    expect(client.lines.filter((l) => l.includes("persistent is declared"))).toEqual([]);
  } finally {
    await bus.close();
  }
});
