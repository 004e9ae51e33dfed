import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freshCopy, readmeCommands, runWithPrivatePrefix } from "./fresh.js";

// The README's first command, run as a newcomer would: a fresh copy of the repository, a
// private npm prefix first on PATH (so the pnpm it installs is the one used, whatever the
// machine has), the line copied as it stands.
describe("README", () => {
  const copy = freshCopy("readme");
  afterAll(() => copy.cleanup());

  it("starts with two commands: the demo on memory:// and the full test suite", () => {
    const lines = readmeCommands();
    expect(lines, "the README's first code block").toHaveLength(2);
    expect(lines[0]).toMatch(/pnpm (run )?demo/);
    expect(lines[1]).toMatch(/^pnpm (run )?test\b/);
  });

  it("the first command works on a fresh copy with nothing but npm", { timeout: 300_000 }, () => {
    const [first] = readmeCommands();
    const run = runWithPrivatePrefix(first!, copy.dir, join(copy.dir, "..", "npm-prefix"), 280_000);
    expect(run.status, `\`${first}\` exited with ${run.status}:\n${run.output.slice(-4000)}`).toBe(0);
    // The demo's own summary: every order placed, the duplicate dropped, the bounce dead-lettered.
    expect(run.output).toMatch(/orders placed\s+10/);
    expect(run.output).toMatch(/duplicates dropped\s+1/);
    expect(run.output).toMatch(/dead-lettered\s+1/);
    process.stdout.write(`README first command: ${(run.ms / 1000).toFixed(1)} s\n`);
  });
});
