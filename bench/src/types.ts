import type { Body } from "./payload.js";

/**
 * The brokers the bench knows. `pgboss` is PostgreSQL again, with pg-boss 10 as the "raw" side
 * (the row that compares the adapter with the job queue teams use on PostgreSQL today).
 * `mqt-rabbitmq` and `mqt-sqs` are RabbitMQ and SQS again, with message-queue-toolkit (the peer
 * library of the same kind: one API over several brokers) as the compared side, set as close to
 * Omnibus's defaults as it allows (prefetch, pollers); the `-defaults` rows run it as it comes.
 */
export const BROKERS = [
  "memory",
  "rabbitmq",
  "redis",
  "nats",
  "kafka",
  "sqs",
  "pubsub",
  "activemq",
  "postgres",
  "pgboss",
  "mqt-rabbitmq",
  "mqt-rabbitmq-defaults",
  "mqt-sqs",
  "mqt-sqs-defaults",
] as const;
export type BrokerName = (typeof BROKERS)[number];

/**
 * The scenarios, in the order they run. `tracing` is Omnibus only: the e2e workload with
 * telemetry off, with `@opentelemetry/api` and no SDK (the default), and with an SDK whose spans
 * go to a no-op exporter (see tracing.ts).
 */
export const SCENARIOS = ["e2e", "send", "rpc", "stream", "tracing"] as const;
export type ScenarioName = (typeof SCENARIOS)[number];
/** The scenarios that compare the raw client with Omnibus. */
export type ComparedScenario = Exclude<ScenarioName, "tracing">;

/** What every run of a scenario does; the same for the raw client and for Omnibus. */
export interface Workload {
  /** Messages of the e2e and send scenarios. */
  readonly messages: number;
  /** Encoded body size in bytes (a JSON document padded to exactly this size). */
  readonly size: number;
  /** Messages per send window: published together, their confirms awaited together. */
  readonly window: number;
  /** Sequential requests of the rpc scenario (after the warm-up ones). */
  readonly rpcCount: number;
  /** Messages per second of the stream scenario. */
  readonly streamRate: number;
  /** Seconds of the stream scenario (after its warm-up). */
  readonly streamSeconds: number;
  /** Longest wait for the last message of a run before it is declared lost. */
  readonly deadlineMs: number;
  /** Consumers of the e2e scenario, each started with the driver's `consume`. @default 1 */
  readonly consumers?: number;
}

/** Called with the number of messages done so far in the current run (progress display). */
export type Progress = (done: number, total: number) => void;

/**
 * One way of talking to a broker: the raw client, or Omnibus. A driver is connected once per
 * broker; every run uses a fresh queue name given by the harness, which times the runs from
 * these primitives (see harness.ts), so both sides are measured by the same code.
 */
export interface Driver {
  /**
   * `raw`: the side Omnibus is compared with — the broker's own client, or a peer library in
   * the peer rows (pgboss, mqt-*); `omnibus`: Omnibus.
   */
  readonly side: "raw" | "omnibus";
  connect(): Promise<void>;
  /** Declare what `queue` needs (queue, stream, consumer group) before a run. */
  prepare(queue: string): Promise<void>;
  /** Start a consumer calling `onBody` for every message (then acking it); resolves once it runs, with its stop. */
  consume(queue: string, onBody: (body: Body) => void): Promise<() => Promise<void>>;
  /** Send messages `from`..`to - 1` (bodies of `size` bytes) at once; resolves when the broker confirmed all. */
  sendWindow(queue: string, from: number, to: number, size: number): Promise<void>;
  /**
   * Send the messages `from`..`to - 1` due in one tick of the stream scenario, each carrying its
   * send time `t`, the way a steady producer would (one publish each, or a batch call where that
   * is the broker's natural unit); resolves on confirm.
   */
  sendTick(queue: string, from: number, to: number, size: number, t: number): Promise<void>;
  /** Sequential request-reply; one round-trip latency (ms) per request. Absent: not natural on this broker. */
  rpc?(queue: string, count: number, size: number, progress: Progress): Promise<number[]>;
  /** Why `rpc` is absent (shown in the report). */
  readonly rpcNote?: string;
  /** Remove what the run created (best effort). */
  cleanup(queue: string): Promise<void>;
  close(): Promise<void>;
}
