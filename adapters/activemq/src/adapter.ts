import {
  type Adapter,
  type Address,
  ClosedError,
  ConfigError,
  ConnectionError,
  type ConsumeOptions,
  type ConsumerHandle,
  type Features,
  type InboundMessage,
  type Logger,
  MessageTooLargeError,
  type OutboundMessage,
  PublishError,
  type Source,
  type SourceStats,
} from "@omnibus/core";
import { INBOX_PREFIX, messageBytes, redact, shortId } from "@omnibus/core/adapter";
import rhea, {
  type Connection,
  type ConnectionOptions,
  type Container,
  type Delivery,
  type EventContext,
  type Message,
  type Receiver,
  type ReceiverOptions,
  type Sender,
} from "rhea";
import { ArtemisConsumer, type ConsumerHost, linkError } from "./consumer.js";
import { groupFqqn, groupQueue, topicAddress } from "./names.js";
import type { Settings } from "./options.js";
import { toAmqp } from "./wire.js";

/** The escape hatch: the rhea container and connection the adapter runs on. */
export interface ActiveMQNative {
  /** The rhea container (`rhea.create_container()`). */
  readonly container: Container;
  /** The AMQP 1.0 connection to the broker (rhea re-opens it after a disconnect). */
  readonly connection: Connection;
}

const MAX_BATCH = 1000;
/** Artemis's management address (`management-address` in broker.xml). */
const MANAGEMENT = "activemq.management";
const MANAGEMENT_TIMEOUT_MS = 10_000;

interface Pending {
  resolve(): void;
  reject(error: Error): void;
}

/** A message waiting for the link's credit. */
interface Waiting {
  readonly message: Message;
  readonly pending: Pending;
}

/** A sender link to one address, with the deliveries it awaits an outcome for. */
interface SenderLink {
  readonly link: Sender;
  readonly opened: Promise<void>;
  readonly pending: Map<Delivery, Pending>;
  /** Messages of sends waiting for credit, in send order. */
  waiting: Waiting[];
}

/** A one-shot event. */
function signal(): { promise: Promise<void>; fire(): void } {
  let fire!: () => void;
  const promise = new Promise<void>((resolve) => {
    fire = resolve;
  });
  return { promise, fire };
}

/** The ActiveMQ Artemis adapter. Build it with {@link activemq}. */
export class ActiveMQAdapter implements Adapter<ActiveMQNative>, ConsumerHost {
  readonly name = "activemq";
  readonly features: Features;
  readonly #o: Settings;
  readonly #container: Container;
  #connection: Connection | undefined;
  #connecting: Promise<void> | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  #open = false;
  #generation = 0;
  #up = signal();
  #logger: Logger | undefined;
  readonly #senders = new Map<string, SenderLink>();
  readonly #consumers = new Set<ArtemisConsumer>();
  #management: Promise<{ sender: SenderLink; replies: Receiver; address: string }> | undefined;
  readonly #calls = new Map<string, (reply: Message) => void>();

  constructor(settings: Settings) {
    this.#o = settings;
    this.#container = rhea.create_container({ id: `${settings.containerId}-${shortId()}` });
    this.features = Object.freeze({
      persistent: true,
      fanout: true,
      orderingByKey: true,
      delay: true,
      maxDelayMs: 2_147_483_647,
      priority: true,
      maxPriority: 9,
      maxMessageBytes: settings.maxMessageBytes,
      maxBatchSize: MAX_BATCH,
    });
  }

  get native(): ActiveMQNative {
    if (!this.#connection) throw new ConfigError("activemq: the adapter is not connected yet");
    return { container: this.#container, connection: this.#connection };
  }

  useLogger(logger: Logger): void {
    this.#logger ??= logger;
  }

  get generation(): number {
    return this.#generation;
  }

  warn(message: string, error?: unknown): void {
    const reason = error === undefined ? "" : `: ${redact(String((error as Error)?.message ?? error))}`;
    this.#logger?.warn(`${message}${reason}`);
  }

  // ------------------------------------------------------------------ connection

  connect(): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError("activemq: the adapter is closed"));
    this.#connecting ??= this.#connect();
    this.#connecting.catch(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  #where(): string {
    return `${this.#o.host}:${this.#o.port}`;
  }

  #connect(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const o = this.#o;
      const connection = this.#container.connect({
        host: o.host,
        port: o.port,
        transport: o.tls ? "tls" : "tcp",
        ...(o.username === undefined ? {} : { username: o.username, password: o.password ?? "" }),
        // No reconnect until the first open worked: an unreachable broker fails connect().
        reconnect: false,
        initial_reconnect_delay: 100,
        max_reconnect_delay: o.maxReconnectDelayMs,
        idle_time_out: 30_000,
        // TCP_NODELAY: dispositions and flow frames are small and latency-bound.
        noDelay: true,
      } as unknown as ConnectionOptions);
      let settled = false;
      const fail = (why: string, cause?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        connection.removeAllListeners();
        connection.on("error", () => {});
        connection.on("disconnected", () => {});
        connection.close();
        reject(
          new ConnectionError(`activemq: cannot connect to ${this.#where()}: ${redact(why)}`, {
            ...(cause === undefined ? {} : { cause: scrub(cause, o.password) }),
          }),
        );
      };
      const timer = setTimeout(
        () => fail(`no AMQP open within ${o.connectTimeoutMs} ms`),
        o.connectTimeoutMs,
      );
      timer.unref();
      connection.on("connection_open", () => {
        this.#generation++;
        this.#open = true;
        this.#up.fire();
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          this.#connection = connection;
          (connection as unknown as { set_reconnect(r: boolean): void }).set_reconnect(true);
          resolve();
        } else {
          this.#logger?.info(`activemq: reconnected to ${this.#where()}`);
        }
      });
      connection.on("connection_error", (context: EventContext) => {
        const error = context.connection.error as { description?: string; condition?: string } | undefined;
        const why = `${error?.condition ?? "refused"} ${error?.description ?? ""}`.trim();
        if (!settled) fail(`the broker refused the connection (${why})`);
        else this.warn(`activemq: connection error from ${this.#where()}: ${why}`);
      });
      connection.on("disconnected", (context: EventContext) => {
        const why = (context.error as Error | undefined)?.message ?? "connection closed";
        if (!settled) {
          fail(why, context.error);
          return;
        }
        if (this.#open) {
          this.#open = false;
          this.#up = signal();
          this.#failPending(
            new PublishError(`activemq: connection to ${this.#where()} lost before the broker confirmed`),
          );
          if (!this.#closed)
            this.#logger?.warn(`activemq: disconnected from ${this.#where()} (${redact(why)}); reconnecting`);
        }
      });
      connection.on("error", (error: Error) => {
        if (!settled) fail(error.message, error);
      });
      // rhea reports settled outcomes per sender; link errors per link (handled where opened).
      connection.on("sender_error", () => {});
      connection.on("receiver_error", () => {});
    });
  }

  /** Rejects the sends the broker has not confirmed (and, with `waiting`, those not sent yet). */
  #failPending(error: Error, waiting = false): void {
    for (const sender of this.#senders.values()) {
      for (const pending of sender.pending.values()) pending.reject(error);
      sender.pending.clear();
      if (waiting) for (const w of sender.waiting.splice(0)) w.pending.reject(error);
    }
  }

  #live(): Connection {
    if (this.#closed) throw new ClosedError("activemq: the adapter is closed");
    if (!this.#connection) throw new ConnectionError("activemq: not connected");
    return this.#connection;
  }

  flush(): void {
    const connection = this.#connection as unknown as { _process?: () => void } | undefined;
    if (this.#open) connection?._process?.();
  }

  openReceiver(options: ReceiverOptions): Receiver {
    return this.#live().open_receiver(options);
  }

  /** Waits until connected, `deadline` (epoch ms) or close; false when not connected by then. */
  async #waitUp(deadline: number): Promise<boolean> {
    while (!this.#open && !this.#closed && Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.#up.promise,
        new Promise<void>((r) => {
          timer = setTimeout(r, Math.max(0, deadline - Date.now()));
          timer.unref();
        }),
      ]);
      clearTimeout(timer);
    }
    return this.#open;
  }

  // ------------------------------------------------------------------ sending

  #sender(address: string, capabilities: readonly string[]): SenderLink {
    const key = `${capabilities.join(",")}|${address}`;
    const existing = this.#senders.get(key);
    if (existing) return existing;
    const link = this.#live().open_sender({
      target: { address, capabilities: [...capabilities] },
      autosettle: true,
    });
    const pending = new Map<Delivery, Pending>();
    const outcome = (settle: (p: Pending, context: EventContext) => void) => (context: EventContext) => {
      const p = pending.get(context.delivery as Delivery);
      if (!p) return;
      pending.delete(context.delivery as Delivery);
      settle(p, context);
    };
    link.on(
      "accepted",
      outcome((p) => p.resolve()),
    );
    link.on(
      "rejected",
      outcome((p, context) => {
        const error = (context.delivery as unknown as { remote_state?: { error?: { description?: string } } })
          .remote_state?.error;
        p.reject(
          new PublishError(
            `activemq: the broker rejected a message to ${address}: ${error?.description ?? "rejected"}`,
          ),
        );
      }),
    );
    link.on(
      "released",
      outcome((p) =>
        p.reject(new PublishError(`activemq: the broker released a message to ${address} (not delivered)`)),
      ),
    );
    const opened = new Promise<void>((resolve, reject) => {
      link.once("sender_open", () => resolve());
      link.once("sender_error", (context: EventContext) =>
        reject(new PublishError(`activemq: cannot send to ${address}: ${linkError(context, "refused")}`)),
      );
    });
    opened.catch(() => {});
    const sender: SenderLink = { link, opened, pending, waiting: [] };
    link.on("sender_close", () => {
      if (this.#senders.get(key)?.link === link) this.#senders.delete(key);
      const error = new PublishError(`activemq: the link to ${address} was closed`);
      for (const p of pending.values()) p.reject(error);
      pending.clear();
      for (const w of sender.waiting.splice(0)) w.pending.reject(error);
    });
    link.on("sendable", () => this.#drain(sender));
    this.#senders.set(key, sender);
    return sender;
  }

  async send(address: Address, messages: readonly OutboundMessage[]): Promise<void> {
    if (messages.length === 0) return;
    for (const m of messages) {
      const size = messageBytes(m);
      if (size > this.#o.maxMessageBytes)
        throw new MessageTooLargeError(
          `activemq: message ${m.id} is ${size} bytes; the adapter sends at most ${this.#o.maxMessageBytes}`,
        );
    }
    await this.connect();
    const target =
      address.kind === "queue"
        ? { address: address.name, capabilities: ["queue"] }
        : { address: topicAddress(address.name), capabilities: ["topic"] };
    // Replies to a request-reply inbox die with their requester anyway, and so does a request once
    // its requester's inbox is gone (a broker restart ends both): no journal sync for either
    // (a durable request cost 3 ms of the 3.5 ms round trip, measured).
    const toInbox = address.kind === "queue" && address.name.startsWith(INBOX_PREFIX);
    await this.#transfer(
      target.address,
      target.capabilities,
      messages.map((m) => toAmqp(m, 1, !toInbox && !m.replyTo?.startsWith(INBOX_PREFIX))),
      `${address.kind} ${address.name}`,
    );
  }

  /** Sends AMQP messages on the sender of `address` and resolves once the broker accepted each. */
  async #transfer(
    address: string,
    capabilities: readonly string[],
    messages: readonly Message[],
    what: string,
  ): Promise<void> {
    if (this.#closed) throw new ClosedError("activemq: the adapter is closed");
    const deadline = Date.now() + this.#o.publishTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new PublishError(
              `activemq: the broker did not accept the message(s) to ${what} within ${this.#o.publishTimeoutMs} ms`,
            ),
          ),
        this.#o.publishTimeoutMs,
      );
      timer.unref();
    });
    timeout.catch(() => {});
    const entries: Waiting[] = [];
    let sender: SenderLink | undefined;
    try {
      if (!(await this.#waitUp(deadline)))
        throw new PublishError(`activemq: not connected to ${this.#where()}; cannot send to ${what}`);
      sender = this.#sender(address, capabilities);
      await Promise.race([sender.opened, timeout]);
      const outcomes = messages.map(
        (message) =>
          new Promise<void>((resolve, reject) => {
            entries.push({ message, pending: { resolve, reject } });
          }),
      );
      // In order, behind the sends already waiting for credit (back-pressure: the link's credit).
      sender.waiting.push(...entries);
      this.#drain(sender);
      await Promise.race([Promise.all(outcomes), timeout]);
      entries.length = 0; // all accepted: none is waiting any more
    } finally {
      clearTimeout(timer);
      // What was not handed to rhea yet is not sent after the send gave up (only then: the
      // filter is linear in the sends waiting for credit).
      if (sender && entries.length > 0) {
        const mine = new Set(entries);
        sender.waiting = sender.waiting.filter((w) => !mine.has(w));
      }
    }
  }

  /** Hands waiting messages to rhea while the link has credit and the connection is up. */
  #drain(sender: SenderLink): void {
    if (sender.waiting.length === 0 || !this.#open || !sender.link.sendable()) return;
    // rhea writes every frame to the socket as it encodes it: corked, a window of transfers leaves
    // in one write instead of one system call each (measured: socket writes were 10-14 % of the
    // CPU profile of a send-while-consume run).
    while (sender.waiting.length > 0 && this.#open && sender.link.sendable()) {
      const next = sender.waiting.shift()!;
      sender.pending.set(sender.link.send(next.message), next.pending);
    }
    this.cork();
  }

  /**
   * Corks the connection's socket until rhea's writes queued so far are done: rhea encodes and
   * writes in a `process.nextTick` it registered when the frames were queued, and that queue is
   * first in, first out, so call this after queuing them.
   */
  cork(): void {
    const socket = (this.#connection as unknown as { socket?: import("node:net").Socket } | undefined)
      ?.socket;
    if (!socket || socket.writableCorked > 0) return;
    socket.cork();
    process.nextTick(() => socket.uncork());
  }

  redeliverLater(target: string, message: InboundMessage, delayMs: number): Promise<void> {
    const topic = target.includes("::");
    return this.#transfer(
      target,
      topic ? ["topic"] : ["queue"],
      [toAmqp({ ...message, delayMs }, message.attempt + 1)],
      target,
    );
  }

  // ------------------------------------------------------------------ consuming

  async consume(source: Source, options: ConsumeOptions): Promise<ConsumerHandle> {
    if (!Number.isInteger(options.prefetch) || options.prefetch < 1)
      throw new ConfigError(`activemq: prefetch must be a positive integer, got ${options.prefetch}`);
    await this.connect();
    if (this.#closing) throw new ClosedError("activemq: the adapter is closed");
    const consumer =
      source.kind === "queue"
        ? new ArtemisConsumer(
            this,
            source.name,
            { source: { address: source.name, capabilities: ["queue"] } },
            options,
            source.ephemeral ? source.name : undefined,
          )
        : new ArtemisConsumer(
            this,
            groupFqqn(source.name, source.group),
            groupSource(source.name, source.group),
            options,
          );
    this.#consumers.add(consumer);
    try {
      await consumer.start();
    } catch (error) {
      await consumer.close();
      if (error instanceof ClosedError || this.#closing)
        throw new ClosedError("activemq: the adapter is closed");
      throw new ConnectionError(
        `activemq: cannot consume ${source.kind} ${source.name}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    if (this.#closing) {
      await consumer.close();
      throw new ClosedError("activemq: the adapter is closed");
    }
    return consumer;
  }

  forget(consumer: ArtemisConsumer): void {
    this.#consumers.delete(consumer);
  }

  async ensureGroup(topic: string, group: string): Promise<void> {
    await this.connect();
    // Attaching a receiver to the group's FQQN makes the broker create the durable queue.
    const receiver = this.openReceiver({ ...groupSource(topic, group), credit_window: 0, autoaccept: false });
    await new Promise<void>((resolve, reject) => {
      receiver.once("receiver_open", () => resolve());
      receiver.once("receiver_error", (context: EventContext) =>
        reject(
          new ConnectionError(
            `activemq: cannot create group ${group} of topic ${topic}: ${linkError(context, "refused")}`,
          ),
        ),
      );
    });
    receiver.close();
  }

  // ------------------------------------------------------------------ management

  /** Runs a broker management operation (`activemq.management`) and returns its JSON result. */
  async #manage(
    operation: string,
    params: readonly unknown[],
    resource = "broker",
    attribute = false,
  ): Promise<{ ok: boolean; result: unknown }> {
    await this.connect();
    this.#management ??= (async () => {
      const replies = this.openReceiver({
        source: { dynamic: true } as unknown as ReceiverOptions["source"],
        autoaccept: true,
        credit_window: 100,
      });
      const address = await new Promise<string>((resolve, reject) => {
        replies.once("receiver_open", (context: EventContext) =>
          resolve((context.receiver as Receiver).source.address as string),
        );
        replies.once("receiver_error", (context: EventContext) =>
          reject(new ConnectionError(`activemq: no management replies: ${linkError(context, "refused")}`)),
        );
      });
      replies.on("message", (context: EventContext) => {
        const reply = context.message!;
        const id = String(reply.correlation_id ?? reply.message_id ?? "");
        this.#calls.get(id)?.(reply);
      });
      return { sender: this.#sender(MANAGEMENT, []), replies, address };
    })();
    this.#management.catch(() => {
      this.#management = undefined;
    });
    const { address } = await this.#management;
    const id = `omnibus-mgmt-${shortId()}`;
    const reply = new Promise<Message>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#calls.delete(id);
        reject(new ConnectionError(`activemq: no answer to ${operation} within ${MANAGEMENT_TIMEOUT_MS} ms`));
      }, MANAGEMENT_TIMEOUT_MS);
      timer.unref();
      this.#calls.set(id, (m) => {
        clearTimeout(timer);
        this.#calls.delete(id);
        resolve(m);
      });
    });
    reply.catch(() => {});
    await this.#transfer(
      MANAGEMENT,
      [],
      [
        {
          message_id: id,
          reply_to: address,
          application_properties: attribute
            ? { _AMQ_ResourceName: resource, _AMQ_Attribute: operation }
            : { _AMQ_ResourceName: resource, _AMQ_OperationName: operation },
          body: JSON.stringify(params),
        },
      ],
      "the management address",
    );
    const answer = await reply;
    const ok = answer.application_properties?._AMQ_OperationSucceeded === true;
    let result: unknown = answer.body;
    if (typeof result === "string") {
      try {
        result = JSON.parse(result);
      } catch {
        // plain text
      }
    }
    return { ok, result };
  }

  async #destroy(operation: string, params: readonly unknown[], what: string): Promise<void> {
    const { ok, result } = await this.#manage(operation, params);
    if (ok) return;
    const text = JSON.stringify(result) ?? "";
    // AMQ229017 queue does not exist, AMQ229203 address does not exist: already gone.
    if (/AMQ229017|AMQ229203|does not exist/i.test(text)) return;
    throw new ConnectionError(`activemq: cannot delete ${what}: ${text.slice(0, 300)}`);
  }

  #dropSenders(address: string): void {
    for (const [key, sender] of this.#senders) {
      if (key.endsWith(`|${address}`)) {
        this.#senders.delete(key);
        sender.link.close();
      }
    }
  }

  /**
   * Broker state for `client.stats`: the Artemis queue's `messageCount` (scheduled and in
   * delivery included) less its `deliveringCount` as `depth`, `deliveringCount` as `inFlight`,
   * read through the management address. A queue that does not exist reports zeros.
   */
  async stats(source: Source): Promise<SourceStats> {
    const queue = source.kind === "queue" ? source.name : groupQueue(source.name, source.group);
    const read = async (attribute: string): Promise<number | undefined> => {
      const { ok, result } = await this.#manage(attribute, [], `queue.${queue}`, true);
      if (!ok) {
        const text = JSON.stringify(result) ?? "";
        // No such queue (yet): Artemis answers "Problem while retrieving attribute …".
        if (/AMQ229017|does not exist|not found|Problem while retrieving/i.test(text)) return undefined;
        throw new ConnectionError(
          `activemq: cannot read ${attribute} of queue ${queue}: ${text.slice(0, 300)}`,
        );
      }
      const value = Array.isArray(result) ? result[0] : result;
      return typeof value === "number" ? value : Number(value);
    };
    const [count, delivering] = await Promise.all([read("messageCount"), read("deliveringCount")]);
    if (count === undefined || delivering === undefined) return { depth: 0, inFlight: 0 };
    return { depth: Math.max(0, count - delivering), inFlight: delivering };
  }

  async deleteQueue(name: string): Promise<void> {
    this.#dropSenders(name);
    await this.#destroy("destroyQueue", [name, true, true], `queue ${name}`);
  }

  async deleteTopic(topic: string): Promise<void> {
    this.#dropSenders(topicAddress(topic));
    // force: with every queue (group) bound to it.
    await this.#destroy("deleteAddress", [topicAddress(topic), true], `topic ${topic}`);
  }

  async deleteGroup(topic: string, group: string): Promise<void> {
    await this.#destroy(
      "destroyQueue",
      [groupQueue(topic, group), true, false],
      `group ${group} of topic ${topic}`,
    );
  }

  // ------------------------------------------------------------------ close

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    // Consumers first, while the connection is up: they hand back what they hold and delete
    // their ephemeral queues.
    await Promise.allSettled([...this.#consumers].map((c) => c.close()));
    this.#closed = true;
    this.#up.fire();
    this.#failPending(new ClosedError("activemq: the adapter closed before the broker confirmed"), true);
    const connection = this.#connection;
    if (!connection) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 3_000);
      timer.unref();
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      connection.once("connection_close", done);
      connection.once("disconnected", done);
      (connection as unknown as { set_reconnect(r: boolean): void }).set_reconnect(false);
      if (connection.is_open()) connection.close();
      else done();
    });
  }
}

/** The receiver source of a group: its durable multicast queue, by FQQN. */
function groupSource(topic: string, group: string): ReceiverOptions {
  return {
    source: {
      address: groupFqqn(topic, group),
      capabilities: ["topic"],
      durable: 2,
      expiry_policy: "never",
    },
  };
}

/** A copy of an error chain's message without the password (rhea's errors never hold it; a guard). */
function scrub(error: unknown, password: string | undefined): unknown {
  if (!password || !(error instanceof Error)) return error;
  if (!error.message.includes(password)) return error;
  return new Error(error.message.split(password).join("***"));
}
