import {
  type Adapter,
  type Address,
  ClosedError,
  type ConsumeOptions,
  type ConsumerHandle,
  type Features,
  MessageTooLargeError,
  type OutboundMessage,
  redact,
  type Source,
} from "@omnibus/core";
import { type Admin, Kafka, type logCreator, logLevel, type Message, type Producer } from "kafkajs";
import { messageSize, type RecordExtras, recordSize, toRecord } from "./codec.js";
import { type ConsumerContext, type ConsumerPlan, KafkaConsumer } from "./consumer.js";
import { connectionError, protocolType, publishError } from "./errors.js";
import { queueGroupId, retryTopicName, topicGroupId } from "./names.js";
import type { KafkaLogger, ResolvedKafkaOptions } from "./options.js";
import { stablePartitioner } from "./partitioner.js";
import { SendQueue } from "./sender.js";

const NONE: RecordExtras = {};

/** The escape hatch: the kafkajs objects the adapter uses. */
export interface KafkaNative {
  /** The kafkajs client (make more producers, consumers or admins from it). */
  readonly kafka: Kafka;
  /** The adapter's idempotent producer. */
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
  /Limiting retries for the idempotent producer/,
  /group is rebalancing/i,
  /rebalance in progress/i,
  /coordinator is (loading|not available)/i,
  /not the correct coordinator/i,
  /Topic creation errors/,
  /already exists/i,
];

function kafkaLogCreator(logger: KafkaLogger | undefined): logCreator {
  return () =>
    ({ namespace, level, log }) => {
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
  private readonly producer: Producer;
  private readonly admin: Admin;
  private readonly sender: SendQueue;
  private connecting: Promise<void> | undefined;
  private closed = false;
  private readonly topics = new Map<string, Promise<void>>();
  private readonly consumers = new Set<KafkaConsumer>();
  private readonly context: ConsumerContext;

  constructor(private readonly options: ResolvedKafkaOptions) {
    const retries = options.retries;
    this.kafka = new Kafka({
      brokers: [...options.brokers],
      clientId: options.clientId,
      ssl: options.ssl,
      ...(options.sasl === undefined ? {} : { sasl: options.sasl }),
      connectionTimeout: options.connectionTimeoutMs,
      retry: { retries: retries ?? 5, initialRetryTime: 100, maxRetryTime: 2000 },
      logLevel: logLevel.WARN,
      logCreator: kafkaLogCreator(options.logger),
    });
    this.producer = this.kafka.producer({
      idempotent: options.idempotent,
      allowAutoTopicCreation: false,
      createPartitioner: stablePartitioner,
      retry: { retries: retries ?? 15, initialRetryTime: 100, maxRetryTime: 2000 },
    });
    this.admin = this.kafka.admin();
    this.sender = new SendQueue(this.producer, options.maxRequestBytes, options.maxBufferedBytes, (error) =>
      publishError(error, "produce request"),
    );
    this.native = { kafka: this.kafka, producer: this.producer, admin: this.admin };
    this.features = {
      persistent: true,
      fanout: true,
      orderingByKey: true,
      delay: true,
      maxDelayMs: options.maxDelayMs,
      priority: false,
      maxPriority: 0,
      maxMessageBytes: options.maxMessageBytes,
      maxBatchSize: 1000,
    };
    this.context = {
      kafka: this.kafka,
      admin: this.admin,
      options,
      republish: (topic, message, extras) => this.produce(topic, [message], extras),
      closed: (consumer) => this.consumers.delete(consumer),
    };
  }

  connect(): Promise<void> {
    if (this.closed) return Promise.reject(new ClosedError("kafka: adapter is closed"));
    this.connecting ??= Promise.all([this.producer.connect(), this.admin.connect()]).then(
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
      const size = messageSize(m);
      if (size > this.options.maxMessageBytes) {
        throw new MessageTooLargeError(
          `kafka: message ${m.id} has ${size} bytes, more than maxMessageBytes (${this.options.maxMessageBytes})`,
        );
      }
      sizes.push(recordSize(m, size));
    }
    await this.connect();
    await this.produce(address.name, messages, undefined, sizes);
  }

  /** Write messages to a topic (creating it first if this adapter has not seen it yet). */
  private async produce(
    topic: string,
    messages: readonly OutboundMessage[],
    extras: RecordExtras | undefined,
    sizes: number[] = messages.map((m) => recordSize(m)),
  ): Promise<void> {
    await this.ensureTopic(topic);
    const now = Date.now();
    const records: Message[] = [];
    for (const m of messages) {
      const delay = m.delayMs ?? 0;
      const due = delay > 0 ? { dueAt: now + Math.min(delay, this.options.maxDelayMs) } : NONE;
      records.push(toRecord(m, now, extras ?? due));
    }
    await this.sender.send([{ topic, records, sizes }]);
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
      await this.ensureTopic(source.name);
      return {
        groupId: queueGroupId(p, source.name),
        mainTopic: source.name,
        retryTopic: source.name,
        fromBeginning: true,
        onClosed: source.ephemeral === true ? () => this.dropQueue(source.name).catch(() => {}) : undefined,
      };
    }
    const groupId = topicGroupId(p, source.name, source.group);
    const retryTopic = retryTopicName(source.name, source.group);
    await Promise.all([this.ensureTopic(source.name), this.ensureTopic(retryTopic)]);
    return {
      groupId,
      mainTopic: source.name,
      retryTopic,
      fromBeginning: false,
      initialOffsets: await this.missingOffsets(groupId, source.name),
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

  async deleteQueue(name: string): Promise<void> {
    if (this.closed) throw new ClosedError("kafka: adapter is closed");
    await this.connect();
    await this.dropQueue(name);
  }

  /** Delete a queue's topic and consumer group (also while closing, for ephemeral queues). */
  private async dropQueue(name: string): Promise<void> {
    this.topics.delete(name);
    await this.admin.deleteGroups([queueGroupId(this.options.groupIdPrefix, name)]).catch(() => {});
    try {
      await this.admin.deleteTopics({ topics: [name] });
    } catch (error) {
      if (protocolType(error) !== "UNKNOWN_TOPIC_OR_PARTITION")
        throw connectionError(error, `cannot delete ${name}`);
    }
    this.topics.delete(name);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Consumers leave their groups first (ephemeral queues delete themselves meanwhile).
    await Promise.all([...this.consumers].map((c) => c.close().catch(() => {})));
    await Promise.all([this.producer.disconnect().catch(() => {}), this.admin.disconnect().catch(() => {})]);
  }

  private ensureTopic(name: string): Promise<void> {
    let pending = this.topics.get(name);
    if (pending === undefined) {
      pending = this.admin
        .createTopics({
          topics: [
            {
              topic: name,
              numPartitions: this.options.partitions,
              replicationFactor: this.options.replicationFactor,
            },
          ],
          waitForLeaders: true,
        })
        .then(
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
