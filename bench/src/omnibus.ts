import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Client,
  type ClientOptions,
  type ConsumerOptions,
  claimCheck,
  createClient,
  fileBlobStore,
  type Subscription,
  type TelemetryOptions,
} from "@omnibus/core";
import { type Body, body } from "./payload.js";
import type { Driver, Progress } from "./types.js";

/** How the Omnibus side is set up: defaults unless the run asks for tuned options. */
export interface OmnibusSetup {
  readonly url: string;
  /** Passed to `createClient` as `adapterOptions`. @default none */
  readonly adapterOptions?: Record<string, unknown>;
  /** Passed to every `consume` / `reply`. @default none (core's defaults) */
  readonly consumer?: ConsumerOptions;
  /**
   * `batch`: one `sendBatch` per window; `concurrent`: one `send` per message, a window of them
   * in flight together.
   * @default "batch"
   */
  readonly sendMode?: "batch" | "concurrent";
  /** Delete the run's queues when the driver closes rather than after each run (Kafka). @default false */
  readonly deferCleanup?: boolean;
  /**
   * Send every body over this many bytes through the claim-check middleware (a file store in a
   * temporary directory, removed on close). @default no claim check
   */
  readonly claimCheckBytes?: number;
  /**
   * Passed to `createClient` as `telemetry`. @default none: core's default, i.e. traces and
   * metrics through the global providers of `@opentelemetry/api` (installed here, no SDK
   * registered: the API's no-op tracer and meter)
   */
  readonly telemetry?: TelemetryOptions;
}

/** Omnibus through `createClient({ url })`. */
export class OmnibusDriver implements Driver {
  readonly side = "omnibus";
  #client: Client | undefined;
  readonly #subs = new Map<string, Subscription>();

  constructor(private readonly setup: OmnibusSetup) {}

  get client(): Client {
    if (!this.#client) throw new Error("not connected");
    return this.#client;
  }

  async connect(): Promise<void> {
    const options: ClientOptions = { url: this.setup.url };
    if (this.setup.adapterOptions) options.adapterOptions = this.setup.adapterOptions;
    if (this.setup.telemetry) options.telemetry = this.setup.telemetry;
    if (this.setup.claimCheckBytes !== undefined) {
      this.#blobs = await mkdtemp(join(tmpdir(), "omnibus-bench-cc-"));
      const store = fileBlobStore({ directory: this.#blobs });
      options.use = [claimCheck({ store, thresholdBytes: this.setup.claimCheckBytes })];
    }
    this.#client = createClient(options);
    await this.#client.connect();
  }

  async prepare(_queue: string): Promise<void> {
    // Omnibus declares on first use (consume or send); nothing to do.
  }

  async consume(queue: string, onBody: (body: Body) => void): Promise<() => Promise<void>> {
    const sub = await this.client.consume(queue, (m) => onBody(m.body as Body), this.setup.consumer);
    this.#subs.set(queue, sub);
    return () => sub.close();
  }

  async sendWindow(queue: string, from: number, to: number, size: number): Promise<void> {
    if (this.setup.sendMode === "concurrent") {
      const sends: Promise<string>[] = [];
      for (let i = from; i < to; i++) sends.push(this.client.send(queue, body(i, size)));
      await Promise.all(sends);
      return;
    }
    const items = [];
    for (let i = from; i < to; i++) items.push({ body: body(i, size) });
    await this.client.sendBatch(queue, items);
  }

  /** A steady producer calls `send` per event: one `send` per message, not awaited in turn. */
  async sendTick(queue: string, from: number, to: number, size: number, t: number): Promise<void> {
    const sends: Promise<string>[] = [];
    for (let i = from; i < to; i++) sends.push(this.client.send(queue, body(i, size, t)));
    await Promise.all(sends);
  }

  async rpc(queue: string, count: number, size: number, progress: Progress): Promise<number[]> {
    const sub = await this.client.reply(queue, (m) => m.body, this.setup.consumer);
    try {
      const out: number[] = [];
      for (let i = 0; i < count; i++) {
        const start = performance.now();
        const answer = (await this.client.request(queue, body(i, size))) as Body;
        out.push(performance.now() - start);
        if (answer.i !== i) throw new Error(`rpc: reply ${answer.i} to request ${i}`);
        if ((i & 63) === 0) progress(i, count);
      }
      return out;
    } finally {
      await sub.close();
    }
  }

  async cleanup(queue: string): Promise<void> {
    await this.#subs.get(queue)?.close();
    this.#subs.delete(queue);
    if (this.setup.deferCleanup) {
      this.#deferred.push(queue);
      return;
    }
    await this.client.adapter.deleteQueue?.(queue).catch(() => {});
  }

  readonly #deferred: string[] = [];
  /** The claim check's store directory, if any. */
  #blobs: string | undefined;

  async close(): Promise<void> {
    for (const queue of this.#deferred) await this.client.adapter.deleteQueue?.(queue).catch(() => {});
    await this.#client?.close();
    if (this.#blobs !== undefined) await rm(this.#blobs, { recursive: true, force: true });
  }
}
