/** The adapter logs through the client's `logger` (issue 16: adapters must not log on their own). */

import { randomUUID } from "node:crypto";
import { brokerUrl } from "@omnibus/brokers";
import { createClient, type Logger } from "@omnibus/core";
import { waitFor } from "@omnibus/core/testing";
import pg from "pg";
import { afterAll, expect, it, vi } from "vitest";
import { postgres } from "../src/index.js";

const url = brokerUrl("postgres");
const schema = `omnibus_log_${randomUUID().slice(0, 8)}`;

afterAll(async () => {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});

it("the schema migration is logged through the client's logger, and nothing goes to the console", async () => {
  const lines: string[] = [];
  const push = (message: string) => {
    lines.push(message);
  };
  const logger: Logger = { debug: push, info: push, warn: push, error: push };
  const stderr = vi.spyOn(process.stderr, "write");
  const stdout = vi.spyOn(process.stdout, "write");
  const bus = createClient({ adapter: postgres({ url, schema }), logger });
  try {
    await bus.connect();
    await waitFor(() => lines.some((l) => l.includes("schema migrated")), {
      timeoutMs: 10_000,
      message: () => `client logger lines: ${JSON.stringify(lines)}`,
    });
    const printed = [...stderr.mock.calls, ...stdout.mock.calls].filter(([chunk]) =>
      String(chunk).includes("postgres:"),
    );
    expect(printed).toEqual([]);
  } finally {
    stderr.mockRestore();
    stdout.mockRestore();
    await bus.close();
  }
});
