import { setTimeout as sleep } from "node:timers/promises";
import { CreateQueueCommand, SQSClient } from "@aws-sdk/client-sqs";
import { MessageHandlerConfigBuilder } from "@message-queue-toolkit/core";
import {
  AbstractSqsConsumer,
  AbstractSqsPublisher,
  deleteQueue,
  type SQSConsumerDependencies,
  type SQSDependencies,
  SqsConsumerErrorResolver,
} from "@message-queue-toolkit/sqs";
import type { Body } from "../payload.js";
import type { Driver } from "../types.js";
import {
  BODY_MESSAGE,
  type BodyMessage,
  bodyMessage,
  consumerDependencies,
  dependencies,
  MESSAGE_TYPE,
  once,
} from "./mqt-common.js";

type OnBody = (body: Body) => void;

/** The consumer's settings, or the toolkit's defaults (one poller, one message per receive, 20 s long poll). */
type Tuning = { readonly pollers: number; readonly waitTimeSeconds: number } | "defaults";

/** A publisher to one queue (standard, not FIFO), as the toolkit's README and tests write one. */
class BodyPublisher extends AbstractSqsPublisher<BodyMessage> {
  constructor(deps: SQSDependencies, queueName: string) {
    super(deps, {
      locatorConfig: { queueName },
      messageSchemas: [BODY_MESSAGE],
      messageTypeResolver: MESSAGE_TYPE,
    });
  }
}

/**
 * A consumer of one queue with one handler: `concurrentConsumersAmount` sqs-consumer pollers,
 * each receiving up to `batchSize` messages, running the handler on each and deleting each
 * message (`DeleteMessage`, one call per message) once its handler resolved.
 */
class BodyConsumer extends AbstractSqsConsumer<BodyMessage, OnBody, undefined> {
  constructor(deps: SQSConsumerDependencies, queueName: string, onBody: OnBody, tuning: Tuning) {
    super(
      deps,
      {
        locatorConfig: { queueName },
        messageTypeResolver: MESSAGE_TYPE,
        ...(tuning === "defaults"
          ? {}
          : {
              concurrentConsumersAmount: tuning.pollers,
              consumerOverrides: { batchSize: 10, waitTimeSeconds: tuning.waitTimeSeconds },
            }),
        handlers: new MessageHandlerConfigBuilder<BodyMessage, OnBody>()
          .addConfig(BODY_MESSAGE, async (message, handle) => {
            handle(message.payload);
            return { result: "success" };
          })
          .build(),
      },
      onBody,
    );
  }
}

/**
 * message-queue-toolkit on SQS (`@message-queue-toolkit/sqs`): an `AbstractSqsPublisher` per queue
 * (one `SendMessage` per `publish`, awaited: SQS's answer is its confirm), an
 * `AbstractSqsConsumer` per `consume` with the raw driver's 8 pollers, 10 messages per receive and
 * a 1 s long poll, deleting each message after its handler. The toolkit has no batch send and
 * no batch delete (sqs-consumer's `handleMessageBatch` is not exposed).
 *
 * The queue is created with `CreateQueue` and the toolkit finds it (`locatorConfig`): its own
 * `creationConfig` path first asks `GetQueueUrl` and recognises a missing queue only by AWS's
 * query-compatible code `AWS.SimpleQueueService.NonExistentQueue`, which ElasticMQ does not send
 * (it sends `com.amazonaws.sqs#QueueDoesNotExist`), so on ElasticMQ it fails instead of creating.
 */
export class MqtSqs implements Driver {
  // The compared side of its own row (mqt-*), as pg-boss is in the pgboss row.
  readonly side = "raw" as const;
  readonly rpcNote = "message-queue-toolkit has no request-reply";
  readonly #client: SQSClient;
  readonly #publishers = new Map<string, Promise<BodyPublisher>>();

  /**
   * @param endpoint the SQS endpoint (e.g. ElasticMQ's `http://127.0.0.1:9324`)
   * @param tuning sqs-consumer instances per consumer (the toolkit's `concurrentConsumersAmount`)
   *   and the long-poll wait of each receive (10 messages per receive), or `"defaults"`
   */
  constructor(
    endpoint: string,
    private readonly tuning: Tuning = { pollers: 8, waitTimeSeconds: 1 },
  ) {
    this.#client = new SQSClient({
      endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "bench", secretAccessKey: "bench" },
    });
  }

  get #deps(): SQSDependencies {
    return { ...dependencies, sqsClient: this.#client };
  }

  #name(queue: string): string {
    return `benchmqt-${queue}`;
  }

  async connect(): Promise<void> {}

  /** The queue's publisher, made and initialised once (`init` rejects: made again on the next call). */
  #publisher(queue: string): Promise<BodyPublisher> {
    return once(this.#publishers, queue, async () => {
      const made = new BodyPublisher(this.#deps, this.#name(queue));
      await this.#client.send(new CreateQueueCommand({ QueueName: this.#name(queue) }));
      await made.init(); // finds the queue (url, arn)
      return made;
    });
  }

  async prepare(queue: string): Promise<void> {
    await this.#publisher(queue);
  }

  async consume(queue: string, onBody: (body: Body) => void): Promise<() => Promise<void>> {
    const consumer = new BodyConsumer(
      consumerDependencies(this.#deps, new SqsConsumerErrorResolver()),
      this.#name(queue),
      onBody,
      this.tuning,
    );
    await consumer.start();
    return async () => {
      await consumer.close();
      // sqs-consumer's stop does not wait for a receive in flight: let the last long polls end
      // (and their messages be handled) before the queue is deleted.
      await sleep((this.tuning === "defaults" ? 20 : this.tuning.waitTimeSeconds) * 1000 + 500);
    };
  }

  async sendWindow(queue: string, from: number, to: number, size: number): Promise<void> {
    const publisher = await this.#publisher(queue);
    const sends: Promise<void>[] = [];
    for (let i = from; i < to; i++) sends.push(publisher.publish(bodyMessage(i, size)));
    await Promise.all(sends);
  }

  async sendTick(queue: string, from: number, to: number, size: number, t: number): Promise<void> {
    const publisher = await this.#publisher(queue);
    const sends: Promise<void>[] = [];
    for (let i = from; i < to; i++) sends.push(publisher.publish(bodyMessage(i, size, t)));
    await Promise.all(sends);
  }

  async cleanup(queue: string): Promise<void> {
    const publisher = this.#publishers.get(queue);
    this.#publishers.delete(queue);
    await (await publisher?.catch(() => undefined))?.close();
    await deleteQueue(this.#client, this.#name(queue), false);
  }

  async close(): Promise<void> {
    const publishers = [...this.#publishers.values()];
    this.#publishers.clear();
    for (const publisher of publishers) await (await publisher.catch(() => undefined))?.close();
    this.#client.destroy();
  }
}
