/**
 * How the chaos runs reach each broker: a private instance (never a shared service), an adapter
 * for its URL, and a TCP proxy in front of it for the cut scenario.
 * @module
 */
import { type PrivateBroker, startPrivate } from "@omnibus/brokers";
import type { Adapter } from "@omnibus/core";
import { kafka } from "@omnibus/kafka";
import { nats } from "@omnibus/nats";
import { rabbitmq } from "@omnibus/rabbitmq";
import { redis } from "@omnibus/redis";
import { sqs } from "@omnibus/sqs";

export const CHAOS_BROKERS = ["rabbitmq", "kafka", "nats", "redis", "sqs"] as const;
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
};

export { hostPort };
