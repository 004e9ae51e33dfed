import { randomBytes, randomUUID } from "node:crypto";
import { appendFileSync } from "node:fs";
import {
  type Adapter,
  type Address,
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

/** What the adapters of one case run touched. */
class Created {
  readonly queues = new Set<string>();
  /** Topics, with the groups used on each. */
  readonly topics = new Map<string, Set<string>>();

  topic(name: string, group?: string): void {
    let groups = this.topics.get(name);
    if (!groups) this.topics.set(name, (groups = new Set()));
    if (group !== undefined) groups.add(group);
  }
}

/**
 * A view of `adapter` that records what it sends to, consumes and ensures into `created`.
 * Everything else is the adapter's own (bound to it, so private fields keep working), and the
 * optional methods it lacks stay absent.
 */
function tracking(adapter: Adapter, created: Created): Adapter {
  return new Proxy(adapter, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== "function") return value;
      const call = value as (...args: unknown[]) => unknown;
      if (prop === "send") {
        return (address: Address, messages: unknown) => {
          if (address?.kind === "queue") created.queues.add(address.name);
          else if (address?.kind === "topic") created.topic(address.name);
          return call.call(target, address, messages);
        };
      }
      if (prop === "consume") {
        return (source: Source, options: unknown) => {
          if (source?.kind === "queue") created.queues.add(source.name);
          else if (source?.kind === "topic") created.topic(source.name, source.group);
          return call.call(target, source, options);
        };
      }
      if (prop === "ensureGroup") {
        return (topic: string, group: string) => {
          created.topic(topic, group);
          return call.call(target, topic, group);
        };
      }
      return call.bind(target);
    },
  });
}

/** How long removing what a case created may take before the rest is left behind. */
const REMOVE_MS = 30_000;

/**
 * Delete what a case created with the adapter's optional delete calls, on an adapter of its own
 * (the case's are closed). Best effort: what cannot be deleted is left, and said in a note
 * (returned), never a failure of the case.
 */
async function removeCreated(
  options: ResolvedConformanceOptions,
  created: Created,
): Promise<string | undefined> {
  if (created.queues.size === 0 && created.topics.size === 0) return undefined;
  const adapter = options.adapter();
  const problems: string[] = [];
  const attempt = async (what: string, call: (() => Promise<void>) | undefined) => {
    if (!call) return;
    await call().catch((error: unknown) =>
      problems.push(`${what}: ${(error as Error)?.message ?? String(error)}`),
    );
  };
  const work = (async () => {
    await adapter.connect();
    for (const [topic, groups] of created.topics) {
      if (adapter.deleteTopic) await attempt(`topic ${topic}`, () => adapter.deleteTopic!(topic));
      else if (adapter.deleteGroup)
        for (const group of groups)
          await attempt(`group ${group} of ${topic}`, () => adapter.deleteGroup!(topic, group));
    }
    if (adapter.deleteQueue)
      for (const queue of created.queues) await attempt(`queue ${queue}`, () => adapter.deleteQueue!(queue));
  })().catch((error: unknown) => problems.push((error as Error)?.message ?? String(error)));
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      problems.push(`not done within ${REMOVE_MS} ms`);
      resolve();
    }, REMOVE_MS);
  });
  await Promise.race([work, late]);
  clearTimeout(timer);
  await Promise.race([adapter.close().catch(() => {}), delay(CLEANUP_MS)]);
  return problems.length === 0 ? undefined : `left behind after the case: ${problems.slice(0, 5).join("; ")}`;
}

/** The shared part of a case's context, plus the cleanup it accumulates. */
class BaseContext implements CaseContext {
  readonly options: ResolvedConformanceOptions;
  readonly features: Features;
  readonly notes: string[] = [];
  readonly #cleanups: { what: string; fn: () => unknown }[] = [];
  readonly #run = randomBytes(4).toString("hex");
  #names = 0;

  /** Destinations the case's adapters sent to, consumed or ensured: removed when it ends. */
  readonly #created = new Created();

  constructor(options: ResolvedConformanceOptions, features: Features) {
    this.options = options;
    this.features = features;
  }

  /** `adapter`, recording every destination it touches for {@link BaseContext.cleanup}. */
  protected track(adapter: Adapter): Adapter {
    return tracking(adapter, this.#created);
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
    const left = await removeCreated(this.options, this.#created);
    if (left) this.note(left);
    // For `scripts/leftovers.mjs --runs`: every name of this case run contains its token.
    const runs = process.env.OMNIBUS_CONFORMANCE_RUNS_FILE;
    if (runs && this.#names > 0) {
      try {
        const c = this.#created;
        const groups = [...c.topics.values()].reduce((n, g) => n + g.size, 0);
        appendFileSync(
          runs,
          `${this.#run} queues=${c.queues.size} topics=${c.topics.size} groups=${groups}\n`,
        );
      } catch {
        // only a report's input
      }
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
    const adapter = this.track(this.options.adapter());
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
    const adapter = this.track(this.options.adapter());
    this.defer(() => adapter.close(), "closing an adapter");
    return adapter;
  }

  async client(overrides: ClientOptions = {}): Promise<Client> {
    const client = createClient({
      adapter: this.track(overrides.adapter ?? this.options.adapter()),
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
