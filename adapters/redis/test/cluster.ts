/**
 * A private Redis Cluster for tests: `n` redis-server processes on free loopback ports, slots
 * spread evenly, joined with `CLUSTER MEET` (no redis-cli needed). Stopped by their pids.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "@omnibus/brokers";
import { waitFor } from "@omnibus/core/testing";
import { Redis } from "ioredis";

export interface PrivateCluster {
  readonly nodes: { host: string; port: number }[];
  stop(): Promise<void>;
}

export async function startCluster(n = 3): Promise<PrivateCluster> {
  const dir = mkdtempSync(join(tmpdir(), "omnibus-redis-cluster-"));
  const ports: number[] = [];
  while (ports.length < n) {
    // The cluster bus listens on port + 10000.
    const port = await freePort({ below: 22_768 });
    if (!ports.includes(port)) ports.push(port);
  }
  const children: ChildProcess[] = ports.map((port) =>
    spawn(
      "redis-server",
      [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        dir,
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        `nodes-${port}.conf`,
        "--cluster-node-timeout",
        "5000",
        "--save",
        "",
        "--appendonly",
        "no",
        "--daemonize",
        "no",
        "--logfile",
        join(dir, `${port}.log`),
      ],
      { stdio: "ignore" },
    ),
  );
  const admins = ports.map(
    (port) => new Redis({ port, host: "127.0.0.1", lazyConnect: true, retryStrategy: () => 50 }),
  );
  const stop = async () => {
    for (const a of admins) a.disconnect();
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null) return resolve();
            child.once("exit", () => resolve());
            child.kill("SIGKILL");
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const a of admins) a.on("error", () => {});
    // The servers take a moment to listen; ioredis keeps retrying (retryStrategy) until they do.
    for (const a of admins) a.connect().catch(() => {});
    await waitFor(() => admins.every((a) => a.status === "ready"), {
      timeoutMs: 15_000,
      message: "redis-server nodes did not start",
    });
    const per = Math.floor(16384 / n);
    await Promise.all(
      admins.map((a, i) =>
        a.call("CLUSTER", "ADDSLOTSRANGE", i * per, i === n - 1 ? 16383 : (i + 1) * per - 1),
      ),
    );
    for (const port of ports.slice(1)) await admins[0]!.call("CLUSTER", "MEET", "127.0.0.1", port);
    await waitFor(
      async () => {
        const infos = await Promise.all(admins.map((a) => a.call("CLUSTER", "INFO") as Promise<string>));
        return infos.every(
          (info) => info.includes("cluster_state:ok") && info.includes(`cluster_known_nodes:${n}`),
        );
      },
      { timeoutMs: 30_000, intervalMs: 100, message: "cluster did not become ok" },
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodes: ports.map((port) => ({ host: "127.0.0.1", port })), stop };
}
