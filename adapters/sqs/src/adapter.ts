import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import {
  CreateTopicCommand,
  DeleteTopicCommand,
  ListSubscriptionsByTopicCommand,
  PublishBatchCommand,
  SNSClient,
  SubscribeCommand,
  UnsubscribeCommand,
} from "@aws-sdk/client-sns";
import {
  ChangeMessageVisibilityBatchCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  SendMessageBatchCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import {
  type Adapter,
  type Address,
  ClosedError,
  ConfigError,
  type ConsumeOptions,
  type ConsumerHandle,
  type Features,
  MessageTooLargeError,
  type OutboundMessage,
  PublishError,
  type Source,
  type SourceStats,
  UnsupportedFeatureError,
} from "@omnibus/core";
import { Batcher } from "./batcher.js";
import { type ConsumerContext, SqsConsumer } from "./consumer.js";
import {
  asPublishError,
  errorName,
  isNetworkError,
  isNotFound,
  isQueueMissing,
  isTransient,
  translate,
} from "./errors.js";
import { brokerName, groupQueueName, isGroupQueueOf, MAX_QUEUE_NAME, MAX_TOPIC_NAME } from "./names.js";
import type { ResolvedSqsOptions } from "./options.js";
import { queueStats } from "./stats.js";
import { backoff, Semaphore, sleep } from "./util.js";
import {
  chunkBatches,
  deduplicationId,
  delaySeconds,
  encodeMessage,
  fifoId,
  MAX_WIRE_BYTES,
  META_RESERVE_BYTES,
  type WireMessage,
} from "./wire.js";

/** The escape hatch: the AWS SDK clients this adapter uses. */
export interface SqsNative {
  /** The SQS client for everything but ReceiveMessage. */
  readonly sqs: SQSClient;
  /** The SNS client, when topics are configured. */
  readonly sns: SNSClient | undefined;
}

/** Largest DelaySeconds SQS accepts: 15 minutes. */
const MAX_DELAY_MS = 900_000;
/** Parallel SendMessageBatch / PublishBatch requests per adapter. */
const SEND_CONCURRENCY = 64;
/** Attempts for entries a batch send reports as failed through no fault of the sender. */
const SEND_ATTEMPTS = 4;

interface Outgoing {
  readonly message: OutboundMessage;
  readonly wire: WireMessage;
  readonly size: number;
}

function agents(maxSockets: number) {
  return {
    httpAgent: new HttpAgent({ keepAlive: true, maxSockets }),
    httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets }),
  };
}

/** The SQS adapter. Build it with `sqs(options)` or `fromUrl(url)`. */
export class SqsAdapter implements Adapter<SqsNative> {
  readonly name = "sqs";
  readonly features: Features;
  readonly #o: ResolvedSqsOptions;
  readonly #sqs: SQSClient;
  readonly #receiver: SQSClient;
  readonly #sns: SNSClient | undefined;
  readonly #urls = new Map<string, Promise<string>>();
  readonly #topics = new Map<string, Promise<string>>();
  readonly #groups = new Map<string, Promise<string>>();
  readonly #consumers = new Set<SqsConsumer>();
  readonly #ephemeral = new Set<string>();
  readonly #sendSlots = new Semaphore(SEND_CONCURRENCY);
  /** FIFO mode: the last send per destination and key, which the next one with that key waits for. */
  readonly #fifoChains = new Map<string, Promise<void>>();
  readonly #deletes: Batcher<string>;
  readonly #visibility: Batcher<string>;
  #connecting: Promise<void> | undefined;
  #closed: Promise<void> | undefined;

  constructor(options: ResolvedSqsOptions) {
    this.#o = options;
    if (
      options.quietNodeVersionWarning &&
      process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED === undefined
    ) {
      // The SDK's documented switch for its "Node.js 20 is past its support" warning.
      process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
    }
    const base = {
      ...(options.region === undefined ? {} : { region: options.region }),
      ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    };
    this.#sqs = new SQSClient({
      requestHandler: { ...agents(64), connectionTimeout: 5000, requestTimeout: 30_000 },
      ...options.sqsClientConfig,
      ...base,
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    });
    this.#receiver = new SQSClient({
      requestHandler: {
        ...agents(256),
        connectionTimeout: 5000,
        requestTimeout: (options.waitTimeSeconds + 15) * 1000,
      },
      ...options.sqsClientConfig,
      ...base,
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    });
    if (options.snsEndpoint !== undefined) {
      this.#sns = new SNSClient({
        requestHandler: { ...agents(64), connectionTimeout: 5000, requestTimeout: 30_000 },
        ...options.snsClientConfig,
        ...base,
        ...(options.snsEndpoint === "" ? {} : { endpoint: options.snsEndpoint }),
      });
    }
    this.#deletes = new Batcher((url, handles) => this.#deleteBatch(url, handles), 10, options.batchDelayMs);
    this.#visibility = new Batcher(
      (key, handles) => this.#visibilityBatch(key, handles),
      10,
      options.batchDelayMs,
    );
    this.features = Object.freeze({
      persistent: options.persistent,
      fanout: this.#sns !== undefined,
      orderingByKey: options.fifo,
      delay: !options.fifo,
      maxDelayMs: options.fifo ? 0 : MAX_DELAY_MS,
      priority: false,
      maxPriority: 0,
      maxMessageBytes: MAX_WIRE_BYTES - META_RESERVE_BYTES,
      maxBatchSize: 10,
    });
  }

  get native(): SqsNative {
    return { sqs: this.#sqs, sns: this.#sns };
  }

  // ------------------------------------------------------------------ lifecycle

  connect(): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError("the SQS adapter is closed"));
    this.#connecting ??= (async () => {
      try {
        await this.#sqs.send(
          new ListQueuesCommand({ MaxResults: 1, QueueNamePrefix: this.#o.prefix || "omnibus" }),
        );
      } catch (error) {
        // AccessDenied: the server answered and knows the caller; ListQueues is just not allowed.
        if (errorName(error) === "AccessDenied" || errorName(error) === "AccessDeniedException") return;
        throw translate(error, `cannot connect to SQS (${this.#o.display})`);
      }
    })();
    this.#connecting.catch(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      const consumers = [...this.#consumers];
      // Every consumer stops (no receive in flight) before any gives its deliveries back, so that
      // no receive of this adapter takes them again on the way out (see SqsConsumer.stop).
      await Promise.allSettled(consumers.map((c) => c.stop()));
      await Promise.allSettled(consumers.map((c) => c.close()));
      await Promise.allSettled([this.#deletes.drain(), this.#visibility.drain()]);
      await Promise.allSettled([...this.#ephemeral].map((name) => this.#deleteBrokerQueue(name)));
      this.#sqs.destroy();
      this.#receiver.destroy();
      this.#sns?.destroy();
    })();
    return this.#closed;
  }

  #assertOpen(): void {
    if (this.#closed) throw new ClosedError("the SQS adapter is closed");
  }

  // ------------------------------------------------------------------ names and declarations

  #queueName(name: string): string {
    return brokerName(name, { prefix: this.#o.prefix, fifo: this.#o.fifo, max: MAX_QUEUE_NAME });
  }

  #topicName(name: string): string {
    return brokerName(name, { prefix: this.#o.prefix, fifo: this.#o.fifo, max: MAX_TOPIC_NAME });
  }

  /** Cached lookup: the map keeps one promise per key; a failure is forgotten. */
  #cached(
    map: Map<string, Promise<string>>,
    key: string,
    fresh: boolean,
    load: () => Promise<string>,
  ): Promise<string> {
    if (fresh) map.delete(key);
    let promise = map.get(key);
    if (!promise) {
      promise = load();
      map.set(key, promise);
      const p = promise;
      p.catch(() => {
        if (map.get(key) === p) map.delete(key);
      });
    }
    return promise;
  }

  /** The URL of a queue (broker name), created when `create`. */
  #queueUrl(queue: string, create: boolean, fresh = false): Promise<string> {
    return this.#cached(this.#urls, queue, fresh, async () => {
      if (create) {
        const attributes: Record<string, string> = { ...this.#o.queueAttributes };
        if (this.#o.fifo) attributes.FifoQueue = "true";
        try {
          const out = await this.#sqs.send(
            new CreateQueueCommand({ QueueName: queue, Attributes: attributes }),
          );
          return out.QueueUrl!;
        } catch (error) {
          // Exists with other attributes (created elsewhere): use it as it is.
          if (!/QueueNameExists|QueueAlreadyExists/.test(errorName(error))) {
            throw translate(error, `cannot create SQS queue ${queue}`);
          }
        }
      }
      try {
        const out = await this.#sqs.send(new GetQueueUrlCommand({ QueueName: queue }));
        return out.QueueUrl!;
      } catch (error) {
        if (isQueueMissing(error)) {
          throw new ConfigError(`SQS queue ${queue} does not exist (autoCreate is off)`, { cause: error });
        }
        throw translate(error, `cannot look up SQS queue ${queue}`);
      }
    });
  }

  #requireSns(what: string): SNSClient {
    if (!this.#sns) {
      throw new UnsupportedFeatureError(
        `${what} needs SNS, which is not configured (${this.#o.display}): pass sns=<endpoint> or use AWS`,
      );
    }
    return this.#sns;
  }

  /** The ARN of a topic (Omnibus name), created on first use (CreateTopic is idempotent). */
  #topicArn(topic: string, fresh = false): Promise<string> {
    const sns = this.#requireSns(`topic ${topic}`);
    const name = this.#topicName(topic);
    return this.#cached(this.#topics, name, fresh, async () => {
      const attributes: Record<string, string> = this.#o.fifo ? { FifoTopic: "true" } : {};
      try {
        const out = await sns.send(new CreateTopicCommand({ Name: name, Attributes: attributes }));
        return out.TopicArn!;
      } catch (error) {
        throw translate(error, `cannot create SNS topic ${name}`);
      }
    });
  }

  /**
   * A topic group's queue: its own SQS queue subscribed to the topic with raw message delivery,
   * with a policy letting the topic send to it. Returns the queue URL.
   */
  #groupQueue(topic: string, group: string, fresh = false): Promise<string> {
    const sns = this.#requireSns(`topic ${topic}`);
    const queue = this.#queueName(groupQueueName(topic, group));
    return this.#cached(this.#groups, queue, fresh, async () => {
      const topicArn = await this.#topicArn(topic, fresh);
      const url = await this.#queueUrl(queue, this.#o.autoCreate, fresh);
      if (!this.#o.autoCreate) return url; // queue and subscription are managed elsewhere
      try {
        const attrs = await this.#sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }),
        );
        const queueArn = attrs.Attributes?.QueueArn;
        if (!queueArn) throw new Error(`no QueueArn for ${queue}`);
        const policy = {
          Version: "2012-10-17",
          Statement: [
            {
              Sid: "omnibus-sns-fanout",
              Effect: "Allow",
              Principal: { Service: "sns.amazonaws.com" },
              Action: "sqs:SendMessage",
              Resource: queueArn,
              Condition: { ArnEquals: { "aws:SourceArn": topicArn } },
            },
          ],
        };
        await this.#sqs.send(
          new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { Policy: JSON.stringify(policy) } }),
        );
        await sns.send(
          new SubscribeCommand({
            TopicArn: topicArn,
            Protocol: "sqs",
            Endpoint: queueArn,
            Attributes: { RawMessageDelivery: "true" },
            ReturnSubscriptionArn: true,
          }),
        );
      } catch (error) {
        throw translate(error, `cannot subscribe queue ${queue} to topic ${topic}`);
      }
      return url;
    });
  }

  async ensureGroup(topic: string, group: string): Promise<void> {
    this.#assertOpen();
    await this.#groupQueue(topic, group);
  }

  /** Approximate counts from the queue's attributes (see `stats.ts`). */
  async stats(source: Source): Promise<SourceStats> {
    this.#assertOpen();
    const queue = this.#queueName(
      source.kind === "queue" ? source.name : groupQueueName(source.name, source.group),
    );
    return queueStats(this.#sqs, queue, () => this.#queueUrl(queue, false));
  }

  async deleteQueue(name: string): Promise<void> {
    this.#assertOpen();
    await this.#deleteBrokerQueue(name);
  }

  /**
   * Delete the SNS topic (its subscriptions go with it) and the group queues subscribed to it.
   * The topic is looked up with CreateTopic (idempotent: a missing one is made, then deleted).
   */
  async deleteTopic(topic: string): Promise<void> {
    this.#assertOpen();
    const sns = this.#requireSns(`topic ${topic}`);
    const name = this.#topicName(topic);
    const arn = await this.#topicArn(topic, true);
    const queueArns = await this.#subscribedQueues(sns, arn);
    this.#topics.delete(name);
    this.#groups.clear(); // a group declared again subscribes again
    for (const queueArn of queueArns) {
      const queue = queueArn.slice(queueArn.lastIndexOf(":") + 1);
      if (!isGroupQueueOf(queue, topic, this.#o.prefix, this.#o.fifo, MAX_QUEUE_NAME)) continue;
      await this.#deleteQueueByBrokerName(queue);
    }
    try {
      await sns.send(new DeleteTopicCommand({ TopicArn: arn }));
    } catch (error) {
      if (!/NotFound/.test(errorName(error))) throw translate(error, `cannot delete SNS topic ${name}`);
    }
  }

  /** Unsubscribe a group's queue from the topic and delete it; the topic stays. */
  async deleteGroup(topic: string, group: string): Promise<void> {
    this.#assertOpen();
    const sns = this.#requireSns(`topic ${topic}`);
    const omnibusName = groupQueueName(topic, group);
    const queue = this.#queueName(omnibusName);
    this.#groups.delete(queue);
    let queueArn: string | undefined;
    try {
      const url = await this.#queueUrl(queue, false);
      const attrs = await this.#sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }),
      );
      queueArn = attrs.Attributes?.QueueArn;
    } catch (error) {
      if (!(error instanceof ConfigError) && !isQueueMissing(error)) throw error;
    }
    if (queueArn) {
      // The topic's ARN is the queue's with the service and the name changed (same region and account).
      const topicArn = queueArn
        .replace(/^arn:([^:]+):sqs:/, "arn:$1:sns:")
        .replace(/[^:]+$/, this.#topicName(topic));
      for (const subscription of await this.#subscriptions(sns, topicArn)) {
        if (subscription.endpoint !== queueArn) continue;
        try {
          await sns.send(new UnsubscribeCommand({ SubscriptionArn: subscription.arn }));
        } catch (error) {
          if (!/NotFound/.test(errorName(error))) throw translate(error, `cannot unsubscribe ${queue}`);
        }
      }
    }
    await this.#deleteBrokerQueue(omnibusName);
  }

  /** The subscriptions of a topic (none when the topic does not exist). */
  async #subscriptions(sns: SNSClient, topicArn: string): Promise<{ arn: string; endpoint: string }[]> {
    const out: { arn: string; endpoint: string }[] = [];
    let NextToken: string | undefined;
    try {
      do {
        const page = await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn, NextToken }));
        for (const sub of page.Subscriptions ?? []) {
          if (sub.Protocol === "sqs" && sub.Endpoint && sub.SubscriptionArn)
            out.push({ arn: sub.SubscriptionArn, endpoint: sub.Endpoint });
        }
        NextToken = page.NextToken;
      } while (NextToken);
    } catch (error) {
      if (/NotFound/.test(errorName(error))) return out;
      throw translate(error, `cannot list the subscriptions of ${topicArn}`);
    }
    return out;
  }

  async #subscribedQueues(sns: SNSClient, topicArn: string): Promise<string[]> {
    return (await this.#subscriptions(sns, topicArn)).map((s) => s.endpoint);
  }

  /** Delete a queue by its SQS name (a group queue found through its subscription). */
  async #deleteQueueByBrokerName(queue: string): Promise<void> {
    this.#urls.delete(queue);
    this.#groups.delete(queue);
    let url: string;
    try {
      const out = await this.#sqs.send(new GetQueueUrlCommand({ QueueName: queue }));
      url = out.QueueUrl!;
    } catch (error) {
      if (isQueueMissing(error)) return;
      throw translate(error, `cannot look up SQS queue ${queue}`);
    }
    try {
      await this.#sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
    } catch (error) {
      if (!isQueueMissing(error)) throw translate(error, `cannot delete SQS queue ${queue}`);
    }
  }

  async #deleteBrokerQueue(name: string): Promise<void> {
    const queue = this.#queueName(name);
    let url: string;
    try {
      url = await (this.#urls.get(queue) ?? this.#queueUrl(queue, false));
    } catch (error) {
      if (error instanceof ConfigError) return; // not there: nothing to delete
      throw error;
    }
    this.#urls.delete(queue);
    this.#ephemeral.delete(name);
    try {
      await this.#sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
    } catch (error) {
      if (!isQueueMissing(error)) throw translate(error, `cannot delete SQS queue ${queue}`);
    }
  }

  // ------------------------------------------------------------------ sending

  async send(address: Address, messages: readonly OutboundMessage[]): Promise<void> {
    this.#assertOpen();
    if (messages.length === 0) return;
    try {
      await this.#send(address, messages);
    } catch (error) {
      // The queue / topic lookup on the way fails with a ConnectionError: a send rejects with a
      // PublishError (the SPI), network errors included.
      throw asPublishError(error);
    }
  }

  async #send(address: Address, messages: readonly OutboundMessage[]): Promise<void> {
    const outgoing: Outgoing[] = messages.map((message) => {
      if (message.delayMs !== undefined && message.delayMs > 0) {
        if (this.#o.fifo) throw new UnsupportedFeatureError("SQS FIFO queues have no per-message delay");
        if (message.delayMs > MAX_DELAY_MS) {
          throw new UnsupportedFeatureError(
            `SQS delays messages by at most ${MAX_DELAY_MS} ms, asked ${message.delayMs}`,
          );
        }
      }
      const wire = encodeMessage(message, { bmpOnly: this.#o.bmpOnly });
      if (wire.size > MAX_WIRE_BYTES) {
        throw new MessageTooLargeError(
          `message ${message.id} is ${wire.size} bytes on the wire (body + attributes); SQS takes at most ${MAX_WIRE_BYTES}`,
        );
      }
      return { message, wire, size: wire.size };
    });
    const batches = chunkBatches(outgoing, 10);
    const sendOne =
      address.kind === "queue"
        ? (batch: Outgoing[]) => this.#sendToQueue(address.name, batch)
        : (batch: Outgoing[]) => this.#publish(address.name, batch);
    // FIFO: messages with one key must reach SQS in the order of the send() calls, but core sends
    // the chunks of a large batch concurrently. So a send waits for the earlier sends that share a
    // key with it (per destination) and sends its own batches one after the other. Messages
    // without a key (MessageGroupId = their id) carry no order and go out in parallel.
    const keys = this.#o.fifo
      ? [
          ...new Set(
            messages
              .filter((m) => m.key !== undefined)
              .map((m) => `${address.kind}:${address.name}:${m.key}`),
          ),
        ]
      : [];
    if (keys.length === 0) {
      await Promise.all(batches.map(sendOne));
      return;
    }
    const previous = keys.map((k) => this.#fifoChains.get(k)).filter((p) => p !== undefined);
    const run = (async () => {
      await Promise.all(previous);
      for (const batch of batches) await sendOne(batch);
    })();
    const settled = run.then(
      () => {},
      () => {},
    );
    for (const k of keys) this.#fifoChains.set(k, settled);
    void settled.then(() => {
      for (const k of keys) if (this.#fifoChains.get(k) === settled) this.#fifoChains.delete(k);
    });
    await run;
  }

  async #sendToQueue(name: string, batch: Outgoing[]): Promise<void> {
    const queue = this.#queueName(name);
    let url = await this.#queueUrl(queue, this.#o.autoCreate);
    await this.#withBatchRetries(batch, {
      what: `SQS queue ${queue}`,
      call: async (pending) =>
        (
          await this.#sqs.send(
            new SendMessageBatchCommand({
              QueueUrl: url,
              Entries: pending.map((o, i) => this.#sqsEntry(o, i)),
            }),
          )
        ).Failed,
      missing: isQueueMissing,
      // Deleted behind our back: declare again.
      recreate: async () => {
        url = await this.#queueUrl(queue, true, true);
      },
      failure: `cannot send to SQS queue ${queue}`,
    });
  }

  /**
   * One batch call with the retries both SQS and SNS batches need: re-create a destination that
   * vanished (when `autoCreate`), retry throttling and server faults with backoff, resend only
   * the entries the broker failed, and fail on the first entry it refused for good.
   */
  async #withBatchRetries(
    batch: Outgoing[],
    how: {
      what: string;
      call: (
        pending: Outgoing[],
      ) => Promise<{ Id?: string; SenderFault?: boolean; Code?: string; Message?: string }[] | undefined>;
      missing: (error: unknown) => boolean;
      recreate: () => Promise<void>;
      failure: string;
    },
  ): Promise<void> {
    let pending = batch;
    for (let attempt = 0; ; attempt++) {
      let failed: { index: number; senderFault: boolean; code: string; message: string }[];
      try {
        const out = await this.#sendSlots.run(() => how.call(pending));
        failed = (out ?? []).map((f) => ({
          index: Number(f.Id),
          senderFault: f.SenderFault === true,
          code: f.Code ?? "",
          message: f.Message ?? "",
        }));
      } catch (error) {
        if (how.missing(error) && this.#o.autoCreate && attempt < SEND_ATTEMPTS) {
          await how.recreate();
          continue;
        }
        if (isTransient(error) && !isNetworkError(error) && attempt < SEND_ATTEMPTS - 1 && !this.#closed) {
          // Throttled or a 5xx the SDK already retried: give it a little more time. (Network errors
          // were retried by the SDK too, and mean the broker is away: fail now.)
          await sleep(backoff(attempt));
          continue;
        }
        throw translate(error, how.failure, true);
      }
      if (failed.length === 0) return;
      const fatal =
        failed.find((f) => f.senderFault) ?? (attempt >= SEND_ATTEMPTS - 1 ? failed[0] : undefined);
      if (fatal) {
        const id = pending[fatal.index]?.message.id;
        throw new PublishError(`${how.what} refused message ${id}: ${fatal.code}: ${fatal.message}`, {
          retryable: !fatal.senderFault,
        });
      }
      pending = failed.map((f) => pending[f.index]!);
      await sleep(backoff(attempt));
    }
  }

  #sqsEntry(o: Outgoing, index: number) {
    const m = o.message;
    return {
      Id: String(index),
      MessageBody: o.wire.body,
      MessageAttributes: o.wire.attributes,
      ...(this.#o.fifo
        ? { MessageGroupId: fifoId(m.key ?? m.id), MessageDeduplicationId: deduplicationId(m) }
        : m.delayMs
          ? { DelaySeconds: delaySeconds(m.delayMs) }
          : {}),
    };
  }

  async #publish(topic: string, batch: Outgoing[]): Promise<void> {
    const sns = this.#requireSns(`topic ${topic}`);
    let arn = await this.#topicArn(topic);
    await this.#withBatchRetries(batch, {
      what: `SNS topic ${topic}`,
      call: async (pending) =>
        (
          await sns.send(
            new PublishBatchCommand({
              TopicArn: arn,
              PublishBatchRequestEntries: pending.map((o, i) => ({
                Id: String(i),
                Message: o.wire.body,
                MessageAttributes: o.wire.attributes,
                ...(this.#o.fifo
                  ? {
                      MessageGroupId: fifoId(o.message.key ?? o.message.id),
                      MessageDeduplicationId: deduplicationId(o.message),
                    }
                  : {}),
              })),
            }),
          )
        ).Failed,
      missing: isNotFound,
      recreate: async () => {
        arn = await this.#topicArn(topic, true);
      },
      failure: `cannot publish to SNS topic ${this.#topicName(topic)}`,
    });
  }

  // ------------------------------------------------------------------ settling (batched)

  async #deleteBatch(url: string, handles: string[]): Promise<(unknown | undefined)[]> {
    const out = await this.#sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: handles.map((h, i) => ({ Id: String(i), ReceiptHandle: h })),
      }),
    );
    return batchFailures(handles.length, out.Failed, "delete failed");
  }

  async #visibilityBatch(key: string, handles: string[]): Promise<(unknown | undefined)[]> {
    const space = key.indexOf(" ");
    const seconds = Number(key.slice(0, space));
    const url = key.slice(space + 1);
    const out = await this.#sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: url,
        Entries: handles.map((h, i) => ({ Id: String(i), ReceiptHandle: h, VisibilityTimeout: seconds })),
      }),
    );
    return batchFailures(handles.length, out.Failed, "visibility change failed");
  }

  // ------------------------------------------------------------------ consuming

  async consume(source: Source, options: ConsumeOptions): Promise<ConsumerHandle> {
    this.#assertOpen();
    if (!Number.isInteger(options.prefetch) || options.prefetch < 1) {
      throw new ConfigError(`prefetch must be a positive integer, got ${options.prefetch}`);
    }
    let declare: (redeclare: boolean) => Promise<string>;
    let label: string;
    let onClose = async () => {};
    if (source.kind === "topic") {
      this.#requireSns(`topic ${source.name}`);
      label = `topic ${source.name} group ${source.group}`;
      declare = (redeclare) => this.#groupQueue(source.name, source.group, redeclare);
    } else if (source.ephemeral) {
      const name = source.name;
      label = `queue ${name}`;
      this.#ephemeral.add(name);
      declare = (redeclare) => this.#queueUrl(this.#queueName(name), true, redeclare);
      onClose = async () => {
        await this.#deleteBrokerQueue(name).catch(() => {});
      };
    } else {
      const name = source.name;
      label = `queue ${name}`;
      declare = (redeclare) => this.#queueUrl(this.#queueName(name), this.#o.autoCreate, redeclare);
    }
    const ctx: ConsumerContext = {
      receiver: this.#receiver,
      visibilityTimeoutSeconds: this.#o.visibilityTimeoutSeconds,
      waitTimeSeconds: this.#o.waitTimeSeconds,
      maxPollers: this.#o.maxPollers,
      deletes: this.#deletes,
      visibility: this.#visibility,
      label,
      declare,
      onClose,
      onIdle: () => this.#consumers.delete(consumer),
    };
    const consumer = new SqsConsumer(ctx, options);
    this.#consumers.add(consumer);
    try {
      await consumer.start();
    } catch (error) {
      this.#consumers.delete(consumer);
      if (source.kind === "queue" && source.ephemeral) this.#ephemeral.delete(source.name);
      throw error;
    }
    return consumer;
  }
}

/** Per entry of a batch request, its failure (an Error named by SQS's code) or `undefined`. */
function batchFailures(
  count: number,
  failed: readonly { Id?: string; Code?: string; Message?: string }[] | undefined,
  what: string,
): (unknown | undefined)[] {
  const result: (unknown | undefined)[] = new Array(count).fill(undefined);
  for (const f of failed ?? []) {
    result[Number(f.Id)] = Object.assign(new Error(f.Message ?? f.Code ?? what), { name: f.Code });
  }
  return result;
}
