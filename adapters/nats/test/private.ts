import { type PrivateBroker, startPrivate } from "@omnibus/brokers";
import type { Client } from "@omnibus/core";
import { afterAll, beforeAll } from "vitest";

/**
 * A private nats-server for the enclosing `describe` (started before its tests, removed after
 * them), and the clients its tests open, closed at the end. Faults go to this server only.
 */
export function privateNats(): { readonly broker: PrivateBroker; readonly clients: Client[] } {
  let broker: PrivateBroker | undefined;
  const clients: Client[] = [];
  beforeAll(async () => {
    broker = await startPrivate("nats");
  }, 60_000);
  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await broker?.[Symbol.asyncDispose]();
  }, 60_000);
  return {
    get broker() {
      if (broker === undefined) throw new Error("the private nats-server is not started yet");
      return broker;
    },
    clients,
  };
}
