/**
 * Works around kafkajs issue #1622 ("This server does not host this topic-partition" after a
 * topic deletion): a kafkajs producer or admin client keeps every topic it ever wrote to or read
 * offsets of in its cluster's *target topics*, and asks the broker for the metadata of all of
 * them on every metadata refresh. Once one of them is deleted, the broker answers
 * `UNKNOWN_TOPIC_OR_PARTITION` for it, kafkajs fails the whole refresh, and from then on every
 * send to a topic the client has not written to yet (and every send after the metadata expired)
 * fails, whatever its topic. `admin.deleteTopics` only cleans the admin's own targets.
 *
 * The adapter deletes topics itself (`deleteQueue`, ephemeral inboxes on close), and others do
 * too: a replier writes to inboxes that their requesters delete when they close. So:
 *
 * - after deleting a topic, the adapter removes it from its producer's targets ({@link Targets.forget});
 * - a refresh that fails with `UNKNOWN_TOPIC_OR_PARTITION` looks up which targets are gone,
 *   removes them and refreshes again (deleted by someone else, or by another adapter);
 * - if a gone topic is one being written to right now, the refresh fails with a
 *   {@link TopicsGoneError} that kafkajs does not retry: the send fails at once instead of
 *   retrying for half a minute (kafkajs retries a missing topic's metadata like a slow one).
 *
 * kafkajs does not expose a client's cluster, so it is captured when the client is created, by
 * wrapping the `Kafka` object's (symbol-keyed) cluster factory for the duration of the call.
 * kafkajs 2.2.4 is the last release; if a later one changes these internals, {@link capture}
 * finds no cluster and the adapter runs without the workaround (the unit test notices).
 *
 * @module
 */
import type { Kafka } from "kafkajs";

const UNKNOWN = "UNKNOWN_TOPIC_OR_PARTITION";

interface TopicMetadata {
  readonly topic: string;
}
interface BrokerLike {
  metadata(topics: string[]): Promise<{ topicMetadata: TopicMetadata[] }>;
}
interface BrokerPoolLike {
  refreshMetadata(topics: string[]): Promise<unknown>;
  withBroker<T>(callback: (args: { broker: BrokerLike }) => Promise<T>): Promise<T | null>;
}
interface ClusterLike {
  targetTopics: Set<string>;
  readonly brokerPool: BrokerPoolLike;
}

function isCluster(value: unknown): value is ClusterLike {
  const c = value as Partial<ClusterLike> | null;
  return (
    typeof c === "object" &&
    c !== null &&
    c.targetTopics instanceof Set &&
    typeof c.brokerPool === "object" &&
    c.brokerPool !== null &&
    typeof c.brokerPool.refreshMetadata === "function" &&
    typeof c.brokerPool.withBroker === "function"
  );
}

const typeOf = (error: unknown): unknown => (error as { type?: unknown } | null)?.type;

/** The topics a send writes to no longer exist (kafkajs does not retry it: `retriable` false). */
export class TopicsGoneError extends Error {
  override readonly name = "TopicsGoneError";
  readonly type = "OMNIBUS_TOPIC_DELETED";
  readonly retriable = false;
  constructor(readonly topics: readonly string[]) {
    super(`topic ${topics.join(", ")} does not exist (deleted)`);
  }
}

/** The {@link TopicsGoneError} somewhere in a kafkajs error's cause chain, if any. */
export function topicsGone(error: unknown): TopicsGoneError | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current !== null && typeof current === "object"; depth++) {
    if (current instanceof TopicsGoneError) return current;
    const e = current as { originalError?: unknown; cause?: unknown };
    current = e.originalError ?? e.cause;
  }
  return undefined;
}

/** What {@link Targets} asks its owner. */
export interface TargetHooks {
  /** Whether a send in progress writes to `topic`. */
  producing?(topic: string): boolean;
  /** These topics were found deleted. */
  gone?(topics: readonly string[]): void;
}

/** The target topics of one kafkajs client, kept free of deleted topics. */
export class Targets {
  /** Set by the owner (the adapter) once it exists. */
  hooks: TargetHooks = {};

  constructor(private readonly cluster: ClusterLike) {
    const pool = cluster.brokerPool;
    const refresh = pool.refreshMetadata.bind(pool);
    pool.refreshMetadata = async (topics: string[]) => {
      try {
        return await refresh(topics);
      } catch (error) {
        if (typeOf(error) !== UNKNOWN || topics.length === 0) throw error;
        const gone = await this.missing(topics);
        if (gone.length === 0) throw error;
        this.forget(gone);
        this.hooks.gone?.(gone);
        const written = gone.filter((t) => this.hooks.producing?.(t) === true);
        if (written.length > 0) throw new TopicsGoneError(written);
        return refresh(topics.filter((t) => !gone.includes(t)));
      }
    };
  }

  /** The topics the client currently asks metadata for. */
  get topics(): ReadonlySet<string> {
    return this.cluster.targetTopics;
  }

  /** Stop asking for the metadata of these topics (they were deleted). */
  forget(topics: Iterable<string>): void {
    // Read the set every time: kafkajs replaces it when adding targets fails.
    for (const topic of topics) this.cluster.targetTopics.delete(topic);
  }

  /** Which of `topics` the broker does not have (an error counts as "has"). */
  async missing(topics: readonly string[]): Promise<string[]> {
    const pool = this.cluster.brokerPool;
    try {
      // One request for every topic of the cluster (fails if any topic has an error, such as
      // one being created right now: then ask topic by topic).
      const all = await pool.withBroker(({ broker }) => broker.metadata([]));
      if (all !== null) {
        const existing = new Set(all.topicMetadata.map((t) => t.topic));
        return topics.filter((t) => !existing.has(t));
      }
    } catch {
      // fall through
    }
    const missing = await Promise.all(
      topics.map((topic) =>
        pool.withBroker(({ broker }) =>
          broker.metadata([topic]).then(
            () => false,
            (error: unknown) => typeOf(error) === UNKNOWN,
          ),
        ),
      ),
    );
    return topics.filter((_, i) => missing[i] === true);
  }
}

/**
 * Create a kafkajs client (`kafka.producer(…)`, `kafka.consumer(…)`, `kafka.admin()`) and capture
 * the cluster object kafkajs made for it (undefined if this kafkajs version does not create
 * clusters the way 2.2.4 does).
 */
export function captureCluster<T>(kafka: Kafka, create: () => T): { client: T; cluster: unknown } {
  const holder = kafka as unknown as Record<symbol, unknown>;
  const key = Object.getOwnPropertySymbols(holder).find(
    (s) => s.description === "private:Kafka:createCluster",
  );
  const factory = key === undefined ? undefined : holder[key];
  if (key === undefined || typeof factory !== "function") return { client: create(), cluster: undefined };
  let cluster: unknown;
  holder[key] = (...args: unknown[]) => (cluster = factory.apply(kafka, args));
  let client: T;
  try {
    client = create();
  } finally {
    holder[key] = factory;
  }
  return { client, cluster };
}

/**
 * Create a kafkajs client (`kafka.producer(…)`, `kafka.admin()`) and capture its cluster. The
 * targets are undefined if this kafkajs version does not create clusters the way 2.2.4 does.
 */
export function capture<T>(kafka: Kafka, create: () => T): { client: T; targets: Targets | undefined } {
  const { client, cluster } = captureCluster(kafka, create);
  return { client, targets: isCluster(cluster) ? new Targets(cluster) : undefined };
}
