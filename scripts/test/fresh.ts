import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's root. */
export const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/**
 * A copy of the working tree as a fresh clone would have it: tracked files plus new files that
 * are not ignored (no node_modules, no dist), in a new temporary directory.
 */
export function freshCopy(label: string): { dir: string; cleanup(): void } {
  const base = mkdtempSync(join(tmpdir(), `omnibus-${label}-`));
  const dir = join(base, "clone");
  mkdirSync(dir);
  const files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: root,
    encoding: "utf8",
  })
    .split("\0")
    .filter((f) => f.length > 0);
  for (const file of files) {
    try {
      cpSync(join(root, file), join(dir, file), { recursive: false });
    } catch (error) {
      // A tracked file deleted in the working tree is not part of the copy.
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
  }
  return { dir, cleanup: () => rmSync(base, { recursive: true, force: true }) };
}

/** The shell commands of the README's first fenced code block, as they stand. */
export function readmeCommands(): string[] {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const block = /```sh\n([\s\S]*?)```/.exec(readme);
  if (!block) throw new Error("README.md has no ```sh code block");
  return block[1]!
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
}

/** Run a shell line with a private npm prefix first on PATH; returns its output and status. */
export function runWithPrivatePrefix(
  line: string,
  cwd: string,
  prefix: string,
  timeoutMs: number,
): { status: number | null; output: string; ms: number } {
  const started = Date.now();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NPM_CONFIG_PREFIX: prefix,
    PATH: `${join(prefix, "bin")}:${process.env.PATH ?? ""}`,
  };
  // What the parent pnpm set for itself must not leak into the newcomer's shell.
  for (const key of Object.keys(env)) {
    if (key.startsWith("npm_") || key.startsWith("PNPM_") || key === "VITEST" || key.startsWith("VITEST_"))
      delete env[key];
  }
  const result = spawnSync("bash", ["-c", line], { cwd, env, encoding: "utf8", timeout: timeoutMs });
  return { status: result.status, output: `${result.stdout}\n${result.stderr}`, ms: Date.now() - started };
}
