import { PublishError } from "@omnibus/core";
import type { Channel, ChannelModel, ConfirmChannel, Message, Options } from "amqplib";

/**
 * The amqplib channel internals {@link Publisher} uses when present: there in amqplib 0.10 and 2.x
 * alike (test/publisher.integ.test.ts proves them on the amqplib the adapter is tested with).
 */
interface Internals {
  pushConfirmCallback?: (cb: (error: unknown) => void) => void;
  sendMessage?: (fields: object, properties: object, content: Buffer) => boolean;
  /** The callbacks of the publishes not confirmed yet, by delivery tag from `lwm`. */
  unconfirmed?: unknown[];
}

/** A server error that closed a channel: AMQP reply code 404, 405, 406… */
export function amqpCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "number" ? code : undefined;
}

/** The broker did not answer a call within its bound (the caller maps it to its typed error). */
export class BrokerTimeout extends Error {
  constructor(
    readonly what: string,
    readonly ms: number,
  ) {
    super(`${what}: no answer from the broker within ${ms} ms`);
    this.name = "BrokerTimeout";
  }
}

/**
 * `promise`, or a rejection with `onTimeout()` after `ms`. The timer is unref'd: a bound never
 * keeps the process alive by itself.
 */
export function within<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
    timer.unref?.();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Drop a connection's socket without the AMQP close handshake (the broker may not answer it).
 * Destroyed with an error, so that amqplib sees the socket fail and closes the connection
 * (heartbeat timer included; a plain `destroy()` emits no 'error' nor 'end', and amqplib would
 * only notice at its heartbeat timeout). The connection must have an 'error' listener.
 */
export function dropSocket(connection: ChannelModel): void {
  const stream = (
    connection as unknown as { connection?: { stream?: { destroy?: (error?: Error) => void } } }
  ).connection?.stream;
  try {
    stream?.destroy?.(new Error("rabbitmq: connection dropped (the broker did not answer)"));
  } catch {
    // already gone
  }
}

/** amqplib's rejection of an RPC that was queued on a channel another RPC's failure closed. */
function channelEnded(error: unknown): boolean {
  const message = (error as Error | null)?.message ?? "";
  return /Channel ended|Channel closed|Channel closing/i.test(message) && amqpCode(error) === undefined;
}

/**
 * The confirm channel all sends of one connection go through. Many publishes are in flight at
 * once; each resolves on its own broker confirm. A `mandatory` message the broker returns as
 * unroutable is rejected (RabbitMQ sends `basic.return` before the `basic.ack` of that message).
 */
export class Publisher {
  open = true;
  /** The channel's write buffer is over its high-water mark: wait for {@link Publisher.drained}. */
  blocked = false;
  readonly #returned = new Map<string, number>();
  #drainWaiters: (() => void)[] = [];

  constructor(
    readonly channel: ConfirmChannel,
    /** Called when the broker returned a mandatory message: the queue does not exist (any more). */
    readonly onUnroutable: (exchange: string, routingKey: string) => void = () => {},
  ) {
    channel.on("error", () => {
      // The 'close' that follows is what matters; in-flight publishes are rejected by amqplib.
    });
    channel.on("close", () => {
      this.open = false;
      this.#wake();
    });
    channel.on("drain", () => this.#wake());
    channel.on("return", (message: Message) => {
      const id = message.properties.messageId;
      if (typeof id === "string") this.#returned.set(id, (this.#returned.get(id) ?? 0) + 1);
    });
  }

  /**
   * A nack: no more publishes on this channel; the next one opens another, and this one closes
   * once its confirms are in. RabbitMQ 3.10 nacks every later publish to a quorum queue on a
   * channel that published to it while its leader was being elected, and a new channel does not
   * (seen on a three-node cluster, raw amqplib too: 20 of 20 nacked on the old channel 5 s after
   * the election, 20 of 20 confirmed on a new one).
   */
  retire(): void {
    if (!this.open) return;
    this.open = false;
    this.#wake();
    this.channel
      .waitForConfirms()
      .catch(() => {})
      .finally(() => this.channel.close().catch(() => {}));
  }

  #wake(): void {
    this.blocked = false;
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const w of waiters) w();
  }

  /** Resolves when the channel's write buffer drained (or the channel closed). */
  drained(): Promise<void> {
    if (!this.open || !this.blocked) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  #takeReturned(id: string | undefined): boolean {
    if (id === undefined) return false;
    const n = this.#returned.get(id);
    if (n === undefined) return false;
    if (n <= 1) this.#returned.delete(id);
    else this.#returned.set(id, n - 1);
    return true;
  }

  /**
   * amqplib's `ConfirmChannel.publish` is `pushConfirmCallback` + `Args.publish` +
   * `sendMessage`. `Args.publish` wraps the headers in `Object.create(headers)`, and amqplib's
   * table encoder walks that prototype chain with `for…in`: ~9 µs a message with one header,
   * ~2 µs with none, against ~0.2 µs for no table at all. So, when amqplib has those methods
   * (0.10 and 2.x: the same code), build the same fields here with a plain (or no) header table;
   * else use `publish`. amqplib 2 queues the callback after `sendMessage` instead of before; the
   * order here is 0.10's, and `#unqueue` takes it back if the encoder throws.
   */
  #send(
    exchange: string,
    routingKey: string,
    content: Buffer,
    o: Options.Publish,
    cb: (error: unknown) => void,
  ): boolean {
    const ch = this.channel as unknown as Internals;
    if (typeof ch.pushConfirmCallback !== "function" || typeof ch.sendMessage !== "function") {
      return this.channel.publish(exchange, routingKey, content, o, cb);
    }
    const fields = {
      exchange,
      routingKey,
      mandatory: !!o.mandatory,
      immediate: false,
      ticket: undefined,
      contentType: o.contentType,
      contentEncoding: undefined,
      headers: o.headers,
      deliveryMode: o.persistent ? 2 : 1,
      priority: o.priority,
      correlationId: o.correlationId,
      replyTo: o.replyTo,
      expiration: undefined,
      messageId: o.messageId,
      timestamp: o.timestamp,
      type: undefined,
      userId: undefined,
      appId: undefined,
      clusterId: undefined,
    };
    ch.pushConfirmCallback(cb);
    return ch.sendMessage(fields, fields, content);
  }

  /**
   * amqplib queues the confirm callback before it encodes the message; when the encoder throws
   * (nothing was written), that callback would take the confirm of the next message. Take it
   * back out: it is the last one queued, since publishing is synchronous.
   */
  #unqueue(cb: (error: unknown) => void): void {
    const unconfirmed = (this.channel as unknown as Internals).unconfirmed;
    if (Array.isArray(unconfirmed) && unconfirmed[unconfirmed.length - 1] === cb) unconfirmed.pop();
  }

  /**
   * Publish one message. `confirmed` settles on the broker's confirm; `full` is true when the
   * caller should wait for {@link Publisher.drained} before publishing more.
   */
  publish(
    exchange: string,
    routingKey: string,
    content: Buffer,
    options: Options.Publish,
    describe: () => string,
  ): { confirmed: Promise<void>; full: boolean } {
    let full = false;
    const confirmed = new Promise<void>((resolve, reject) => {
      if (!this.open) {
        reject(new PublishError(`${describe()}: the channel closed before the message was sent`));
        return;
      }
      const onConfirm = (error: unknown) => {
        if (error) {
          const lost = /closed/i.test((error as Error).message ?? "");
          if (!lost) this.retire();
          reject(
            new PublishError(
              lost
                ? `${describe()}: the connection was lost before the broker confirmed the message`
                : `${describe()}: the broker refused the message`,
              { cause: error },
            ),
          );
        } else if (options.mandatory && this.#takeReturned(options.messageId)) {
          this.onUnroutable(exchange, routingKey);
          reject(new PublishError(`${describe()}: unroutable (the queue does not exist)`));
        } else {
          resolve();
        }
      };
      try {
        full = this.blocked = !this.#send(exchange, routingKey, content, options, onConfirm);
      } catch (error) {
        this.#unqueue(onConfirm);
        reject(new PublishError(`${describe()}: ${(error as Error).message}`, { cause: error }));
      }
    });
    return { confirmed, full };
  }
}

/**
 * One live connection and what hangs off it: the publisher, a channel for declarations, and the
 * names declared on it. A reconnect builds a new Link, so caches never outlive their connection.
 */
export class Link {
  open = true;
  /** Names (with a kind prefix) known to exist on the broker through this connection. */
  readonly ready = new Set<string>();
  /** Declarations in progress or done, by the same key as {@link Link.ready}. */
  readonly declaring = new Map<string, Promise<void>>();
  /** When a wait queue was last declared (its `x-expires` lease is renewed by declaring). */
  readonly leases = new Map<string, number>();
  /**
   * The broker restarted between this adapter's previous connection and this one (its transient
   * epoch exchange was gone): a classic queue then flags every message it recovered as
   * redelivered, delivered before or not.
   */
  brokerRestarted = false;
  #publisher: Publisher;
  #publisherOpening: Promise<Publisher> | undefined;
  #topology: Promise<Channel> | undefined;
  #topologyOpen = false;

  constructor(
    readonly connection: ChannelModel,
    publisher: ConfirmChannel,
    /** Bound on each broker call made through the link (declarations, opening channels). */
    readonly callTimeoutMs = 15_000,
  ) {
    this.#publisher = new Publisher(publisher, this.#unroutable);
  }

  /** The broker's version from its `connection.start` properties, e.g. "3.10.8". */
  get serverVersion(): string | undefined {
    const version = (this.connection as { connection?: { serverProperties?: { version?: unknown } } })
      .connection?.serverProperties?.version;
    return typeof version === "string" ? version : undefined;
  }

  readonly #unroutable = (exchange: string, routingKey: string): void => {
    if (exchange === "") this.forget(`q:${routingKey}`); // deleted under us: declare again next time
  };

  /** The current publisher channel, if open (the hot path: no await). */
  get publisherNow(): Publisher | undefined {
    return this.#publisher.open ? this.#publisher : undefined;
  }

  get publisherChannel(): ConfirmChannel {
    return this.#publisher.channel;
  }

  /** The publisher, reopening its channel if the broker closed it. */
  async publisher(): Promise<Publisher> {
    if (this.#publisher.open) return this.#publisher;
    if (!this.#publisherOpening) {
      const opening = this.connection.createConfirmChannel();
      this.#publisherOpening = within(opening, this.callTimeoutMs, () => {
        // If it opens after all, too late, it is not used.
        opening.then(
          (ch) => ch.close().catch(() => {}),
          () => {},
        );
        return new BrokerTimeout("opening the publisher channel", this.callTimeoutMs);
      })
        .then((ch) => {
          this.#publisher = new Publisher(ch, this.#unroutable);
          return this.#publisher;
        })
        .finally(() => {
          this.#publisherOpening = undefined;
        });
    }
    return this.#publisherOpening;
  }

  #topologyChannel(): Promise<Channel> {
    if (this.#topology && this.#topologyOpen) return this.#topology;
    this.#topologyOpen = true;
    const opening = this.connection.createChannel().then((ch) => {
      ch.on("error", () => {});
      ch.on("close", () => {
        if (this.#topology === opening) this.#topologyOpen = false;
      });
      return ch;
    });
    opening.catch(() => {
      if (this.#topology === opening) this.#topologyOpen = false;
    });
    this.#topology = opening;
    return opening;
  }

  /**
   * Run declarations on the shared topology channel. A server error (404/405/406) closes that
   * channel: the error is passed on with its `code`, and the next call opens a fresh channel.
   * Calls that were only queued behind the failing one are retried.
   */
  async declare<T>(fn: (channel: Channel) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const opening = this.#topologyChannel();
      const timedOut = () => {
        // The channel runs one call at a time: one the broker never answers wedges every call
        // queued behind it. Leave that channel; the next call opens another.
        if (this.#topology === opening) this.#topologyOpen = false;
        opening.then((ch) => ch.close().catch(() => {})).catch(() => {});
        return new BrokerTimeout("a declaration", this.callTimeoutMs);
      };
      const channel = await within(opening, this.callTimeoutMs, timedOut);
      try {
        return await within(fn(channel), this.callTimeoutMs, timedOut);
      } catch (error) {
        if (this.open && attempt < 3 && channelEnded(error)) continue;
        throw error;
      }
    }
  }

  /** Declare once per connection under `key`; concurrent callers share the same declaration. */
  once(key: string, fn: () => Promise<void>): Promise<void> {
    let p = this.declaring.get(key);
    if (!p) {
      p = fn().then(
        () => {
          this.ready.add(key);
        },
        (error) => {
          this.declaring.delete(key);
          throw error;
        },
      );
      this.declaring.set(key, p);
    }
    return p;
  }

  /** Forget a declaration (the queue was deleted). */
  forget(key: string): void {
    this.ready.delete(key);
    this.declaring.delete(key);
  }
}
