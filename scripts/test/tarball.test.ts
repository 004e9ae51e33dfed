import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { root } from "./fresh.js";

// The packages as a user receives them: packed with `pnpm pack` (the prepack build), checked with
// publint and attw (scripts/check-packages.mjs), installed with npm into a new app outside the
// workspace, and run with plain `node` — no tsx, no `@omnibus/source` condition, no workspace.
const dirs: Record<string, string> = {
  "@omnibus/core": "packages/core",
  "@omnibus/memory": "adapters/memory",
  "@omnibus/redis": "adapters/redis",
  "@omnibus/conformance": "conformance",
};
const packages = Object.keys(dirs);
const manifest = (name: string) => JSON.parse(readFileSync(join(root, dirs[name]!, "package.json"), "utf8"));
/** The file `pnpm pack` writes for a package. */
const tarballOf = (name: string) =>
  `${name.replace(/^@/, "").replace("/", "-")}-${manifest(name).version}.tgz`;
// The ioredis the redis adapter is tested with (its devDependency), as the app's peer.
const ioredis: string = manifest("@omnibus/redis").devDependencies.ioredis;

const base = mkdtempSync(join(tmpdir(), "omnibus-tarball-"));
const packs = join(base, "packs");
const app = join(base, "app");
const author = join(base, "author");
const skeleton = join(root, "examples/adapter-skeleton/src");

// The author's app: opens its own adapter by URL, as any Omnibus user would.
const AUTHOR_APP = `import { createClient, registerAdapter } from "@omnibus/core";
import { skeleton } from "./src/index.js"; // importing it registers skeleton:

const bus = createClient({ url: "skeleton://app" });
let received = false;
let arrived: () => void = () => {};
const done = new Promise<void>((resolve) => (arrived = resolve));
await bus.consume("author-queue", async () => {
  received = true;
  arrived();
});
await bus.send("author-queue", { hello: "world" });
await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 10_000))]);
console.log(\`@@AUTHOR adapter=\${bus.adapterName} received=\${received}\`);
await bus.close();

// An outside PostgreSQL adapter (here the skeleton under another name) registered for postgres:
// takes the scheme over from the built-in @omnibus/postgres, which this app does not install.
registerAdapter("postgres", { fromUrl: (url) => skeleton({ name: new URL(url).pathname.slice(1) || "pg" }) });
const pg = createClient({ url: "postgres://db.example:5432/app" });
await pg.connect();
console.log(\`@@AUTHOR postgres=\${pg.adapterName}\`);
await pg.close();
`;

/** The environment of a user's shell: nothing of the pnpm, vitest or Node options running this test. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) {
    if (
      key.startsWith("npm_") ||
      key.startsWith("PNPM_") ||
      key === "VITEST" ||
      key.startsWith("VITEST_") ||
      key === "NODE_OPTIONS" ||
      key === "NODE_ENV"
    )
      delete env[key];
  }
  return env;
}

function run(command: string, args: string[], cwd: string, timeoutMs: number) {
  const started = Date.now();
  const r = spawnSync(command, args, { cwd, env: userEnv(), encoding: "utf8", timeout: timeoutMs });
  const output = `${r.stdout ?? ""}\n${r.stderr ?? ""}`.trim();
  return { status: r.status, output, stdout: r.stdout ?? "", s: ((Date.now() - started) / 1000).toFixed(1) };
}

/** `npm install` the tarballs of `names` (and `extra` registry packages) into the app at `dir`. */
function npmInstall(dir: string, names: string[], extra: string[] = []) {
  const tarballs = names.map((name) => join(packs, tarballOf(name)));
  return run(
    "npm",
    ["install", "--no-audit", "--no-fund", "--loglevel=error", ...tarballs, ...extra],
    dir,
    120_000,
  );
}

// The app: one queue round trip on memory:// and one on Redis, by message id. Its Redis keys are
// under a prefix of its own, removed at the end.
const APP = `import { createClient } from "@omnibus/core";
import { Redis } from "ioredis";

// The suite's shared Redis (\`pnpm brokers up\`), as conformance's brokerUrl("redis") gives it.
const redisUrl = process.env.OMNIBUS_REDIS_URL ?? "redis://127.0.0.1:6379";
const [queue, prefix] = process.argv.slice(2);
const COUNT = 5;

async function roundTrip(url) {
  const bus = createClient({ url });
  try {
    const received = new Map();
    let arrived;
    const all = new Promise((resolve) => (arrived = resolve));
    await bus.consume(queue, async (msg) => {
      received.set(msg.id, msg.body);
      if (received.size >= COUNT) arrived();
    });
    const sent = [];
    for (let n = 0; n < COUNT; n++) sent.push(await bus.send(queue, { n }));
    let timer;
    const deadline = new Promise((resolve) => (timer = setTimeout(resolve, 20_000)));
    await Promise.race([all, deadline]);
    clearTimeout(timer);
    return { adapter: bus.adapterName, sent, received: [...received.keys()], bodies: [...received.values()] };
  } finally {
    await bus.close();
  }
}

const results = { resolved: import.meta.resolve("@omnibus/core") };
results.memory = await roundTrip("memory://");
const url = new URL(redisUrl);
url.searchParams.set("prefix", prefix);
try {
  results.redis = await roundTrip(url.toString());
} finally {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", prefix + ":*", "COUNT", 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== "0");
  results.keysLeft = (await redis.scan("0", "MATCH", prefix + ":*", "COUNT", 10_000))[1].length;
  await redis.quit();
}
console.log("@@RESULT " + JSON.stringify(results));
`;

// Dead letters for the CLI test (on the shared Redis, under a key prefix of the test's own):
// "prepare" dead-letters 5 messages, "check" reads them back from
// their queue once replayed, "clean" deletes the queue and its DLQ.
const DLQ_APP = `import { createClient, DeadLetterError } from "@omnibus/core";
const [mode, prefix, queue] = process.argv.slice(2);
const redisUrl = new URL(process.env.OMNIBUS_REDIS_URL ?? "redis://127.0.0.1:6379");
redisUrl.searchParams.set("prefix", prefix);
const url = redisUrl.toString();
console.log("@@URL " + url);
const bus = createClient({ url, logger: { debug() {}, info() {}, warn() {}, error() {} } });
const until = async (ok) => {
  for (const end = Date.now() + 30_000; Date.now() < end; ) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("timed out");
};
if (mode === "prepare") {
  await bus.consume(queue, () => {
    throw new DeadLetterError("downstream down");
  });
  const ids = [];
  for (let i = 0; i < 5; i++) ids.push(await bus.send(queue, { i }));
  await until(async () => (await bus.stats(queue)).deadLetters === 5);
  console.log("@@IDS " + JSON.stringify(ids));
} else if (mode === "check") {
  const ids = [];
  await bus.consume(queue, (m) => {
    ids.push(m.id);
  });
  await until(() => ids.length >= 5);
  await new Promise((r) => setTimeout(r, 300));
  console.log("@@IDS " + JSON.stringify(ids));
} else {
  await bus.deleteQueue(queue);
}
await bus.close();
`;

describe("the published packages, from their tarballs", () => {
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it("pack cleanly and pass publint and attw (ESM-only profile)", { timeout: 150_000 }, () => {
    mkdirSync(packs);
    const check = run(
      process.execPath,
      [join(root, "scripts/check-packages.mjs"), "--pack-destination", packs, ...packages],
      root,
      140_000,
    );
    process.stdout.write(`pack + publint + attw (${packages.join(", ")}): ${check.s} s\n`);
    expect(check.status, check.output).toBe(0);
    for (const name of packages) expect(check.stdout).toMatch(new RegExp(`^${name}\\s+OK\\b`, "m"));
    // No compiled test and no source test in a tarball.
    for (const name of packages) {
      const files = run("tar", ["tzf", join(packs, tarballOf(name))], packs, 10_000).stdout.split("\n");
      expect(files).toContain("package/dist/src/index.js");
      expect(files).toContain("package/dist/src/index.d.ts");
      expect(files.filter((f) => /\.test\./.test(f) || f.includes("/test/"))).toEqual([]);
    }
  });

  it("install with npm into a new app and run with plain node: memory:// and Redis", {
    timeout: 150_000,
  }, () => {
    mkdirSync(app);
    writeFileSync(
      join(app, "package.json"),
      `${JSON.stringify({ name: "omnibus-tarball-app", private: true, type: "module" }, null, 2)}\n`,
    );
    writeFileSync(join(app, "main.mjs"), APP);
    expect(relative(root, app).startsWith(".."), "the app is outside the workspace").toBe(true);

    const install = npmInstall(
      app,
      ["@omnibus/core", "@omnibus/memory", "@omnibus/redis"],
      [`ioredis@${ioredis}`],
    );
    process.stdout.write(`npm install (3 tarballs + ioredis@${ioredis}): ${install.s} s\n`);
    expect(install.status, install.output).toBe(0);

    const queue = `tarball-${randomUUID()}`;
    const prefix = `omnibus-tarball-${randomUUID().slice(0, 8)}`;
    const main = run(process.execPath, ["main.mjs", queue, prefix], app, 60_000);
    process.stdout.write(`app on memory:// and Redis: ${main.s} s\n`);
    expect(main.status, main.output).toBe(0);
    const line = main.stdout.split("\n").find((l) => l.startsWith("@@RESULT "));
    expect(line, main.output).toBeDefined();
    const result = JSON.parse(line!.slice("@@RESULT ".length));

    // The app ran the installed build, not the workspace's sources.
    expect(result.resolved).toBe(`file://${join(app, "node_modules/@omnibus/core/dist/src/index.js")}`);
    for (const [name, adapter] of [
      ["memory", "memory"],
      ["redis", "redis"],
    ] as const) {
      const r = result[name];
      expect(r.adapter).toBe(adapter);
      expect(r.sent).toHaveLength(5);
      expect([...r.received].sort(), `${name}: the ids received`).toEqual([...r.sent].sort());
      expect(r.bodies.map((b: { n: number }) => b.n).sort()).toEqual([0, 1, 2, 3, 4]);
    }
    expect(result.keysLeft, "Redis keys of the app left behind").toBe(0);
  });

  // The omnibus CLI from its tarball, in the app above (core and redis installed there): dead
  // letters made by the app, replayed by the installed bin, back in their queue by set difference.
  it("the omnibus CLI from its tarball: dlq replay and stats --watch on Redis", { timeout: 200_000 }, () => {
    const pack = run("pnpm", ["pack", "--pack-destination", packs], join(root, "packages/cli"), 120_000);
    expect(pack.status, pack.output).toBe(0);
    const cliTarball = readdirSync(packs).find((f) => f.startsWith("omnibus-cli-"))!;
    const install = run(
      "npm",
      ["install", "--no-audit", "--no-fund", "--loglevel=error", join(packs, cliTarball)],
      app,
      120_000,
    );
    process.stdout.write(`npm install (cli tarball): ${install.s} s\n`);
    expect(install.status, install.output).toBe(0);
    const queue = `tarball-cli-${randomUUID()}`;
    const prefix = `omnibus-tarball-cli-${randomUUID().slice(0, 8)}`;
    writeFileSync(join(app, "dlq.mjs"), DLQ_APP);
    const made = run(process.execPath, ["dlq.mjs", "prepare", prefix, queue], app, 60_000);
    expect(made.status, made.output).toBe(0);
    const tagged = (tag: string) =>
      made.stdout
        .split("\n")
        .find((l) => l.startsWith(tag))!
        .slice(tag.length);
    const sent = JSON.parse(tagged("@@IDS "));
    const url = tagged("@@URL ");
    const bin = join(app, "node_modules/.bin/omnibus");
    const replayed = run(bin, ["dlq", "replay", url, queue, "--json"], app, 60_000);
    expect(replayed.status, replayed.output).toBe(0);
    expect(JSON.parse(replayed.stdout)).toMatchObject({ replayed: 5, failed: 0 });
    const back = run(process.execPath, ["dlq.mjs", "check", prefix, queue], app, 60_000);
    expect(back.status, back.output).toBe(0);
    const received: string[] = JSON.parse(
      back.stdout
        .split("\n")
        .find((l) => l.startsWith("@@IDS "))!
        .slice(6),
    );
    expect([...received].sort(), "the replayed ids, each once").toEqual([...sent].sort());
    const watched = run(
      bin,
      ["stats", url, queue, "--watch", "--interval", "50", "--count", "2", "--json"],
      app,
      60_000,
    );
    expect(watched.status, watched.output).toBe(0);
    const readings = watched.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(readings.map((r) => [r.lag, r.deadLetters])).toEqual([
      [0, 0],
      [0, 0],
    ]);
    expect(run(bin, ["stats"], app, 30_000).status, "bad usage").toBe(2);
    const cleaned = run(process.execPath, ["dlq.mjs", "clean", prefix, queue], app, 60_000);
    expect(cleaned.status, cleaned.output).toBe(0);
  });

  // An adapter author's project: core and conformance from their tarballs (no vitest, no broker
  // tool), and a small adapter of the app's own (the skeleton, copied in as source), registered
  // for its URL scheme `skeleton:`. The suite's CLI runs every case on it.
  it("an adapter author: the tarballs install light, the app's adapter is found by URL scheme, the CLI writes the JSON and HTML reports", {
    timeout: 200_000,
  }, () => {
    mkdirSync(author);
    writeFileSync(
      join(author, "package.json"),
      `${JSON.stringify({ name: "omnibus-author-app", private: true, type: "module" }, null, 2)}\n`,
    );
    // The adapter: the skeleton of examples/adapter-skeleton, as the author's own source files.
    mkdirSync(join(author, "src"));
    for (const file of readdirSync(skeleton))
      if (file.endsWith(".ts") && !file.includes(".test."))
        writeFileSync(join(author, "src", file), readFileSync(join(skeleton, file), "utf8"));
    writeFileSync(
      join(author, "x.conformance.ts"),
      readFileSync(join(root, "examples/adapter-skeleton/skeleton.conformance.ts"), "utf8"),
    );
    writeFileSync(join(author, "main.ts"), AUTHOR_APP);
    const install = npmInstall(author, ["@omnibus/core", "@omnibus/conformance"]);
    process.stdout.write(`npm install (core, conformance): ${install.s} s\n`);
    expect(install.status, install.output).toBe(0);
    const installed = run("npm", ["ls", "--all", "--parseable"], author, 30_000)
      .stdout.split("\n")
      .filter((l) => l.includes("node_modules"));
    process.stdout.write(`packages installed by the two tarballs: ${installed.length}\n`);
    expect(installed.length, installed.join("\n")).toBeLessThan(40);
    for (const heavy of ["kafkajs", "fauxqs", "testcontainers", "vitest"])
      expect(
        installed.some((l) => l.endsWith(`/node_modules/${heavy}`)),
        heavy,
      ).toBe(false);

    // createClient({ url: "mine://…" }) finds the app's adapter.
    const main = run("npx", ["tsx", "main.ts"], author, 60_000);
    expect(main.status, main.output).toBe(0);
    expect(main.stdout).toContain("@@AUTHOR adapter=skeleton received=true");
    expect(main.stdout).toContain("@@AUTHOR postgres=skeleton");

    const cli = run(
      "npx",
      ["omnibus-conformance", "./x.conformance.ts", "--json", "r.json", "--report", "r.html"],
      author,
      150_000,
    );
    process.stdout.write(`npx omnibus-conformance ./x.conformance.ts: ${cli.s} s\n`);
    expect(cli.status, cli.output).toBe(0);
    const report = JSON.parse(readFileSync(join(author, "r.json"), "utf8"));
    expect(report.adapter).toBe("skeleton");
    expect(report.cases.length).toBeGreaterThanOrEqual(45);
    for (const c of report.cases) {
      expect(["passed", "skipped"], `${c.id}: ${c.message ?? ""}`).toContain(c.status);
      if (c.status === "skipped") expect(c.reason, `${c.id} skipped without a reason`).toMatch(/\w/);
    }
    expect(report.totals.passed).toBeGreaterThan(60);
    const html = readFileSync(join(author, "r.html"), "utf8");
    const rows = [...html.matchAll(/<tr class="(\w[\w-]*)" data-case="([^"]+)">/g)].map((m) => [m[2], m[1]]);
    expect(rows.map(([id]) => id).sort()).toEqual(report.cases.map((c: { id: string }) => c.id).sort());
    for (const [id, status] of rows)
      expect(status, id).toBe(report.cases.find((c: { id: string }) => c.id === id).status);
    const features = /<table id="features">(.*?)<\/table>/s.exec(html)?.[1] ?? "";
    for (const name of Object.keys(report.features))
      expect(features, `feature ${name} shown`).toContain(`<th>${name}</th>`);
  });
});
