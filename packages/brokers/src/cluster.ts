import { rmSync } from "node:fs";
import { join } from "node:path";
import { localUrl } from "./config.js";
import { launch, privateRoot } from "./instance.js";
import { freePort, isAlive, type ProcessRecord, run, stopProcess } from "./process.js";
import { kafkaClusterId, nodeName } from "./servers.js";

/** The brokers {@link startCluster} can run as a cluster. */
export type ClusterBroker = "nats" | "kafka" | "rabbitmq";

/** One node of a {@link PrivateCluster}. */
export interface ClusterNode {
  /** 0-based position in {@link PrivateCluster.nodes}. */
  readonly index: number;
  /** Its client port on 127.0.0.1. */
  readonly port: number;
  /** Whether its process runs. */
  readonly running: boolean;
  /** Starts it again after `stop` or `kill` (no-op while running); resolves when it answers. */
  start(): Promise<void>;
  /** Graceful stop (SIGTERM, then SIGKILL after 30 s); its data is kept. */
  stop(): Promise<void>;
  /** SIGKILL: a crash; `start` brings it back on the same port and data. */
  kill(): Promise<void>;
}

/** A private cluster of its own for failover tests (see {@link startCluster}). */
export interface PrivateCluster {
  readonly name: ClusterBroker;
  /** Every node's client address, comma-separated (what the adapter's URL option takes). */
  readonly url: string;
  readonly nodes: readonly ClusterNode[];
  /**
   * The node leading the data a test uses: NATS, the leader of the first JetStream stream (the
   * meta leader while there is none); Kafka, the leader of partition 0 of the first topic that
   * is not internal (the active controller while there is none).
   */
  leader(): Promise<ClusterNode>;
  /** Stops every node and removes the data folders. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options of {@link startCluster}. */
export interface ClusterOptions {
  /** How many nodes. @default 3 */
  readonly nodes?: number;
}

class Node implements ClusterNode {
  constructor(
    readonly index: number,
    readonly port: number,
    readonly start: () => Promise<void>,
    readonly set: (record: ProcessRecord | undefined) => void,
    readonly get: () => ProcessRecord | undefined,
  ) {}

  get running(): boolean {
    const p = this.get();
    return p !== undefined && isAlive(p);
  }

  async stop(): Promise<void> {
    const p = this.get();
    if (p) await stopProcess(p, 30_000, "SIGTERM");
    this.set(undefined);
  }

  async kill(): Promise<void> {
    const p = this.get();
    if (p) await stopProcess(p, 30_000, "SIGKILL");
    this.set(undefined);
  }
}

/**
 * Starts a private cluster of `name` on free loopback ports, each node with its own data folder
 * under `.omnibus/private/<name>-cluster-<port>/`, and resolves once every node answers. Kafka:
 * combined broker+controller nodes (KRaft), default replication factor = nodes, min.insync.replicas
 * = nodes − 1. NATS: JetStream nodes joined by routes (the adapter's `replicas` option sets a
 * stream's replication). Never touches the shared services.
 * @example
 * await using cluster = await startCluster("nats");
 * const leader = await cluster.leader();
 * await leader.kill(); // the others elect a new leader
 */
export async function startCluster(
  name: ClusterBroker,
  options: ClusterOptions = {},
): Promise<PrivateCluster> {
  const n = options.nodes ?? 3;
  const ports = await Promise.all(Array.from({ length: n }, () => freePort()));
  const aux = await Promise.all(Array.from({ length: n }, () => freePort()));
  const monitor = await Promise.all(Array.from({ length: n }, () => freePort()));
  const root = join(privateRoot(), `${name}-cluster-${ports[0]}`);
  const clusterId = kafkaClusterId();
  const records: (ProcessRecord | undefined)[] = Array.from({ length: n }, () => undefined);
  const peers = (i: number) => {
    if (name === "kafka") return aux.map((p, j) => `${j + 1}@127.0.0.1:${p}`).join(",");
    if (name === "rabbitmq") return ports.map((p) => nodeName(p)).join(",");
    return aux
      .filter((_, j) => j !== i)
      .map((p) => `nats://127.0.0.1:${p}`)
      .join(",");
  };
  const startNode = async (i: number): Promise<void> => {
    const current = records[i];
    if (current && isAlive(current)) return;
    records[i] = await launch(name, {
      port: ports[i]!,
      auxPort: aux[i]!,
      dataDir: join(root, `node-${i + 1}`),
      cluster: { id: i + 1, peers: peers(i), clusterId, replicas: n, monitorPort: monitor[i]! },
    });
  };
  const nodes = ports.map(
    (port, i) =>
      new Node(
        i,
        port,
        () => startNode(i),
        (r) => {
          records[i] = r;
        },
        () => records[i],
      ),
  );
  const dispose = async () => {
    await Promise.allSettled(nodes.map((node) => node.stop()));
    rmSync(root, { recursive: true, force: true });
  };
  try {
    // A Kafka node answers only once a quorum of controllers is up: start them all at once.
    await Promise.all(nodes.map((node) => node.start()));
  } catch (error) {
    await dispose();
    throw error;
  }
  const url = ports.map((p) => localUrl(name, p)).join(",");
  const leader = () =>
    name === "kafka"
      ? kafkaLeader(url, nodes)
      : name === "rabbitmq"
        ? rabbitLeader(root, ports, nodes)
        : natsLeader(monitor, nodes);
  // Ready once the nodes have elected a leader (NATS's JetStream meta leader, Kafka's controller,
  // every RabbitMQ node running in one cluster).
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await leader();
      break;
    } catch (error) {
      if (Date.now() > deadline) {
        await dispose();
        throw new Error(`${name} cluster: no leader elected within 60 s: ${(error as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return { name, url, nodes, leader, [Symbol.asyncDispose]: dispose };
}

async function natsLeader(monitor: readonly number[], nodes: readonly ClusterNode[]): Promise<ClusterNode> {
  for (const [i, port] of monitor.entries()) {
    if (!nodes[i]!.running) continue;
    try {
      const response = await fetch(`http://127.0.0.1:${port}/jsz?accounts=true&streams=true`, {
        signal: AbortSignal.timeout(3000),
      });
      const jsz = (await response.json()) as {
        meta_cluster?: { leader?: string };
        account_details?: { stream_detail?: { cluster?: { leader?: string } }[] }[];
      };
      const streamLeader = jsz.account_details?.flatMap((a) => a.stream_detail ?? [])[0]?.cluster?.leader;
      const leader = streamLeader ?? jsz.meta_cluster?.leader;
      const match = leader ? /^n(\d+)$/.exec(leader) : null;
      if (match) return nodes[Number(match[1]) - 1]!;
    } catch {
      // ask the next node
    }
  }
  throw new Error("nats cluster: no running node names a leader");
}

async function kafkaLeader(url: string, nodes: readonly ClusterNode[]): Promise<ClusterNode> {
  const { Kafka, logLevel } = await import("kafkajs");
  const admin = new Kafka({
    clientId: "omnibus-brokers-cluster",
    brokers: url.split(","),
    logLevel: logLevel.NOTHING,
    retry: { retries: 2 },
  }).admin();
  try {
    await admin.connect();
    const topics = (await admin.listTopics()).filter((t) => !t.startsWith("__")).sort();
    if (topics.length > 0) {
      const metadata = await admin.fetchTopicMetadata({ topics: [topics[0]!] });
      const partition = metadata.topics[0]?.partitions.find((p) => p.partitionId === 0);
      if (partition && partition.leader > 0) return nodes[partition.leader - 1]!;
    }
    const cluster = await admin.describeCluster();
    return nodes[cluster.controller! - 1]!;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** `rabbitmqctl` against one node of the cluster (its data folder holds the shared cookie). */
async function rabbitmqctl(root: string, i: number, port: number, args: string[]): Promise<string> {
  const { stdout } = await run("/usr/lib/rabbitmq/bin/rabbitmqctl", ["-n", nodeName(port), ...args], {
    env: { ...process.env, HOME: join(root, `node-${i + 1}`) },
    timeout: 15_000,
  });
  return stdout;
}

async function rabbitLeader(
  root: string,
  ports: readonly number[],
  nodes: readonly ClusterNode[],
): Promise<ClusterNode> {
  for (const [i, port] of ports.entries()) {
    if (!nodes[i]!.running) continue;
    try {
      const status = JSON.parse(
        await rabbitmqctl(root, i, port, ["cluster_status", "--formatter", "json"]),
      ) as { running_nodes?: string[] };
      if ((status.running_nodes?.length ?? 0) < nodes.filter((n) => n.running).length) continue;
      const queues = JSON.parse(
        await rabbitmqctl(root, i, port, ["list_queues", "name", "type", "leader", "--formatter", "json"]),
      ) as { name: string; type: string; leader?: string }[];
      const quorum = queues
        .filter((q) => q.type === "quorum" && q.leader)
        .sort((a, b) => a.name.localeCompare(b.name));
      const leader = quorum[0]?.leader ?? nodeName(port);
      const at = ports.findIndex((p) => nodeName(p) === leader);
      if (at >= 0) return nodes[at]!;
    } catch {
      // ask the next node
    }
  }
  throw new Error("rabbitmq cluster: no running node answers with every running node joined");
}
