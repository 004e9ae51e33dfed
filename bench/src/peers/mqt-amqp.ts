import {
  AbstractAmqpQueueConsumer,
  AbstractAmqpQueuePublisher,
  type AMQPConsumerDependencies,
  type AMQPDependencies,
  type AMQPQueueConfig,
  type AmqpConfig,
  AmqpConnectionManager,
  AmqpConsumerErrorResolver,
} from "@message-queue-toolkit/amqp";
import { MessageHandlerConfigBuilder } from "@message-queue-toolkit/core";
import type { Body } from "../payload.js";
import type { Driver } from "../types.js";
import {
  BODY_MESSAGE,
  type BodyMessage,
  bodyMessage,
  consumerDependencies,
  dependencies,
  logger,
  MESSAGE_TYPE,
  once,
  turn,
} from "./mqt-common.js";

type OnBody = (body: Body) => void;

/** Persistent messages (delivery mode 2): the toolkit takes amqplib's publish options per `publish`. */
const PERSISTENT = { publishOptions: { persistent: true } };

/** A publisher to one queue, as the toolkit's README and tests write one. */
class BodyPublisher extends AbstractAmqpQueuePublisher<BodyMessage> {
  constructor(deps: AMQPDependencies, queueName: string, queueOptions: AMQPQueueConfig) {
    super(deps, {
      creationConfig: { queueName, queueOptions },
      messageSchemas: [BODY_MESSAGE],
      messageTypeResolver: MESSAGE_TYPE,
      // Fail fast instead of queueing publishes behind an init the caller cannot await.
      isLazyInitEnabled: false,
    });
  }
}

/** A consumer of one queue with one handler (one message type), acking each message after it. */
class BodyConsumer extends AbstractAmqpQueueConsumer<BodyMessage, OnBody> {
  constructor(
    deps: AMQPConsumerDependencies,
    queueName: string,
    queueOptions: AMQPQueueConfig,
    onBody: OnBody,
    private readonly prefetch: number,
  ) {
    super(
      deps,
      {
        creationConfig: { queueName, queueOptions },
        messageTypeResolver: MESSAGE_TYPE,
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

  /**
   * The toolkit sets no prefetch (no `basic.qos`: the broker pushes the whole queue). Its hook
   * that runs on every new channel, before `consume`, sets the same prefetch as the raw driver.
   */
  protected override async createMissingEntities(): Promise<void> {
    if (this.prefetch > 0) await this.channel.prefetch(this.prefetch);
    await super.createMissingEntities();
  }
}

/**
 * message-queue-toolkit on RabbitMQ (`@message-queue-toolkit/amqp`): one `AmqpConnectionManager`
 * (one connection, reconnecting), an `AbstractAmqpQueuePublisher` per queue sending persistent
 * messages to a durable queue of the type Omnibus declares, an `AbstractAmqpQueueConsumer` per
 * `consume` (its own channel) acking every message after its handler resolved.
 *
 * What the toolkit does not do: its publisher uses a plain channel, not a confirm channel, and
 * `publish` returns `void` (fire-and-forget; `sendToQueue`'s backpressure signal is ignored, and
 * a publish on a closed channel only triggers a reconnect), so a window here resolves after one
 * event-loop turn that lets amqplib write it to the socket, not on a broker confirm: nothing
 * tells the sender of a message the broker did not take. Its connection has Nagle on (amqplib's
 * `connect(url)` without `noDelay`). The manager keeps every publisher and consumer made on it
 * (closed ones too) and hands each a new channel after a reconnect, which re-asserts its queue.
 */
export class MqtRabbitMQ implements Driver {
  // The compared side of its own row (mqt-*), as pg-boss is in the pgboss row.
  readonly side = "raw" as const;
  readonly rpcNote = "message-queue-toolkit has no request-reply";
  readonly #manager: AmqpConnectionManager;
  readonly #publishers = new Map<string, Promise<BodyPublisher>>();
  readonly #queueOptions: AMQPQueueConfig;

  /**
   * @param url `amqp://user:pass@host:port/vhost` (or `amqps://`)
   * @param queueType the queue type Omnibus declares (classic unless told otherwise)
   * @param prefetch per consumer channel, as the raw driver's; 0: the toolkit's default (none)
   */
  constructor(
    url: string,
    queueType: "quorum" | "classic" = "classic",
    private readonly prefetch = 1000,
  ) {
    const u = new URL(url);
    const tls = u.protocol === "amqps:";
    // The toolkit builds `amqp://${username}:${password}@host:port/${vhost}` from these, so
    // they stay percent-encoded as the URL has them.
    const config: AmqpConfig = {
      hostname: u.hostname,
      port: u.port ? Number(u.port) : tls ? 5671 : 5672,
      username: u.username || "guest",
      password: u.password || "guest",
      vhost: u.pathname.slice(1),
      useTls: tls,
    };
    this.#manager = new AmqpConnectionManager(config, logger);
    this.#queueOptions = { durable: true, autoDelete: false, arguments: { "x-queue-type": queueType } };
  }

  get #deps(): AMQPDependencies {
    return { ...dependencies, amqpConnectionManager: this.#manager };
  }

  async connect(): Promise<void> {
    await this.#manager.init();
  }

  /** The queue's publisher, made and initialised once (`init` rejects: made again on the next call). */
  #publisher(queue: string): Promise<BodyPublisher> {
    return once(this.#publishers, queue, async () => {
      const made = new BodyPublisher(this.#deps, queue, this.#queueOptions);
      await made.init(); // opens its channel and asserts the queue
      return made;
    });
  }

  async prepare(queue: string): Promise<void> {
    await this.#publisher(queue);
  }

  async consume(queue: string, onBody: (body: Body) => void): Promise<() => Promise<void>> {
    const consumer = new BodyConsumer(
      consumerDependencies(this.#deps, new AmqpConsumerErrorResolver()),
      queue,
      this.#queueOptions,
      onBody,
      this.prefetch,
    );
    await consumer.start();
    // Closing the channel requeues what was delivered and not acked yet.
    return () => consumer.close();
  }

  async sendWindow(queue: string, from: number, to: number, size: number): Promise<void> {
    const publisher = await this.#publisher(queue);
    for (let i = from; i < to; i++) publisher.publish(bodyMessage(i, size), PERSISTENT);
    await turn();
  }

  async sendTick(queue: string, from: number, to: number, size: number, t: number): Promise<void> {
    const publisher = await this.#publisher(queue);
    for (let i = from; i < to; i++) publisher.publish(bodyMessage(i, size, t), PERSISTENT);
    await turn();
  }

  async cleanup(queue: string): Promise<void> {
    const publisher = this.#publishers.get(queue);
    this.#publishers.delete(queue);
    await (await publisher?.catch(() => undefined))?.close();
    // The toolkit deletes queues only through a consumer's `deletionConfig` (before it starts);
    // a channel of its connection does it here.
    const channel = await (await this.#manager.getConnection()).createChannel();
    channel.on("error", () => {});
    try {
      await channel.deleteQueue(queue);
    } finally {
      await channel.close().catch(() => {});
    }
  }

  async close(): Promise<void> {
    // Closes every publisher and consumer made on it (it keeps them all), then the connection.
    this.#publishers.clear();
    await this.#manager.close();
  }
}
