import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createClient, silentLogger } from "@omnibus/core";
import { waitFor } from "@omnibus/core/testing";
import { afterAll, describe, expect, it } from "vitest";
import { kafka } from "../src/index.js";
import { brokers, closeAll, unique } from "./helpers.js";

const here = dirname(fileURLToPath(import.meta.url));
// tsx as a loader of the child's own process: a SIGKILL of tsx's CLI would leave its child running.
const tsx = pathToFileURL(join(here, "..", "..", "..", "node_modules", "tsx", "dist", "loader.mjs")).href;

/**
 * A consumer killed with SIGKILL leaves its member in the group until its session times out
 * (`sessionTimeoutMs`, 10 s). A replacement consumer used to wait that long for the partitions
 * (10 s in the chaos runs before the fix); it now gets them after the coordinator's rebalance
 * timeout (`rebalanceTimeoutMs`, 3 s). Nothing the dead consumer had not finished is lost.
 */
describe("kafka: a consumer killed with SIGKILL, then a replacement", () => {
  afterAll(closeAll, 60_000);

  it("the replacement gets the first message within 6 s of its start and every message the dead one had not finished", async () => {
    const queue = unique("consumer-kill");
    const child = spawn(
      process.execPath,
      ["--import", tsx, "--conditions=@omnibus/source", join(here, "kill-child.ts"), brokers, queue],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const byChild = new Set<string>();
    let ready = false;
    let buffered = "";
    child.stdout.on("data", (chunk: Buffer) => {
      const lines = (buffered + chunk.toString()).split("\n");
      buffered = lines.pop()!;
      for (const line of lines) {
        if (line === "ready") ready = true;
        else if (line) byChild.add(line);
      }
    });
    try {
      await waitFor(() => ready, { timeoutMs: 60_000, message: "the consumer process started" });
      const producer = createClient({ adapter: kafka({ brokers }), logger: silentLogger });
      const ids: string[] = [];
      for (let i = 0; i < 600; i += 50) {
        const batch = Array.from({ length: 50 }, () => ({ id: randomUUID(), body: { i } }));
        await producer.sendBatch(queue, batch);
        ids.push(...batch.map((b) => b.id));
      }
      await waitFor(() => byChild.size >= 200, {
        timeoutMs: 60_000,
        message: "the consumer process handled 200",
      });
      child.kill("SIGKILL");
      const replacement = createClient({ adapter: kafka({ brokers }), logger: silentLogger });
      const received = new Set<string>();
      let firstAfter: number | undefined;
      const startedAt = Date.now();
      await replacement.consume(queue, (m) => {
        firstAfter ??= Date.now() - startedAt;
        received.add(m.id);
      });
      const missing = () => ids.filter((id) => !byChild.has(id) && !received.has(id));
      await waitFor(() => missing().length === 0, {
        timeoutMs: 60_000,
        message: () => `every message received (missing ${missing().length})`,
      });
      expect(firstAfter, "ms from the replacement's consume() to its first delivery").toBeLessThan(6_000);
      await Promise.all([producer.close(), replacement.close()]);
    } finally {
      child.kill("SIGKILL");
    }
  }, 180_000);
});
