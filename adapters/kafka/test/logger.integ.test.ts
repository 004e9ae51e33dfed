/** kafkajs warnings and errors go to the client's `logger` unless the adapter's own is given. */

import { createClient, type Logger } from "@omnibus/core";
import { expect, it } from "vitest";
import { kafka } from "../src/index.js";

function capture(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const push = (message: string) => lines.push(message);
  return { logger: { debug: push, info: push, warn: push, error: push }, lines };
}

// Nothing listens on port 1: kafkajs logs its connection errors while connect() fails.
it("kafkajs errors reach the client's logger; the adapter's own logger option wins", async () => {
  const client = capture();
  const bus = createClient({
    adapter: kafka({ brokers: ["127.0.0.1:1"], retries: 1 }),
    logger: client.logger,
  });
  await expect(bus.connect()).rejects.toMatchObject({ code: "OMNIBUS_CONNECTION" });
  await bus.close();
  expect(client.lines.some((l) => l.startsWith("kafkajs"))).toBe(true);

  const own = capture();
  const other = capture();
  const bus2 = createClient({
    adapter: kafka({ brokers: ["127.0.0.1:1"], retries: 1, logger: own.logger }),
    logger: other.logger,
  });
  await expect(bus2.connect()).rejects.toMatchObject({ code: "OMNIBUS_CONNECTION" });
  await bus2.close();
  expect(own.lines.some((l) => l.startsWith("kafkajs"))).toBe(true);
  expect(other.lines.filter((l) => l.startsWith("kafkajs"))).toEqual([]);
});

it("retries 0 with the idempotent producer is a ConfigError, not a raw kafkajs error", () => {
  expect(() => kafka({ retries: 0 })).toThrow(expect.objectContaining({ code: "OMNIBUS_CONFIG" }));
  expect(() => kafka({ retries: 0, idempotent: false })).not.toThrow();
});
