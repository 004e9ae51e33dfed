import {
  ConfigError,
  type ConsumeOptions,
  type ConsumerHandle,
  type Delivery,
  type InboundMessage,
  type OutboundMessage,
} from "@omnibus/core";
import {
  type Admin,
  type Consumer,
  type ConsumerRunConfig,
  type EachBatchPayload,
  type Kafka,
  type KafkaMessage,
  PartitionAssigners,
} from "kafkajs";
import { type MemberReport, omnibusAssigner } from "./assigner.js";
import { type DecodedRecord, fromRecord, type RecordExtras } from "./codec.js";
import { connectionError, isPermanent } from "./errors.js";
import { Ledger, MAX_SETTLED_RANGES, maxSteps, parseHistory, type Range, unionRanges } from "./ledger.js";
import { Membership } from "./membership.js";
import type { ResolvedKafkaOptions } from "./options.js";
import { captureCluster } from "./targets.js";
import { type Entry, PartitionTracker } from "./tracker.js";

/** What the adapter gives a consumer. */
export interface ConsumerContext {
  readonly kafka: Kafka;
  readonly admin: Admin;
  readonly options: ResolvedKafkaOptions;
  /**
   * Produce one message (a nack's copy) and resolve when the broker has it; to `partition` if
   * given, else where the partitioner puts it.
   */
  republish(topic: string, message: OutboundMessage, extras: RecordExtras, partition?: number): Promise<void>;
  /** Called once the consumer closed. */
  closed(consumer: KafkaConsumer): void;
}

/** How a source maps onto Kafka. */
export interface ConsumerPlan {
  readonly groupId: string;
  /** The topic messages are sent to. */
  readonly mainTopic: string;
  /** Where nacked messages go: the main topic for a queue, the group's retry topic otherwise. */
  readonly retryTopic: string;
  /** Where a partition of the main topic without a committed offset starts. */
  readonly fromBeginning: boolean;
  /**
   * Start offsets for main-topic partitions the group has no committed offset for yet (a new
   * group starts at the end as it was when the consumer was started). Committed at start.
   */
  readonly initialOffsets?: Map<number, number> | undefined;
  /** Never deliver (used to create a group's offsets for `ensureGroup`). */
  readonly passive?: boolean;
  /** Runs after the consumer left the group (ephemeral queues delete themselves). */
  readonly onClosed?: (() => Promise<void>) | undefined;
}

/** What `InboundMessage.native` holds for this adapter. */
export interface KafkaNativeMessage {
  readonly topic: string;
  readonly partition: number;
  readonly message: KafkaMessage;
}

interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  readonly tracker: PartitionTracker;
  readonly ledger: Ledger;
  /** The partition was revoked (or the member replaced): settling its entries commits nothing. */
  stale: boolean;
  /** Records of it delivered and not settled. */
  inflight: number;
  committedOffset: number | undefined;
  committedMeta: string | null;
}

/** A fetched record held until its due time. */
interface Held {
  readonly state: PartitionState;
  readonly entry: Entry;
  readonly record: DecodedRecord;
  readonly native: KafkaMessage;
  timer: ReturnType<typeof setTimeout> | undefined;
}

const MAX_TIMER_MS = 2 ** 31 - 1;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)).unref?.());

/**
 * Offsets above the commit point that need not be delivered again: settled here, or settled by
 * an earlier owner and not fetched by this one yet.
 */
function settledAbove(state: PartitionState): Range[] {
  const here = state.tracker.settledRanges(MAX_SETTLED_RANGES);
  const last = state.tracker.last;
  const earlier = state.ledger.settledEarlier;
  if (earlier.length === 0) return here;
  const unfetched: Range[] = [];
  for (const [first, end] of earlier) {
    if (last !== undefined && end <= last) continue;
    unfetched.push([last === undefined ? first : Math.max(first, last + 1), end]);
  }
  return unfetched.length === 0 ? here : unionRanges(here, unfetched);
}
const RESOLVED = Promise.resolve();
const key = (topic: string, partition: number) => `${partition}|${topic}`;

/** Longest a consumer holds one delayed record; a later due time is reached in hops (see `hop`). */
const holdLimit = (maxDelayMs: number) => Math.max(maxDelayMs, 1000);

class KafkaDelivery implements Delivery {
  private finished = false;

  constructor(
    private readonly owner: KafkaConsumer,
    readonly message: InboundMessage,
    readonly state: PartitionState,
    readonly entry: Entry,
    /** The record as fetched: its body is the bytes sent, whatever a handler does to `message.body`. */
    readonly record: DecodedRecord,
  ) {}

  /**
   * True once the partition was revoked, the consumer's group membership (session, generation)
   * is gone or the consumer closed: settling it changes nothing, the record is fetched and
   * delivered again (here or by another member). Core then skips it if no handler started it.
   */
  get stale(): boolean {
    if (!this.state.stale) this.owner.checkSession();
    return this.state.stale;
  }

  ack(): Promise<void> {
    if (this.finished) return RESOLVED;
    this.finished = true;
    this.owner.settle(this.state, this.entry);
    return RESOLVED;
  }

  nack(options?: { delayMs?: number }): Promise<void> {
    if (this.finished) return RESOLVED;
    const delayMs = options?.delayMs ?? 0;
    if (typeof delayMs !== "number" || Number.isNaN(delayMs) || delayMs > Number.MAX_SAFE_INTEGER) {
      return Promise.reject(
        new ConfigError(`kafka: nack delayMs must be a finite number, got ${String(delayMs)}`),
      );
    }
    this.finished = true;
    return this.owner.nack(this, Math.max(0, delayMs));
  }
}

/** How often a consumer stopped on an error that may pass is started again. */
const RESTART_MS = 250;

/**
 * One kafkajs consumer in one consumer group, adapted to the SPI.
 *
 * - Records are handed to core in partition order, never more than `prefetch` unsettled; when
 *   the limit is reached the batch handler waits (heartbeating) instead of fetching more.
 * - Offsets are committed every `commitIntervalMs`, per partition up to the lowest unsettled
 *   record, with the delivery history (see ledger.ts) as commit metadata.
 * - Records with a due time in the future are held in memory (bounded by `maxScheduled`) and
 *   delivered when due, so a delayed record does not hold up the records behind it.
 * - On a rebalance, partitions this member keeps continue where they were; revoked ones become
 *   stale: their unsettled records are delivered again by the new owner.
 */
export class KafkaConsumer implements ConsumerHandle {
  private consumer!: Consumer;
  private readonly states = new Map<string, PartitionState>();
  private inflight = 0;
  private readonly held = new Set<Held>();
  /** Timers writing failed nack copies again (see rewrite). */
  private readonly rewrites = new Set<ReturnType<typeof setTimeout>>();
  private ready: Held[] = [];
  private readonly pausedForHeld = new Map<string, { topic: string; partition: number }>();
  private capacity: { promise: Promise<void>; resolve: () => void } | undefined;
  private memberId: string | undefined;
  /** The partitions of the current assignment, per topic. */
  private assignment: Record<string, number[]> = {};
  private readonly committed = new Map<string, Promise<Map<number, string | null>>>();
  private commitTimer: ReturnType<typeof setInterval> | undefined;
  private committing: Promise<void> | undefined;
  private commitAgain = false;
  private stopped: boolean;
  /** Set once `close` committed for the last time: settling changes nothing any more. */
  private finished = false;
  /** Copies being written (nacks, hops): `close` waits for them. */
  private readonly pending = new Set<Promise<unknown>>();
  private starting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  /** The member id, kept across kafkajs restarts (see membership.ts). */
  private readonly membership = new Membership();
  /**
   * When the coordinator last confirmed this member (a heartbeat or a join); undefined while it
   * has not joined, or once its session is taken for lost.
   */
  private aliveAt: number | undefined;
  /** Offset commits kafkajs confirmed (its COMMIT_OFFSETS events). */
  private commitsConfirmed = 0;
  /** Assignments received so far. */
  private joins = 0;
  private restartTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly runConfig: ConsumerRunConfig;
  private readonly topics: string[];
  private readonly initialOffsets: Map<number, number> | undefined;

  constructor(
    private readonly ctx: ConsumerContext,
    private readonly plan: ConsumerPlan,
    private readonly options: ConsumeOptions,
  ) {
    this.stopped = plan.passive === true;
    this.topics = plan.retryTopic === plan.mainTopic ? [plan.mainTopic] : [plan.mainTopic, plan.retryTopic];
    this.initialOffsets = plan.initialOffsets === undefined ? undefined : new Map(plan.initialOffsets);
    this.runConfig = {
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: Math.min(16, this.topics.length * ctx.options.partitions),
      eachBatch: (payload) => this.eachBatch(payload),
    };
  }

  /**
   * Start the kafkajs consumer again after it stopped for good on an error that may pass (a group
   * coordinator not found while the broker restarts), every {@link RESTART_MS} until it runs. Not
   * backed off further: a group rebalances only once every member rejoined (or the rebalance
   * timeout passed), so one member waiting out a longer backoff held the whole group back after
   * the broker was back (chaos restart: the other member connected at once and joined 1.8 s
   * later, with this one; first delivery 5-6 s after the restore).
   */
  private restartLater(delayMs = RESTART_MS): void {
    if (this.restartTimer !== undefined || this.closing !== undefined) return;
    this.restartTimer = setTimeout(async () => {
      this.restartTimer = undefined;
      if (this.closing !== undefined) return;
      try {
        await this.consumer.connect();
        if (this.closing === undefined) await this.consumer.run(this.runConfig);
      } catch {
        this.restartLater();
      }
    }, delayMs);
    this.restartTimer.unref?.();
  }

  /** Join the group and start fetching; resolves once this member has its first assignment. */
  start(): Promise<void> {
    this.starting ??= this.run();
    return this.starting;
  }

  private async run(): Promise<void> {
    const o = this.ctx.options;
    const { client: consumer, cluster } = captureCluster(this.ctx.kafka, () =>
      this.ctx.kafka.consumer({
        groupId: this.plan.groupId,
        sessionTimeout: o.sessionTimeoutMs,
        rebalanceTimeout: o.rebalanceTimeoutMs,
        heartbeatInterval: o.heartbeatIntervalMs,
        // A passive member only commits and leaves: short polls make its disconnect quick.
        maxWaitTimeInMs: this.plan.passive === true ? 50 : o.maxWaitTimeMs,
        allowAutoTopicCreation: false,
        // Busy partitions stay with their member; round-robin for groups with older members.
        partitionAssigners: [omnibusAssigner(() => this.report()), PartitionAssigners.roundRobin],
        // The fetch loop retries a failed fetch (a lost connection) for as long as it takes;
        // after an error it does not retry (kafkajs gave up on a request), kafkajs starts the
        // consumer again at once, except while it closes.
        retry: {
          retries: Number.MAX_SAFE_INTEGER,
          initialRetryTime: 100,
          maxRetryTime: 500,
          restartOnFailure: async () => this.closing === undefined,
        },
      }),
    );
    // A restarted kafkajs consumer rejoins its group as the member it was (see membership.ts).
    this.membership.install(cluster);
    this.consumer = consumer;
    consumer.on(consumer.events.HEARTBEAT, () => {
      if (this.memberId !== undefined) this.aliveAt = Date.now();
    });
    consumer.on(consumer.events.COMMIT_OFFSETS, () => {
      this.commitsConfirmed++;
    });
    consumer.on(consumer.events.REBALANCING, () => {
      // Partitions may move: commit what was settled while this generation still accepts it, so
      // that the next owner does not deliver it again.
      this.commit().catch(() => {});
    });
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      this.aliveAt = Date.now();
      this.joins++;
      this.onJoin(event.payload.memberId, event.payload.memberAssignment);
    });
    consumer.on(consumer.events.CRASH, (event) => {
      if (event.payload.restart || this.closing !== undefined) return;
      // kafkajs gives up on errors it does not retry, some of which pass (a coordinator not found
      // while the broker restarts): the consumer is started again, unless nothing will mend it.
      if (isPermanent(event.payload.error) || this.joins === 0) {
        this.options.onError(connectionError(event.payload.error, `consumer of ${this.plan.groupId} failed`));
      } else {
        this.restartLater();
      }
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [this.plan.mainTopic], fromBeginning: this.plan.fromBeginning });
      if (this.topics.length > 1)
        await consumer.subscribe({ topics: [this.plan.retryTopic], fromBeginning: true });
      await consumer.run(this.runConfig);
    } catch (error) {
      await consumer.disconnect().catch(() => {});
      throw connectionError(error, `cannot start consumer of ${this.plan.groupId}`);
    }
    // A new group's start offsets are committed before the consumer counts as started.
    if (this.initialOffsets !== undefined && this.states.size > 0) await this.commit();
    this.commitTimer = setInterval(() => {
      this.checkSession();
      this.commit().catch(() => {});
    }, o.commitIntervalMs);
    this.commitTimer.unref?.();
  }

  async stop(): Promise<void> {
    if (this.stopped && this.held.size === 0 && this.ready.length === 0) {
      this.pauseAll();
      return;
    }
    this.stopped = true;
    // Held records were never handed out: dropping them leaves them uncommitted, so the broker
    // delivers them again to whoever consumes the partition next.
    for (const h of this.held) clearTimeout(h.timer);
    this.held.clear();
    for (const timer of this.rewrites) clearTimeout(timer);
    this.rewrites.clear();
    this.ready = [];
    this.signal();
    this.pauseAll();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      // A close during start waits for the join, so that the kafkajs consumer is really stopped.
      await this.starting?.catch(() => {});
      await this.stop();
      if (this.commitTimer !== undefined) clearInterval(this.commitTimer);
      if (this.restartTimer !== undefined) clearTimeout(this.restartTimer);
      // Nacks and hops in progress settle their originals once their copies are written.
      const deadline = Date.now() + 10_000;
      while (this.pending.size > 0 && Date.now() < deadline) {
        await Promise.race([Promise.allSettled([...this.pending]), sleep(deadline - Date.now())]);
      }
      this.finished = true;
      // Bounded: kafkajs retries a commit as long as the broker is out of reach (its consumer
      // retries without limit); it stops once the consumer disconnects.
      await Promise.race([this.commit().catch(() => {}), sleep(5_000)]);
      // From here on nothing this consumer settles is committed: the next owner delivers every
      // unsettled record again, so a late nack must not write a copy of its own.
      for (const state of this.states.values()) state.stale = true;
      await this.consumer.disconnect().catch(() => {});
      this.ctx.closed(this);
      await this.plan.onClosed?.();
    })();
    return this.closing;
  }

  /**
   * A partition of the retry topic that a stopped member gives up at the next rebalance (it has
   * no deliveries of it but `nacked`), for the copy of a keyless message nacked after stop():
   * written where the stopped member keeps a partition, the copy would wait for its close.
   * Undefined if there is none (the partitioner decides).
   */
  private releasable(nacked: PartitionState): number | undefined {
    const topic = this.plan.retryTopic;
    let best: number | undefined;
    for (const p of this.assignment[topic] ?? []) {
      const state = this.states.get(key(topic, p));
      const busy = state === undefined || state.stale ? 0 : state.inflight - (state === nacked ? 1 : 0);
      if (busy > 0) continue;
      if (state === nacked) return p;
      best ??= p;
    }
    return best;
  }

  /** What this member tells the group leader at a join (see assigner.ts). */
  private report(): MemberReport {
    const busy: Record<string, Record<string, number>> = {};
    const owned: Record<string, number[]> = {};
    for (const state of this.states.values()) {
      if (state.stale) continue;
      (owned[state.topic] ??= []).push(state.partition);
      if (state.inflight > 0) (busy[state.topic] ??= {})[String(state.partition)] = state.inflight;
    }
    return { busy, owned, stopped: this.stopped || this.closing !== undefined };
  }

  /** Keep track of a copy being written. */
  private track<T>(operation: Promise<T>): Promise<T> {
    this.pending.add(operation);
    void operation.then(
      () => this.pending.delete(operation),
      () => this.pending.delete(operation),
    );
    return operation;
  }

  /** Settle a delivery: free its prefetch slot and let the commit point move past it. */
  settle(state: PartitionState, entry: Entry): void {
    this.free(state, entry);
    if (!state.stale) state.tracker.settle(entry);
    this.release();
  }

  /** Free a delivery's prefetch slot without settling it (it comes back to the next owner). */
  private free(state: PartitionState, entry: Entry): void {
    if (!entry.delivered) return;
    entry.delivered = false;
    this.inflight--;
    state.inflight--;
  }

  nack(delivery: KafkaDelivery, delayMs: number): Promise<void> {
    const { state, entry, message, record } = delivery;
    if (state.stale || this.finished) {
      // The partition moved on, or this consumer closed: the next owner delivers the record
      // again anyway, a copy would be a duplicate.
      this.free(state, entry);
      this.release();
      return RESOLVED;
    }
    const copy: OutboundMessage = {
      id: message.id,
      body: record.body,
      headers: record.headers,
      key: message.key,
      correlationId: message.correlationId,
      replyTo: message.replyTo,
      timestamp: message.timestamp,
    };
    // Any delay is honoured: a consumer holds a record at most maxDelayMs, then writes it again
    // (see hop), so a long delay never makes the message come back early.
    const dueAt = delayMs > 0 ? Date.now() + delayMs : undefined;
    const partition = this.stopped && message.key === undefined ? this.releasable(state) : undefined;
    const extras = { attempt: message.attempt + 1, dueAt };
    return this.track(
      this.ctx.republish(this.plan.retryTopic, copy, extras, partition).then(
        () => this.settle(state, entry),
        (error: unknown) => {
          // Not written: the record stays unsettled (the commit point holds before it) and its
          // prefetch slot is freed so the consumer keeps going; the copy is written again until
          // it is, then the record settles (see rewrite). The nack itself reports the failure.
          this.free(state, entry);
          this.release();
          this.rewrite(state, entry, copy, extras);
          throw error;
        },
      ),
    );
  }

  /**
   * Write a failed nack's copy again every second while this member owns the record's partition,
   * then settle the record: a copy that failed once must not hold the partition's commit point
   * (and the message) until the next rebalance. Once the member stopped or lost the partition, the
   * record is left unsettled: the next owner delivers it again.
   */
  private rewrite(state: PartitionState, entry: Entry, copy: OutboundMessage, extras: RecordExtras): void {
    const timer = setTimeout(() => {
      this.rewrites.delete(timer);
      if (this.stopped || state.stale || this.finished) return;
      this.track(this.ctx.republish(this.plan.retryTopic, copy, extras)).then(
        () => this.settle(state, entry),
        () => this.rewrite(state, entry, copy, extras),
      );
    }, 1000);
    this.rewrites.add(timer);
  }

  // --- fetching ----------------------------------------------------------------------------

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (this.stopped) {
      payload.pause();
      return;
    }
    if (this.aliveAt === undefined && this.joins > 0) {
      // The session was taken for lost (see checkSession): nothing is delivered before the
      // coordinator confirms the member. If it does not know it any more, this throws and kafkajs
      // joins again; the records are fetched again then.
      await payload.heartbeat();
      if (this.aliveAt === undefined) return;
    }
    const state = await this.stateFor(batch.topic, batch.partition);
    if (this.stopped || !payload.isRunning() || payload.isStale()) return;
    // The fetch position moves past every record tracked (handed out or held). kafkajs reads it
    // only when this handler returns, so it is set once per run rather than per record.
    let resolved: string | undefined;
    try {
      for (const native of batch.messages) {
        if (this.stopped || state.stale) return;
        const offset = Number(native.offset);
        const last = state.tracker.last;
        if (last !== undefined && offset <= last) continue;
        if (state.ledger.wasSettled(offset)) {
          // Settled by the previous owner above its commit point: not delivered again.
          state.tracker.settle(state.tracker.track(offset));
          resolved = native.offset;
          continue;
        }
        const record = fromRecord(batch.topic, batch.partition, native);
        if (record.dueAt !== undefined && record.dueAt > Date.now()) {
          if (this.held.size >= this.ctx.options.maxScheduled) {
            this.pausedForHeld.set(key(batch.topic, batch.partition), {
              topic: batch.topic,
              partition: batch.partition,
            });
            payload.pause();
            return;
          }
          const entry = state.tracker.track(offset);
          resolved = native.offset;
          this.hold({ state, entry, record, native, timer: undefined });
          continue;
        }
        // Checked again after every wait: other batch handlers may have taken the freed slots.
        while (this.inflight >= this.options.prefetch || this.ready.length > 0) {
          if (resolved !== undefined) payload.resolveOffset(resolved);
          resolved = undefined;
          if (!(await this.waitForCapacity(payload)) || state.stale || this.stopped) return;
        }
        const entry = state.tracker.track(offset);
        resolved = native.offset;
        this.deliver(state, entry, record, native);
      }
    } finally {
      if (resolved !== undefined) payload.resolveOffset(resolved);
    }
  }

  /** Wait until a prefetch slot is free, heartbeating meanwhile. False if the batch should end. */
  private async waitForCapacity(payload: EachBatchPayload): Promise<boolean> {
    const interval = this.ctx.options.heartbeatIntervalMs;
    while (this.inflight >= this.options.prefetch || this.ready.length > 0) {
      if (this.stopped || !payload.isRunning() || payload.isStale()) return false;
      if (this.capacity === undefined) {
        let resolve!: () => void;
        const promise = new Promise<void>((r) => (resolve = r));
        this.capacity = { promise, resolve };
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.capacity.promise,
        new Promise<void>((r) => (timer = setTimeout(r, interval))),
      ]);
      clearTimeout(timer);
      // Throws when the group is rebalancing: kafkajs then rejoins and fetches again.
      await payload.heartbeat();
    }
    return !this.stopped;
  }

  private signal(): void {
    const capacity = this.capacity;
    if (capacity !== undefined) {
      this.capacity = undefined;
      capacity.resolve();
    }
  }

  /** A slot was freed: deliver due records first, then wake the batch handlers. */
  private release(): void {
    while (this.ready.length > 0 && this.inflight < this.options.prefetch && !this.stopped) {
      const h = this.ready.shift()!;
      if (!h.state.stale) this.deliver(h.state, h.entry, h.record, h.native);
    }
    // Wake the batch handlers once half the slots are free, so they hand out records in runs
    // rather than one wake-up per settled message.
    if (this.capacity !== undefined && this.inflight <= this.options.prefetch >> 1) this.signal();
  }

  private deliver(state: PartitionState, entry: Entry, record: DecodedRecord, native: KafkaMessage): void {
    entry.delivered = true;
    this.inflight++;
    state.inflight++;
    const attempt = record.attempt + state.ledger.previous(entry.offset);
    state.ledger.delivered(entry.offset);
    const message: InboundMessage = {
      id: record.id,
      // The handler gets a body and headers of its own: what it writes into them cannot reach a
      // redelivery (a nack copies the record as fetched).
      body: record.body.slice(),
      headers: { ...record.headers },
      key: record.key,
      correlationId: record.correlationId,
      replyTo: record.replyTo,
      timestamp: record.timestamp,
      attempt,
      native: {
        topic: state.topic,
        partition: state.partition,
        message: native,
      } satisfies KafkaNativeMessage,
    };
    this.options.onDelivery(new KafkaDelivery(this, message, state, entry, record));
  }

  // --- delayed records -----------------------------------------------------------------------

  private hold(h: Held): void {
    this.held.add(h);
    const limit = Date.now() + holdLimit(this.ctx.options.maxDelayMs);
    const arm = () => {
      const due = h.record.dueAt ?? 0;
      const now = Date.now();
      const wait = Math.min(due, limit) - now;
      if (wait > 0) {
        h.timer = setTimeout(arm, Math.min(wait, MAX_TIMER_MS));
        return;
      }
      this.held.delete(h);
      this.resumeHeld();
      if (this.stopped || h.state.stale) return;
      if (due > now) {
        this.hop(h);
      } else if (this.inflight < this.options.prefetch && this.ready.length === 0) {
        this.deliver(h.state, h.entry, h.record, h.native);
      } else {
        this.ready.push(h);
      }
    };
    arm();
  }

  /**
   * A record held for maxDelayMs and still not due (a nack asked for a longer delay) is written
   * again, due at the same time, and the original settled: no record holds its partition's
   * commit point (or waits in the log, exposed to retention) longer than maxDelayMs.
   */
  private hop(h: Held): void {
    const { state, entry, record } = h;
    const copy: OutboundMessage = {
      id: record.id,
      body: record.body,
      headers: record.headers,
      key: record.key,
      correlationId: record.correlationId,
      replyTo: record.replyTo,
      timestamp: record.timestamp,
    };
    const extras = { attempt: record.attempt + state.ledger.previous(entry.offset), dueAt: record.dueAt };
    this.track(this.ctx.republish(this.plan.retryTopic, copy, extras)).then(
      () => this.settle(state, entry),
      () => {
        // Held again and retried; if this consumer stops meanwhile the record stays unsettled
        // and comes back to the next owner.
        if (this.stopped || state.stale) return;
        this.held.add(h);
        h.timer = setTimeout(() => {
          this.held.delete(h);
          if (!this.stopped && !state.stale) this.hop(h);
        }, 1000);
      },
    );
  }

  private resumeHeld(): void {
    if (this.pausedForHeld.size === 0 || this.held.size >= this.ctx.options.maxScheduled || this.stopped)
      return;
    const partitions = [...this.pausedForHeld.values()];
    this.pausedForHeld.clear();
    try {
      for (const { topic, partition } of partitions)
        this.consumer.resume([{ topic, partitions: [partition] }]);
    } catch {
      // Not running (restarting): a restarted consumer has no paused partitions.
    }
  }

  private pauseAll(): void {
    try {
      this.consumer.pause(this.topics.map((topic) => ({ topic })));
    } catch {
      // Not running (restarting): eachBatch pauses whatever it is given while stopped.
    }
  }

  // --- partitions and offsets ----------------------------------------------------------------

  private onJoin(memberId: string, assignment: Record<string, number[]>): void {
    const assigned = new Set<string>();
    for (const topic in assignment) for (const p of assignment[topic]!) assigned.add(key(topic, p));
    const sameMember = memberId === this.memberId;
    this.memberId = memberId;
    this.assignment = assignment;
    this.committed.clear();
    // Read the delivery history of the new assignment now, while kafkajs fetches the records.
    for (const topic in assignment) {
      if (assignment[topic]!.length > 0) this.committedMetadata(topic).catch(() => {});
    }
    for (const [k, state] of this.states) {
      if (state.stale) continue;
      if (!sameMember || !assigned.has(k)) {
        this.invalidate(state);
        continue;
      }
      // kafkajs restarts every partition from its committed offset after a rebalance; a
      // partition this member kept continues after what it already fetched instead.
      const last = state.tracker.last;
      const position = last === undefined ? state.tracker.commitPoint() : last + 1;
      if (position !== undefined) {
        this.consumer.seek({ topic: state.topic, partition: state.partition, offset: String(position) });
      }
    }
    if (this.initialOffsets !== undefined) {
      const topic = this.plan.mainTopic;
      for (const [partition, start] of this.initialOffsets) {
        if (!assigned.has(key(topic, partition))) continue;
        this.initialOffsets.delete(partition);
        const existing = this.states.get(key(topic, partition));
        if (existing !== undefined && !existing.stale) continue;
        this.states.set(key(topic, partition), {
          topic,
          partition,
          tracker: new PartitionTracker(start),
          ledger: new Ledger(),
          stale: false,
          inflight: 0,
          committedOffset: undefined,
          committedMeta: null,
        });
        this.consumer.seek({ topic, partition, offset: String(start) });
      }
    }
  }

  /**
   * The session is taken for lost once the coordinator has confirmed nothing (no heartbeat, no
   * join) for a session timeout: it has removed this member by then, and the partitions are
   * someone else's or come back after a join. Their deliveries become stale at once, so that core
   * does not start what the next owner delivers anyway.
   */
  checkSession(): void {
    const alive = this.aliveAt;
    if (alive === undefined || this.closing !== undefined) return;
    if (Date.now() - alive <= this.ctx.options.sessionTimeoutMs) return;
    this.aliveAt = undefined;
    for (const state of this.states.values()) {
      if (state.stale) continue;
      // If this member keeps the partition after all (the coordinator answered, but not to us),
      // kafkajs goes on from where it fetched: it must go back to the oldest unsettled record.
      const point = state.tracker.commitPoint();
      if (point !== undefined) {
        try {
          this.consumer.seek({ topic: state.topic, partition: state.partition, offset: String(point) });
        } catch {
          // Not running (restarting): the restarted consumer starts from the committed offsets.
        }
      }
      this.invalidate(state);
    }
  }

  /**
   * The partition is not this member's any more (or not for sure): nothing settled of it counts,
   * its records are fetched and delivered again. Its deliveries free their prefetch slots now,
   * since core drops the ones it has not started without settling them.
   */
  private invalidate(state: PartitionState): void {
    state.stale = true;
    for (const entry of state.tracker.unsettled()) this.free(state, entry);
    for (const h of this.held) {
      if (h.state === state) {
        clearTimeout(h.timer);
        this.held.delete(h);
      }
    }
    this.ready = this.ready.filter((h) => h.state !== state);
    if (this.pausedForHeld.delete(key(state.topic, state.partition))) {
      // Paused for its held records, which are gone: fetching it again is up to its next owner.
      try {
        this.consumer.resume([{ topic: state.topic, partitions: [state.partition] }]);
      } catch {
        // Not running (restarting): a restarted consumer has no paused partitions.
      }
    }
    this.release();
  }

  private async stateFor(topic: string, partition: number): Promise<PartitionState> {
    const k = key(topic, partition);
    const existing = this.states.get(k);
    if (existing !== undefined && !existing.stale) return existing;
    let metadata: string | null = null;
    try {
      metadata = (await this.committedMetadata(topic)).get(partition) ?? null;
    } catch {
      // Without the history the attempt count starts again at the record's own attempt.
    }
    const again = this.states.get(k);
    if (again !== undefined && !again.stale) return again;
    const history = parseHistory(metadata);
    let steps = history.steps;
    let settled = history.settled;
    if (existing !== undefined) {
      // This process had the partition before: what it settled adds to what was committed (its
      // last commits may not have gone through, or were refused once its membership was gone).
      steps = maxSteps(steps, existing.ledger.steps());
      settled = unionRanges(
        settled,
        unionRanges(existing.ledger.settledEarlier, existing.tracker.settledAll()),
      );
    }
    const state: PartitionState = {
      topic,
      partition,
      tracker: new PartitionTracker(),
      ledger: new Ledger(steps, settled),
      stale: false,
      inflight: 0,
      committedOffset: undefined,
      committedMeta: metadata,
    };
    this.states.set(k, state);
    return state;
  }

  /** Commit metadata of every partition of a topic for this group (once per assignment). */
  private committedMetadata(topic: string): Promise<Map<number, string | null>> {
    let pending = this.committed.get(topic);
    if (pending === undefined) {
      pending = this.ctx.admin
        .fetchOffsets({ groupId: this.plan.groupId, topics: [topic] })
        .then((topics) => new Map(topics.flatMap((t) => t.partitions.map((p) => [p.partition, p.metadata]))));
      pending.catch(() => this.committed.delete(topic));
      this.committed.set(topic, pending);
    }
    return pending;
  }

  /** Commit every partition whose commit point or history changed. */
  commit(): Promise<void> {
    if (this.committing !== undefined) {
      this.commitAgain = true;
      return this.committing;
    }
    this.committing = (async () => {
      do {
        this.commitAgain = false;
        await this.commitOnce();
      } while (this.commitAgain);
    })().finally(() => {
      this.committing = undefined;
    });
    return this.committing;
  }

  private async commitOnce(): Promise<void> {
    const batch: Array<{ state: PartitionState; offset: number; meta: string | null }> = [];
    for (const state of this.states.values()) {
      if (state.stale) continue;
      const offset = state.tracker.commitPoint();
      if (offset === undefined) continue;
      const meta = state.ledger.encode(offset, settledAbove(state));
      if (offset === state.committedOffset && meta === state.committedMeta) continue;
      batch.push({ state, offset, meta });
    }
    if (batch.length === 0) return;
    const confirmed = this.commitsConfirmed;
    try {
      await this.consumer.commitOffsets(
        batch.map(({ state, offset, meta }) => ({
          topic: state.topic,
          partition: state.partition,
          offset: String(offset),
          metadata: meta,
        })),
      );
    } catch {
      // Tried again on the next tick; a rebalance makes the new owner start from the last commit.
      return;
    }
    // kafkajs resolves without committing while its consumer restarts: tried again then.
    if (this.commitsConfirmed === confirmed) return;
    for (const { state, offset, meta } of batch) {
      state.committedOffset = offset;
      state.committedMeta = meta;
    }
  }
}
