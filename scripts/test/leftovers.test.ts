import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

// scripts/leftovers.mjs, which `pnpm test` runs after vitest: one line per shared broker, with a
// count per kind of destination (or why it could not list them), and --runs narrows the listing
// to the names of the conformance case runs given.
const root = join(import.meta.dirname, "..", "..");
const run = (...args: string[]) =>
  spawnSync("node", ["scripts/leftovers.mjs", ...args], { cwd: root, encoding: "utf8", timeout: 120_000 });

describe("leftovers.mjs", () => {
  it("prints every shared broker with a count per kind, or why it could not list it", () => {
    const dir = mkdtempSync(join(tmpdir(), "leftovers-"));
    const runs = join(dir, "runs.txt");
    writeFileSync(runs, "0badc0de queues=1 topics=0 groups=0\n");
    const out = run("--runs", runs, "--show", "3");
    expect(out.status, out.stderr).toBe(0);
    for (const broker of [
      "rabbitmq",
      "kafka",
      "sqs (ElasticMQ)",
      "sqs+sns (fauxqs)",
      "nats",
      "redis",
      "pubsub (emulator)",
      "activemq (Artemis)",
      "postgres",
    ]) {
      const line = out.stdout.split("\n").find((l) => l.startsWith(`${broker}:`));
      expect(line, `a line for ${broker}:\n${out.stdout}`).toMatch(/: (\d+ \w+(, )?)+$|: not listed \(/);
    }
    // It logs in to Artemis with the broker tool's test user (a wrong login would be "not listed").
    expect(out.stdout).toMatch(/^activemq \(Artemis\): \d+ /m);
    // No case run has the token 0badc0de: nothing is listed for it.
    expect(out.stdout).not.toMatch(/: [1-9]\d* /);
  });
});
