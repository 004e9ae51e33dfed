import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

// The export lists in packages/core/README.md are generated from the sources: this fails when a
// name was added, removed or left without a doc comment and the lists were not written again.
describe("core README export lists", () => {
  it("match the exports of @omnibus/core and @omnibus/core/adapter, each name described", () => {
    const run = spawnSync(process.execPath, [join(import.meta.dirname, "..", "exports.mjs"), "--check"], {
      encoding: "utf8",
      timeout: 120_000,
    });
    expect(run.status, `${run.stdout}${run.stderr}`).toBe(0);
  }, 130_000);
});
