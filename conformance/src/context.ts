import { randomBytes, randomUUID } from "node:crypto";
import {
  type Adapter,
  type Client,
  type ClientOptions,
  type ConsumerHandle,
  createClient,
  type Features,
  type OutboundMessage,
  type Source,
  silentLogger,
} from "@omnibus/core";
import { ConformanceFailure, fail, settlesWithin } from "./assert.js";
import type {
  AdapterCaseContext,
  CaseContext,
  ClientCaseContext,
  Received,
  Recorder,
  RecorderOptions,
} from "./case.js";
import type { ResolvedConformanceOptions } from "./options.js";

/** How long one cleanup step (closing an adapter, a client, a handle) may take. */
const CLEANUP_MS = 15_000;

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The shared part of a case's context, plus the cleanup it accumulates. */
class BaseContext implements CaseContext {
  readonly options: ResolvedConformanceOptions;
  readonly features: Features;
  readonly notes: string[] = [];
  readonly #cleanups: { what: string; fn: () => unknown }[] = [];
  readonly #run = randomBytes(4).toString("hex");
  #names = 0;

  constructor(options: ResolvedConformanceOptions, features: Features) {
    this.options = options;
    this.features = features;
  }

  t(ms: number): number {
    return Math.round(ms * this.options.timeScale);
  }

  name(label: string): string {
    return `conf-${label}-${this.#run}${this.#names++ === 0 ? "" : `-${this.#names}`}`;
  }

  async waitUntil<T>(
    condition: () => T | Promise<T>,
    ms: number,
    describe: () => string,
  ): Promise<NonNullable<T>> {
    const deadline = Date.now() + this.t(ms);
    for (;;) {
      const value = await condition();
      if (value) return value as NonNullable<T>;
      if (Date.now() >= deadline) fail(`${describe()} (waited ${this.t(ms)} ms)`);
      await delay(5);
    }
  }

  observe(ms: number): Promise<void> {
    return delay(this.t(ms));
  }

  defer(cleanup: () => unknown, what = "cleanup"): void {
    this.#cleanups.push({ what, fn: cleanup });
  }

  note(text: string): void {
    this.notes.push(text);
  }

  bounded<T>(promise: Promise<T>, what: string): Promise<T> {
    return settlesWithin(promise, this.t(15_000), what);
  }

  /** Run every cleanup, last first; returns the problems (a rejection, a hang). */
  async cleanup(): Promise<string[]> {
    const problems: string[] = [];
    for (const { what, fn } of this.#cleanups.splice(0).reverse()) {
      let timer: NodeJS.Timeout | undefined;
      const result = await Promise.race([
        Promise.resolve()
          .then(fn)
          .then(
            () => undefined,
            (error: unknown) => `${what} rejected: ${(error as Error)?.message ?? String(error)}`,
          ),
        new Promise<string>((resolve) => {
          timer = setTimeout(() => resolve(`${what} did not settle within ${CLEANUP_MS} ms`), CLEANUP_MS);
        }),
      ]);
      clearTimeout(timer);
      if (result) problems.push(result);
    }
    return problems;
  }
}

class RecordingConsumer implements Recorder {
  handle!: ConsumerHandle;
  readonly received: Received[] = [];
  readonly errors: Error[] = [];
  unsettled = 0;
  maxUnsettled = 0;

  ids(): string[] {
    return this.received.map((r) => r.message.id);
  }

  of(id: string): Received[] {
    return this.received.filter((r) => r.message.id === id);
  }

  record(received: Received): void {
    this.received.push(received);
    this.unsettled++;
    if (this.unsettled > this.maxUnsettled) this.maxUnsettled = this.unsettled;
  }

  #mark(received: Received, how: "ack" | "nack"): void {
    if (received.settled === undefined) this.unsettled--;
    received.settled ??= how;
  }

  ack(received: Received): Promise<void> {
    this.#mark(received, "ack");
    return received.delivery.ack();
  }

  nack(received: Received, delayMs?: number): Promise<void> {
    this.#mark(received, "nack");
    return received.delivery.nack(delayMs === undefined ? undefined : { delayMs });
  }

  waitForCount!: (n: number, ms: number, what: string) => Promise<void>;
}

/** The context of an adapter-tier case. */
export class AdapterContext extends BaseContext implements AdapterCaseContext {
  #count = 0;

  fresh(): Adapter {
    const adapter = this.options.adapter();
    this.defer(() => adapter.close(), "closing an adapter");
    return adapter;
  }

  async connect(): Promise<Adapter> {
    const adapter = this.fresh();
    await adapter.connect();
    return adapter;
  }

  async consume(adapter: Adapter, source: Source, options: RecorderOptions = {}): Promise<Recorder> {
    const recorder = new RecordingConsumer();
    recorder.waitForCount = (n, ms, what) =>
      this.waitUntil(
        () => recorder.received.length >= n,
        ms,
        () => `${what}: expected ${n} deliveries, got ${recorder.received.length}`,
      ).then(() => undefined);
    recorder.handle = await adapter.consume(source, {
      prefetch: options.prefetch ?? 100,
      onDelivery: (delivery) => {
        const received: Received = {
          delivery,
          message: delivery.message,
          at: Date.now(),
          settled: undefined,
        };
        recorder.record(received);
        if (options.autoAck) void recorder.ack(received).catch((error) => recorder.errors.push(error));
        options.onReceived?.(received);
      },
      onError: (error) => {
        recorder.errors.push(error);
      },
    });
    const handle = recorder.handle;
    this.defer(async () => {
      await handle.stop();
      await handle.close();
    }, "closing a consumer");
    return recorder;
  }

  message(overrides: Partial<OutboundMessage> = {}): OutboundMessage {
    const n = this.#count++;
    return {
      id: randomUUID(),
      body: new TextEncoder().encode(`m-${n}`),
      headers: {},
      timestamp: Date.now(),
      ...overrides,
    };
  }

  messages(n: number, overrides: (i: number) => Partial<OutboundMessage> = () => ({})): OutboundMessage[] {
    return Array.from({ length: n }, (_, i) => this.message(overrides(i)));
  }
}

/** Retry policy of client-tier cases: fast, no jitter, so that delays are predictable. */
export const FAST_RETRY = { initialDelayMs: 20, multiplier: 2, maxDelayMs: 200, jitter: 0 } as const;

/** The context of a client-tier case. */
export class ClientContext extends BaseContext implements ClientCaseContext {
  fresh(): Adapter {
    const adapter = this.options.adapter();
    this.defer(() => adapter.close(), "closing an adapter");
    return adapter;
  }

  async client(overrides: ClientOptions = {}): Promise<Client> {
    const client = createClient({
      adapter: overrides.adapter ?? this.options.adapter(),
      logger: silentLogger,
      retry: FAST_RETRY,
      closeTimeoutMs: this.t(10_000),
      ...overrides,
    });
    this.defer(() => client.close(), "closing a client");
    await client.connect();
    return client;
  }
}

/** True if `error` is a failed assertion of a case (not a crash of the case's own code). */
export function isFailure(error: unknown): error is ConformanceFailure {
  return error instanceof ConformanceFailure;
}
