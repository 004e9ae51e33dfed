/**
 * A pass-through adapter with hooks, the base of every SPI-boundary fault: each fault changes
 * one thing a careless driver would get wrong and forwards the rest to the memory adapter.
 * Nothing here ships.
 * @module
 */
import type {
  Adapter,
  Address,
  ConsumeOptions,
  ConsumerHandle,
  Delivery,
  Features,
  InboundMessage,
  Logger,
  OutboundMessage,
  Source,
} from "@omnibus/core";

/** What a consumer wrapper knows about the consumer it wraps. */
export interface ConsumerScope {
  readonly source: Source;
  readonly options: ConsumeOptions;
  /** Hand a delivery to core (the wrapped onDelivery). */
  deliver(delivery: Delivery): void;
  /** The inner consumer's handle (set once inner consume resolved). */
  inner: ConsumerHandle | undefined;
  /** Free-form per-consumer state of the fault. */
  readonly state: Record<string, any>;
}

/** Hooks of {@link faulty}; each one is optional and defaults to forwarding. */
export interface Hooks {
  features?(inner: Features): Features;
  native?(inner: Adapter): unknown;
  connect?(inner: Adapter, calls: number): Promise<void>;
  send?(inner: Adapter, address: Address, messages: readonly OutboundMessage[]): Promise<void>;
  /** Change the source or the options before the inner consume. */
  source?(source: Source): Source;
  prefetch?(prefetch: number): number;
  /** Called for every delivery from the inner adapter; call `scope.deliver` (or not). */
  delivery?(delivery: Delivery, scope: ConsumerScope): void;
  /** Called once the inner consumer started. */
  started?(scope: ConsumerScope): void;
  stop?(scope: ConsumerScope): Promise<void>;
  closeConsumer?(scope: ConsumerScope): Promise<void>;
  close?(inner: Adapter): Promise<void>;
  ensureGroup?(inner: Adapter, topic: string, group: string): Promise<void>;
  deleteQueue?(inner: Adapter, name: string): Promise<void>;
  deleteTopic?(inner: Adapter, topic: string): Promise<void>;
  deleteGroup?(inner: Adapter, topic: string, group: string): Promise<void>;
  /** Sees the client's logger (core passes it before it connects). */
  useLogger?(logger: Logger): void;
}

/** Wrap `inner` with `hooks`. */
export function faulty(inner: Adapter, hooks: Hooks): Adapter {
  let connects = 0;
  const adapter: Adapter = {
    name: inner.name,
    get features() {
      return hooks.features ? hooks.features(inner.features) : inner.features;
    },
    get native() {
      return hooks.native ? hooks.native(inner) : inner.native;
    },
    connect: () => (hooks.connect ? hooks.connect(inner, ++connects) : inner.connect()),
    send: (address, messages) =>
      hooks.send ? hooks.send(inner, address, messages) : inner.send(address, messages),
    async consume(source, options) {
      const scope: ConsumerScope = {
        source,
        options,
        deliver: (d) => options.onDelivery(d),
        inner: undefined,
        state: {},
      };
      const innerSource = hooks.source ? hooks.source(source) : source;
      const handle = await inner.consume(innerSource, {
        prefetch: hooks.prefetch ? hooks.prefetch(options.prefetch) : options.prefetch,
        onError: options.onError,
        onDelivery: (d) => (hooks.delivery ? hooks.delivery(d, scope) : scope.deliver(d)),
      });
      scope.inner = handle;
      hooks.started?.(scope);
      return {
        stop: () => (hooks.stop ? hooks.stop(scope) : handle.stop()),
        close: () => (hooks.closeConsumer ? hooks.closeConsumer(scope) : handle.close()),
      };
    },
    close: () => (hooks.close ? hooks.close(inner) : inner.close()),
  };
  if (hooks.useLogger || inner.useLogger)
    adapter.useLogger = (logger) => {
      hooks.useLogger?.(logger);
      inner.useLogger?.(logger);
    };
  if (inner.ensureGroup)
    adapter.ensureGroup = (topic, group) =>
      hooks.ensureGroup ? hooks.ensureGroup(inner, topic, group) : inner.ensureGroup!(topic, group);
  if (inner.deleteQueue)
    adapter.deleteQueue = (name) =>
      hooks.deleteQueue ? hooks.deleteQueue(inner, name) : inner.deleteQueue!(name);
  if (inner.deleteTopic)
    adapter.deleteTopic = (topic) =>
      hooks.deleteTopic ? hooks.deleteTopic(inner, topic) : inner.deleteTopic!(topic);
  if (inner.deleteGroup)
    adapter.deleteGroup = (topic, group) =>
      hooks.deleteGroup ? hooks.deleteGroup(inner, topic, group) : inner.deleteGroup!(topic, group);
  return adapter;
}

/** A delivery whose message is replaced (settlement forwarded). */
export function withMessage(delivery: Delivery, message: InboundMessage): Delivery {
  return { message, ack: () => delivery.ack(), nack: (o) => delivery.nack(o) };
}

/** A delivery with other settle functions. */
export function withSettle(
  delivery: Delivery,
  settle: { ack?: () => Promise<void>; nack?: (options?: { delayMs?: number }) => Promise<void> },
): Delivery {
  return {
    message: delivery.message,
    ack: settle.ack ?? (() => delivery.ack()),
    nack: settle.nack ?? ((o) => delivery.nack(o)),
  };
}

/** Map a message's fields on its way to core. */
export const mapMessage =
  (fn: (m: InboundMessage) => InboundMessage): Hooks["delivery"] =>
  (delivery, scope) =>
    scope.deliver(withMessage(delivery, fn(delivery.message)));

/** Map the destination names an adapter sees. */
export function mapNames(fn: (name: string) => string): Hooks {
  const address = <A extends Address | Source>(a: A): A => ({ ...a, name: fn(a.name) });
  return {
    send: (inner, a, messages) => inner.send(address(a), messages),
    source: (s) => address(s),
    ensureGroup: (inner, topic, group) => inner.ensureGroup!(fn(topic), group),
    deleteQueue: (inner, name) => inner.deleteQueue!(fn(name)),
    deleteTopic: (inner, topic) => inner.deleteTopic!(fn(topic)),
    deleteGroup: (inner, topic, group) => inner.deleteGroup!(fn(topic), group),
  };
}
