import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createClient, ErrorCode } from "@omnibus/core";
import { describe, expect, it } from "vitest";
import {
  claimCheckExample,
  deleteExample,
  idempotencyKeyExample,
  middlewareExample,
  statsExample,
  telemetryExample,
} from "./readme-examples.js";

const readme = readFileSync(join(import.meta.dirname, "..", "README.md"), "utf8");
const examples = readFileSync(join(import.meta.dirname, "readme-examples.ts"), "utf8");

describe("core README, section Details", () => {
  it("shows each snippet of readme-examples.ts as it stands there", () => {
    const snippets = [...examples.matchAll(/\/\/ snippet:([\w-]+)\n([\s\S]*?)\s*\/\/ endsnippet/g)];
    expect(snippets.length).toBeGreaterThan(2);
    const flat = (text: string) => text.replace(/\s+/g, " ").trim();
    for (const [, name, code] of snippets) {
      const lines = code!
        .split("\n")
        .map((l) => l.trim())
        .join("\n");
      expect(flat(readme), `snippet ${name}`).toContain(flat(lines));
    }
  });
  it("middleware sees every send and wraps every handler", async () => {
    expect(await middlewareExample()).toHaveLength(1);
  });
  it("the idempotency key decides what counts as a duplicate", async () => {
    expect(await idempotencyKeyExample()).toBe(1);
  });
  it("the claim check carries a body over the broker's limit and deletes its payload after the ack", async () => {
    expect(await claimCheckExample()).toEqual({ bytes: 3 * 1024 * 1024, header: "v1", left: 0 });
  });
  it("the delete calls leave only what was kept", async () => {
    expect(await deleteExample()).toEqual(["orders.dlq"]);
  });
  it("stats and health read the backlog and the client's state", async () => {
    expect(await statsExample()).toEqual({ lag: 2, deadLetters: 0, status: "ok" });
  });
  it("a client with telemetry options sends as any other", async () => {
    await telemetryExample();
  });
  it("client.adapter throws before connect()", () => {
    const bus = createClient({ url: "memory://" });
    expect(() => bus.adapter).toThrowError(expect.objectContaining({ code: ErrorCode.Config }));
  });
});
