import type {
  Adapter,
  Client,
  ClientOptions,
  ConsumerHandle,
  Delivery,
  Features,
  InboundMessage,
  OutboundMessage,
  Source,
} from "@omnibus/core";
import type { ConformanceOptions, ResolvedConformanceOptions } from "./options.js";

/**
 * The two tiers: `adapter` cases drive the SPI (`Adapter`) directly, without core, and prove one
 * obligation of `spi.ts` each; `client` cases drive `createClient` on the adapter and prove what
 * an application sees.
 */
export type Tier = "adapter" | "client";

/** What a case can read to decide whether it applies. */
export interface CaseEnv {
  readonly features: Features;
  readonly options: ResolvedConformanceOptions;
}

/** One conformance case: one obligation, named, gated by what the adapter declares. */
export interface Case<C extends CaseContext = CaseContext> {
  /** Stable id, `<tier>/<slug>`: what reports, filters and the fault scorer name. */
  readonly id: string;
  readonly tier: Tier;
  /** The obligation in one sentence, as a user would notice it. */
  readonly title: string;
  /**
   * Why the case does not apply (a feature not declared, an option not given), or `undefined`
   * when it does. A declared feature is always tested.
   */
  skip?(env: CaseEnv): string | undefined;
  /** The whole case's deadline before `timeScale`; the case's own waits are shorter. */
  readonly timeoutMs: number | ((env: CaseEnv) => number);
  /**
   * The case must run alone (it restarts the broker or cuts every connection, which would fail
   * the cases beside it): with {@link ConformanceOptions.concurrency} above 1 it starts once the
   * cases before it finished, and the cases after it wait for it.
   */
  readonly exclusive?: boolean;
  /** The case itself: resolves when the obligation holds, throws a `ConformanceFailure` when not. */
  run(ctx: C): Promise<void>;
}

/** Shared by both tiers. */
export interface CaseContext {
  readonly options: ResolvedConformanceOptions;
  readonly features: Features;
  /** Scale a duration by `timeScale`. */
  t(ms: number): number;
  /** A destination name unique to this case run: `conf-<label>-<random>`. */
  name(label: string): string;
  /**
   * Resolve once `condition()` is truthy (polling every few ms); after `ms` (scaled) fail the case
   * with `describe()`, which says what was expected and what came.
   */
  waitUntil<T>(condition: () => T | Promise<T>, ms: number, describe: () => string): Promise<NonNullable<T>>;
  /** Let `ms` (scaled) pass. Only for windows in which something must NOT happen. */
  observe(ms: number): Promise<void>;
  /** Run `cleanup` when the case ends, pass or fail (last registered first); `what` names it in a report. */
  defer(cleanup: () => unknown, what?: string): void;
  /** A line for the verbose report (figures the case measured). */
  note(text: string): void;
  /**
   * Await a lifecycle call (`close()`, `stop()`) of the adapter under test, failing the case with
   * `what` if it does not settle within 15 s (scaled): no call may wait without bound.
   */
  bounded<T>(promise: Promise<T>, what: string): Promise<T>;
}

/** A delivery as an adapter-tier consumer recorded it. */
export interface Received {
  readonly delivery: Delivery;
  readonly message: InboundMessage;
  /** `Date.now()` when `onDelivery` was called. */
  readonly at: number;
  /** How it was settled through the recorder, if it was. */
  settled: "ack" | "nack" | undefined;
}

/** A consumer started by an adapter-tier case: it records every delivery. */
export interface Recorder {
  readonly handle: ConsumerHandle;
  readonly received: readonly Received[];
  /** Errors the adapter reported through `onError`. */
  readonly errors: readonly Error[];
  /** Deliveries received and not settled through the recorder. */
  readonly unsettled: number;
  /** The most deliveries that were ever unsettled at once. */
  readonly maxUnsettled: number;
  /** Ids received, in order (with repeats). */
  ids(): string[];
  /** The deliveries of one id, in order. */
  of(id: string): Received[];
  /** Ack a delivery through the adapter's `ack`. */
  ack(received: Received): Promise<void>;
  /** Nack a delivery through the adapter's `nack`, for redelivery after `delayMs`. */
  nack(received: Received, delayMs?: number): Promise<void>;
  /** Wait until at least `n` deliveries were recorded. */
  waitForCount(n: number, ms: number, what: string): Promise<void>;
}

/** Options of {@link AdapterCaseContext.consume}. */
export interface RecorderOptions {
  /** @default 100 */
  prefetch?: number;
  /** Ack every delivery as it arrives. @default false */
  autoAck?: boolean;
  /** Called after a delivery was recorded. */
  onReceived?: (received: Received) => void;
}

/** What an adapter-tier case works with. */
export interface AdapterCaseContext extends CaseContext {
  /** A new adapter from the options' factory, connected; closed when the case ends. */
  connect(): Promise<Adapter>;
  /** A new adapter, not connected; closed when the case ends. */
  fresh(): Adapter;
  /** Start a recording consumer on `adapter`. Its handle is closed when the case ends. */
  consume(adapter: Adapter, source: Source, options?: RecorderOptions): Promise<Recorder>;
  /** An outbound message with a fresh unique id, body "m-<n>" and the current time. */
  message(overrides?: Partial<OutboundMessage>): OutboundMessage;
  /** `n` outbound messages, `overrides(i)` for each. */
  messages(n: number, overrides?: (i: number) => Partial<OutboundMessage>): OutboundMessage[];
}

/** What a client-tier case works with. */
export interface ClientCaseContext extends CaseContext {
  /**
   * A connected client on a new adapter, with a silent logger, a fast retry policy (20 ms
   * doubling to 200 ms, no jitter) and `closeTimeoutMs` 10 s scaled; `overrides` replace any of
   * them. Closed when the case ends.
   */
  client(overrides?: ClientOptions): Promise<Client>;
  /** A new adapter, not connected; closed when the case ends. */
  fresh(): Adapter;
}

/** Define an adapter-tier case. */
export function adapterCase(definition: Omit<Case<AdapterCaseContext>, "tier">): Case<AdapterCaseContext> {
  return { ...definition, tier: "adapter" };
}

/** Define a client-tier case. */
export function clientCase(definition: Omit<Case<ClientCaseContext>, "tier">): Case<ClientCaseContext> {
  return { ...definition, tier: "client" };
}
