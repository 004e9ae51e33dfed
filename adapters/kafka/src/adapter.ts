import { isIP, connect as netConnect } from "node:net";
import { connect as tlsConnect } from "node:tls";
import {
  type Adapter,
  type Address,
  ClosedError,
  type ConsumeOptions,
  type ConsumerHandle,
  type Features,
  INBOX_PREFIX,
  type Logger,
  MessageTooLargeError,
  type OutboundMessage,
  PublishError,
  redact,
  type Source,
  type SourceStats,
  UnsupportedFeatureError,
} from "@omnibus/core";
import {
  type Admin,
  type ISocketFactory,
  Kafka,
  type KafkaConfig,
  type logCreator,
  logLevel,
  type Message,
  type Producer,
} from "kafkajs";
import { messageSize, type RecordExtras, recordSize, toRecord } from "./codec.js";
import { type ConsumerContext, type ConsumerPlan, KafkaConsumer } from "./consumer.js";
import { connectionError, produceFailure, protocolType, publishError } from "./errors.js";
import { parseKafkaName, queueGroupId, queueTopic, retryTopic, topicGroupId, topicTopic } from "./names.js";
import type { KafkaLogger, ResolvedKafkaOptions } from "./options.js";
import { stablePartitioner } from "./partitioner.js";
import { ProducerClosedError, ProducerSession } from "./producer.js";
import { SendQueue, SendQueueClosedError } from "./sender.js";
import { groupLag } from "./stats.js";
import { capture, topicsGone } from "./targets.js";
import { createTopic } from "./topics.js";

const NONE: RecordExtras = {};

/**
 * Longest pause between two kafkajs attempts (connecting, requests): also how long a client may
 * take to notice that the broker is back.
 */
const RETRY_MAX_MS = 1000;
/**
 * The same for consumers, whose fetch loop tries again without limit (see consumer.ts): they
 * look for the broker more often, so that deliveries resume soon after it is back.
 */
const CONSUMER_RETRY_MAX_MS = 250;

/**
 * kafkajs's own socket factory (plain or TLS, keep-alive after 60 s), with room for more
 * listeners: kafkajs adds a `connect` listener (Node's `unref` of a socket still connecting) each
 * time it gives up on a connection that is not established yet, which a broker starting up can
 * make happen more than ten times on one socket (a "possible memory leak" warning; they go away
 * with the socket).
 */
const socketFactory: ISocketFactory = ({ host, port, ssl, onConnect }) => {
  const socket = ssl
    ? tlsConnect({ host, port, ...(isIP(host) === 0 ? { servername: host } : {}), ...ssl }, onConnect)
    : netConnect({ host, port }, onConnect);
  socket.setKeepAlive(true, 60_000);
  socket.setMaxListeners(100);
  return socket;
};

/** The escape hatch: the kafkajs objects the adapter uses. */
export interface KafkaNative {
  /** The kafkajs client (make more producers, consumers or admins from it). */
  readonly kafka: Kafka;
  /**
   * The adapter's idempotent producer. It is replaced by a new one (a new producer id) after a
   * produce request failed for good, so read it when you use it rather than keep it.
   */
  readonly producer: Producer;
  /** The adapter's admin client. */
  readonly admin: Admin;
}

/**
 * kafkajs log lines that describe something it handles itself (or that the adapter expects), so
 * they are not worth a warning: rebalances, coordinator moves, topics that already exist, and the
 * bounded retries of the idempotent producer (bounded so that a send fails instead of hanging).
 */
const BENIGN = [
  // The adapter sends a failed request again itself, and renews the producer once it gives up
  // (see sender.ts), which is what kafkajs warns about here.
  /Limiting retries for the idempotent producer/,
  /group is rebalancing/i,
  /rebalance in progress/i,
  /coordinator is (loading|not available)/i,
  /not the correct coordinator/i,
  /Topic creation errors/,
  /already exists/i,
];

function kafkaLogCreator(sink: () => KafkaLogger | undefined): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const logger = sink();
      if (logger === undefined || level > logLevel.WARN) return;
      if (BENIGN.some((pattern) => pattern.test(`${log.message} ${String(log.error ?? "")}`))) return;
      const { message, timestamp: _t, logger: _l, stack: _s, ...fields } = log;
      const text = redact(`kafkajs ${namespace}: ${message}`);
      if (level === logLevel.ERROR) logger.error(text, fields);
      else logger.warn(text, fields);
    };
}

/** The Kafka adapter. Created by `kafka(options)`. */
export class KafkaAdapter implements Adapter<KafkaNative> {
  readonly name = "kafka";
  readonly features: Features;
  readonly native: KafkaNative;

  private readonly kafka: Kafka;
  /** The idempotent producer, renewed after a failed request (see sender.ts). */
  private readonly producers: ProducerSession;
  private readonly admin: Admin;
  private readonly sender: SendQueue;
  private connecting: Promise<void> | undefined;
  private closed = false;
  private readonly topics = new Map<string, Promise<void>>();
  private readonly consumers = new Set<KafkaConsumer>();
  private readonly context: ConsumerContext;
  /** Where kafkajs warnings go: the `logger` option, else the client's logger (`useLogger`). */
  private logSink: KafkaLogger | undefined;

  constructor(private readonly options: ResolvedKafkaOptions) {
    this.logSink = options.logger;
    const retries = options.retries;
    const config: KafkaConfig = {
      brokers: [...options.brokers],
      clientId: options.clientId,
      ssl: options.ssl,
      ...(options.sasl === undefined ? {} : { sasl: options.sasl }),
      connectionTimeout: options.connectionTimeoutMs,
      retry: { retries: retries ?? 5, initialRetryTime: 100, maxRetryTime: RETRY_MAX_MS },
      socketFactory,
      logLevel: logLevel.WARN,
      logCreator: kafkaLogCreator(() => this.logSink),
    };
    this.kafka = new Kafka(config);
    const consumerKafka = new Kafka({
      ...config,
      retry: { retries: retries ?? 5, initialRetryTime: 100, maxRetryTime: CONSUMER_RETRY_MAX_MS },
    });
    // A topic found deleted is created again by the next send to it (or, for an inbox, refused).
    const forgetTopics = (topics: readonly string[]) => {
      for (const t of topics) this.topics.delete(t);
    };
    this.producers = new ProducerSession(() => {
      const { client, targets } = capture(this.kafka, () =>
        this.kafka.producer({
          idempotent: options.idempotent,
          allowAutoTopicCreation: false,
          createPartitioner: stablePartitioner,
          // A failed request is sent again by the SendQueue, until deliveryTimeoutMs.
          retry: { retries: retries ?? 5, initialRetryTime: 100, maxRetryTime: RETRY_MAX_MS },
        }),
      );
      if (targets !== undefined)
        targets.hooks = { producing: (t) => this.sender.producing(t), gone: forgetTopics };
      return { producer: client, targets };
    });
    // The admin's targets (topics whose offsets it read) heal themselves the same way.
    const admin = capture(this.kafka, () => this.kafka.admin());
    this.admin = admin.client;
    this.sender = new SendQueue(this.producers, {
      maxRequestBytes: options.maxRequestBytes,
      maxBufferedBytes: options.maxBufferedBytes,
      deliveryTimeoutMs: options.deliveryTimeoutMs,
      toError: (error) =>
        error instanceof SendQueueClosedError || error instanceof ProducerClosedError
          ? new ClosedError("kafka: adapter is closed", { cause: error })
          : publishError(error, "produce request"),
      classify: produceFailure,
      failedTopics: (error) => topicsGone(error)?.topics,
    });
    if (admin.targets !== undefined) admin.targets.hooks = { gone: forgetTopics };
    const producers = this.producers;
    this.native = {
      kafka: this.kafka,
      get producer() {
        return producers.handle.producer;
      },
      admin: this.admin,
    };
    this.features = Object.freeze({
      persistent: true,
      fanout: true,
      orderingByKey: true,
      delay: options.maxDelayMs > 0,
      maxDelayMs: options.maxDelayMs,
      priority: false,
      maxPriority: 0,
      maxMessageBytes: options.maxMessageBytes,
      maxBatchSize: 1000,
    });
    this.context = {
      kafka: consumerKafka,
      admin: this.admin,
      options,
      republish: (topic, message, extras, partition) =>
        this.produce(topic, [message], extras, undefined, partition),
      closed: (consumer) => this.consumers.delete(consumer),
    };
  }

  /** The client's logger, used unless the `logger` option was given. */
  useLogger(logger: Logger): void {
    if (this.options.logger === undefined) this.logSink = logger;
  }

  connect(): Promise<void> {
    if (this.closed) return Promise.reject(new ClosedError("kafka: adapter is closed"));
    this.connecting ??= Promise.all([this.producers.acquire(), this.admin.connect()]).then(
      () => undefined,
      (error: unknown) => {
        this.connecting = undefined;
        throw connectionError(error, `cannot connect to ${this.options.brokers.join(",")}`);
      },
    );
    return this.connecting;
  }

  async send(address: Address, messages: readonly OutboundMessage[]): Promise<void> {
    if (this.closed) throw new ClosedError("kafka: adapter is closed");
    if (messages.length === 0) return;
    const sizes: number[] = [];
    for (const m of messages) {
      if (m.delayMs !== undefined && m.delayMs > this.options.maxDelayMs) {
        // Never delivered sooner than asked: a longer delay is refused, not shortened.
        throw new UnsupportedFeatureError(
          `kafka: message ${m.id} asks for delayMs ${m.delayMs}, more than maxDelayMs (${this.options.maxDelayMs})`,
        );
      }
      const size = messageSize(m);
      if (size > this.options.maxMessageBytes) {
        throw new MessageTooLargeError(
          `kafka: message ${m.id} has ${size} bytes, more than maxMessageBytes (${this.options.maxMessageBytes})`,
        );
      }
      sizes.push(recordSize(m, size));
    }
    await this.connect();
    if (address.kind === "queue" && address.name.startsWith(INBOX_PREFIX)) {
      // An inbox exists while its requester consumes it; a reply to one that closed is refused
      // rather than creating a topic nobody will ever read or delete.
      const topic = queueTopic(address.name);
      await this.ensureExists(topic, address.name);
      await this.produce(topic, messages, undefined, sizes);
      return;
    }
    const topic = address.kind === "queue" ? queueTopic(address.name) : topicTopic(address.name);
    await this.produce(topic, messages, undefined, sizes);
  }

  /** Resolve if the topic exists (remembering it), reject with a PublishError otherwise. */
  private async ensureExists(topic: string, queue: string): Promise<void> {
    if (this.topics.has(topic)) return;
    // The producer's cluster knows the brokers once it is connected (the admin's only knows its
    // seed broker until it reads metadata); the producer may be being renewed, so wait for it.
    await this.producers.acquire();
    const targets = this.producers.handle.targets;
    if (targets === undefined) return;
    const missing = await targets.missing([topic]);
    if (missing.length > 0) {
      throw new PublishError(`kafka: queue ${queue} does not exist (an inbox whose consumer closed)`);
    }
    this.topics.set(topic, Promise.resolve());
  }

  /** Write messages to a topic (creating it first if this adapter has not seen it yet). */
  private async produce(
    topic: string,
    messages: readonly OutboundMessage[],
    extras: RecordExtras | undefined,
    sizes: number[] = messages.map((m) => recordSize(m)),
    partition?: number,
  ): Promise<void> {
    await this.ensureTopic(topic);
    const now = Date.now();
    const records: Message[] = [];
    for (const m of messages) {
      const delay = m.delayMs ?? 0;
      const record = toRecord(m, now, extras ?? (delay > 0 ? { dueAt: now + delay } : NONE));
      if (partition !== undefined) record.partition = partition;
      records.push(record);
    }
    try {
      await this.sender.send([{ topic, records, sizes }]);
    } catch (error) {
      // Deleted behind this adapter's back: the next send creates it again.
      if (topicsGone(error) !== undefined || protocolType(error) === "UNKNOWN_TOPIC_OR_PARTITION")
        this.topics.delete(topic);
      throw error;
    }
  }

  async consume(source: Source, options: ConsumeOptions): Promise<ConsumerHandle> {
    if (this.closed) throw new ClosedError("kafka: adapter is closed");
    await this.connect();
    const plan = await this.plan(source);
    const consumer = new KafkaConsumer(this.context, plan, options);
    this.consumers.add(consumer);
    try {
      await consumer.start();
    } catch (error) {
      this.consumers.delete(consumer);
      throw error;
    }
    if (this.closed) {
      // The adapter closed while this consumer joined: leave again.
      await consumer.close();
      throw new ClosedError("kafka: adapter is closed");
    }
    return consumer;
  }

  /** Map a source onto topics and a consumer group, creating what is missing. */
  private async plan(source: Source): Promise<ConsumerPlan> {
    const p = this.options.groupIdPrefix;
    if (source.kind === "queue") {
      const topic = queueTopic(source.name);
      await this.ensureTopic(topic);
      return {
        groupId: queueGroupId(p, source.name),
        mainTopic: topic,
        retryTopic: topic,
        fromBeginning: true,
        onClosed: source.ephemeral === true ? () => this.dropQueue(source.name).catch(() => {}) : undefined,
      };
    }
    const groupId = topicGroupId(p, source.name, source.group);
    const main = topicTopic(source.name);
    const retry = retryTopic(source.name, source.group);
    await Promise.all([this.ensureTopic(main), this.ensureTopic(retry)]);
    return {
      groupId,
      mainTopic: main,
      retryTopic: retry,
      fromBeginning: false,
      initialOffsets: await this.missingOffsets(groupId, main),
    };
  }

  /** End offsets of the partitions of `topic` the group has no committed offset for. */
  private async missingOffsets(groupId: string, topic: string): Promise<Map<number, number>> {
    try {
      const [committed, ends] = await Promise.all([
        this.admin.fetchOffsets({ groupId, topics: [topic] }),
        this.admin.fetchTopicOffsets(topic),
      ]);
      const high = new Map(ends.map((e) => [e.partition, Number(e.high)]));
      const missing = new Map<number, number>();
      for (const t of committed) {
        for (const p of t.partitions) {
          if (Number(p.offset) < 0) missing.set(p.partition, high.get(p.partition) ?? 0);
        }
      }
      return missing;
    } catch (error) {
      throw connectionError(error, `cannot read offsets of ${groupId}`);
    }
  }

  async ensureGroup(topic: string, group: string): Promise<void> {
    if (this.closed) throw new ClosedError("kafka: adapter is closed");
    await this.connect();
    const plan = await this.plan({ kind: "topic", name: topic, group });
    if (plan.initialOffsets === undefined || plan.initialOffsets.size === 0) return;
    try {
      const { groups } = await this.admin.describeGroups([plan.groupId]);
      // A group with members is running: they keep their own positions.
      if (groups.some((g) => g.members.length > 0)) return;
    } catch (error) {
      throw connectionError(error, `cannot describe group ${plan.groupId}`);
    }
    // Join once without consuming: the consumer commits the start offsets and leaves.
    const consumer = new KafkaConsumer(
      this.context,
      { ...plan, passive: true },
      { prefetch: 1, onDelivery: () => {}, onError: () => {} },
    );
    await consumer.start();
    await consumer.close();
  }

  /** The lag of the source's consumer group: end offsets − committed offsets (see `stats.ts`). */
  async stats(source: Source): Promise<SourceStats> {
    if (this.closed) throw new ClosedError("kafka: adapter is closed");
    await this.connect();
    const p = this.options.groupIdPrefix;
    const [groupId, topics] =
      source.kind === "queue"
        ? [queueGroupId(p, source.name), [{ topic: queueTopic(source.name), fromBeginning: true }]]
        : [
            topicGroupId(p, source.name, source.group),
            [
              { topic: topicTopic(source.name), fromBeginning: false },
              { topic: retryTopic(source.name, source.group), fromBeginning: true },
            ],
          ];
    try {
      return await groupLag(this.admin, groupId, topics);
    } catch (error) {
      throw connectionError(error, `cannot read the offsets of ${groupId}`);
    }
  }

  async deleteQueue(name: string): Promise<void> {
    if (this.closed) throw new ClosedError("kafka: adapter is closed");
    await this.connect();
    await this.dropQueue(name);
  }

  /** Delete a queue's topic and consumer group (also while closing, for ephemeral queues). */
  private async dropQueue(name: string): Promise<void> {
    const topic = queueTopic(name);
    this.topics.delete(topic);
    await this.admin.deleteGroups([queueGroupId(this.options.groupIdPrefix, name)]).catch(() => {});
    try {
      await this.admin.deleteTopics({ topics: [topic] });
    } catch (error) {
      if (protocolType(error) !== "UNKNOWN_TOPIC_OR_PARTITION")
        throw connectionError(error, `cannot delete ${name}`);
    }
    await this.untilGone([topic]);
    // kafkajs #1622: a producer that wrote to a deleted topic keeps asking for its metadata, and
    // every refresh fails from then on (admin.deleteTopics only cleans the admin's own list).
    this.producers.handle.targets?.forget([topic]);
    this.topics.delete(topic);
  }

  /**
   * Delete a topic: its Kafka topic, the consumer groups of its subscription groups (those of this
   * adapter's `groupIdPrefix`) and their retry topics.
   */
  async deleteTopic(topic: string): Promise<void> {
    if (this.closed) throw new ClosedError("kafka: adapter is closed");
    await this.connect();
    const head = topicGroupId(this.options.groupIdPrefix, topic, "g").slice(0, -1);
    let groupIds: string[];
    let existing: string[];
    try {
      [groupIds, existing] = await Promise.all([
        this.admin
          .listGroups()
          .then((r) => r.groups.map((g) => g.groupId).filter((id) => id.startsWith(head))),
        this.admin.listTopics(),
      ]);
    } catch (error) {
      throw connectionError(error, `cannot list the groups of ${topic}`);
    }
    if (groupIds.length > 0) await this.admin.deleteGroups(groupIds).catch(() => {});
    const retries = new Set(groupIds.map((id) => retryTopic(topic, id.slice(head.length))));
    for (const name of existing) {
      const parsed = parseKafkaName(name);
      if (parsed?.kind === "retry" && parsed.topic === topic) retries.add(name);
    }
    await this.dropTopics([topicTopic(topic), ...retries], existing, `topic ${topic}`);
  }

  /** Delete one subscription group: its consumer group and its retry topic. */
  async deleteGroup(topic: string, group: string): Promise<void> {
    if (this.closed) throw new ClosedError("kafka: adapter is closed");
    await this.connect();
    await this.admin.deleteGroups([topicGroupId(this.options.groupIdPrefix, topic, group)]).catch(() => {});
    let existing: string[];
    try {
      existing = await this.admin.listTopics();
    } catch (error) {
      throw connectionError(error, `cannot list topics`);
    }
    await this.dropTopics([retryTopic(topic, group)], existing, `group ${group} of ${topic}`);
  }

  /** Delete those of `topics` (Kafka names) that exist, as `dropQueue` does (kafkajs #1622). */
  private async dropTopics(
    topics: readonly string[],
    existing: readonly string[],
    what: string,
  ): Promise<void> {
    for (const t of topics) this.topics.delete(t);
    const present = topics.filter((t) => existing.includes(t));
    if (present.length > 0) {
      try {
        await this.admin.deleteTopics({ topics: present });
      } catch (error) {
        if (protocolType(error) !== "UNKNOWN_TOPIC_OR_PARTITION")
          throw connectionError(error, `cannot delete ${what}`);
      }
      await this.untilGone(present);
    }
    this.producers.handle.targets?.forget([...topics]);
    for (const t of topics) this.topics.delete(t);
  }

  /**
   * Wait (at most 10 s) until the broker no longer lists `topics`. Kafka deletes a topic after
   * `deleteTopics` answered; a send in between was taken by the old topic and went with it (seen
   * in the deletion test: the first message sent to a queue right after deleteQueue was lost).
   */
  private async untilGone(topics: readonly string[]): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const listed = await this.admin.listTopics().catch(() => undefined);
      if (listed !== undefined && !topics.some((t) => listed.includes(t))) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Consumers leave their groups first (ephemeral queues delete themselves meanwhile).
    await Promise.all([...this.consumers].map((c) => c.close().catch(() => {})));
    this.sender.close();
    await Promise.all([this.producers.close(), this.admin.disconnect().catch(() => {})]);
  }

  private ensureTopic(name: string): Promise<void> {
    let pending = this.topics.get(name);
    if (pending === undefined) {
      pending = createTopic(this.admin, {
        topic: name,
        numPartitions: this.options.partitions,
        replicationFactor: this.options.replicationFactor,
      }).then(
        () => undefined,
        (error: unknown) => {
          this.topics.delete(name);
          throw connectionError(error, `cannot create topic ${name}`);
        },
      );
      this.topics.set(name, pending);
    }
    return pending;
  }
}
