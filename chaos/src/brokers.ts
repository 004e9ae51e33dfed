/**
 * How the chaos runs reach each broker: a private instance (never a shared service), an adapter
 * for its URL, and a TCP proxy in front of it for the cut scenario.
 * @module
 */
import {
  type ClusterNode,
  type PrivateBroker,
  type PrivateCluster,
  startCluster,
  startPrivate,
} from "@omnibus/brokers";
import type { Adapter } from "@omnibus/core";
import { kafka } from "@omnibus/kafka";
import { nats } from "@omnibus/nats";
import { rabbitmq } from "@omnibus/rabbitmq";
import { redis } from "@omnibus/redis";
import { sqs } from "@omnibus/sqs";

export const CHAOS_BROKERS = [
  "rabbitmq",
  "kafka",
  "nats",
  "redis",
  "sqs",
  "rabbitmq-cluster",
  "kafka-cluster",
  "nats-cluster",
] as const;
export type ChaosBroker = (typeof CHAOS_BROKERS)[number];

/** One broker's chaos setup. Every setting here is written in the chaos README. */
export interface BrokerSetup {
  /** Whether the private server stores durably: a loss there is a failure, elsewhere a figure. */
  readonly durable: boolean;
  /** A private server (on `port` when given); `advertisedPort` for Kafka behind a proxy. */
  start(options?: { port?: number; advertisedPort?: number }): Promise<PrivateBroker>;
  /** An adapter for `address` (a URL or Kafka's host:port) with default settings. */
  adapter(address: string): Adapter;
  /** The address of a private server, or of a proxy at 127.0.0.1:`port` in front of it. */
  address(broker: PrivateBroker, proxyPort?: number): string;
  /** A cluster: its faults hit the leader; no `cut` scenario (one proxy cannot front every node). */
  readonly cluster?: boolean;
}

/**
 * A three-node private cluster seen as one broker: `kill` and `stop` hit the node leading the
 * run's data (see `PrivateCluster.leader`), `start` brings back whichever nodes are down.
 */
async function clusterBroker(name: "nats" | "kafka" | "rabbitmq"): Promise<PrivateBroker> {
  const cluster: PrivateCluster = await startCluster(name);
  const down = new Set<ClusterNode>();
  const hit = async (how: "kill" | "stop") => {
    const leader = await cluster.leader();
    down.add(leader);
    await leader[how]();
  };
  const start = async () => {
    for (const node of down) await node.start();
    down.clear();
  };
  return {
    name,
    url: cluster.url,
    port: cluster.nodes[0]!.port,
    dataDir: "",
    start,
    stop: () => hit("stop"),
    kill: () => hit("kill"),
    restart: async () => {
      await hit("stop");
      await start();
    },
    [Symbol.asyncDispose]: () => cluster[Symbol.asyncDispose](),
  };
}

const hostPort = (url: string) => /\/\/(?:[^@/]*@)?([^/?]+)/.exec(url)?.[1] ?? url;
const withPort = (url: string, port: number) => url.replace(/(\/\/(?:[^@/]*@)?[^:/]+):\d+/, `$1:${port}`);

export const SETUPS: Readonly<Record<ChaosBroker, BrokerSetup>> = {
  rabbitmq: {
    durable: true,
    start: (o) => startPrivate("rabbitmq", { ...o }),
    adapter: (url) => rabbitmq({ url }),
    address: (b, port) => (port === undefined ? b.url : withPort(b.url, port)),
  },
  kafka: {
    durable: true,
    start: (o) => startPrivate("kafka", { ...o }),
    adapter: (brokers) => kafka({ brokers }),
    address: (b, port) => (port === undefined ? b.url : `127.0.0.1:${port}`),
  },
  nats: {
    durable: true,
    start: (o) => startPrivate("nats", { ...o }),
    adapter: (url) => nats({ url }),
    address: (b, port) => (port === undefined ? b.url : withPort(b.url, port)),
  },
  redis: {
    // AOF with appendfsync always on the private server: what `persistent: true` asks for.
    durable: true,
    start: (o) => startPrivate("redis", { ...o, persistence: true }),
    adapter: (url) => redis({ url, persistent: true }),
    address: (b, port) => (port === undefined ? b.url : withPort(b.url, port)),
  },
  sqs: {
    // ElasticMQ as the broker tool runs it keeps messages in memory: resumption only.
    durable: false,
    start: (o) => startPrivate("sqs", { ...o }),
    adapter: (endpoint) => sqs({ endpoint, persistent: false }),
    address: (b, port) => (port === undefined ? b.url : withPort(b.url, port)),
  },
  "rabbitmq-cluster": {
    // 3 nodes, quorum queues (replicated to every node; classic queues are not replicated).
    durable: true,
    cluster: true,
    start: () => clusterBroker("rabbitmq"),
    adapter: (url) => rabbitmq({ url, queueType: "quorum" }),
    address: (b) => b.url,
  },
  "kafka-cluster": {
    // 3 KRaft nodes, default replication factor 3, min.insync.replicas 2; adapter defaults.
    durable: true,
    cluster: true,
    start: () => clusterBroker("kafka"),
    adapter: (brokers) => kafka({ brokers }),
    address: (b) => b.url,
  },
  "nats-cluster": {
    // 3 routed JetStream nodes; streams with 3 replicas (the adapter's `replicas`; default 1).
    durable: true,
    cluster: true,
    start: () => clusterBroker("nats"),
    adapter: (url) => nats({ url, replicas: 3 }),
    address: (b) => b.url,
  },
};

export { hostPort };
