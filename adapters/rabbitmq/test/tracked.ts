import type { Adapter } from "@omnibus/core";
import { type RabbitMQAdapter, rabbitmq } from "../src/index.js";

/**
 * Wraps adapters so that a test file can delete every queue and exchange its adapters touched
 * (the conformance suite leaves its uniquely named queues behind; quorum queues are not free).
 */
export function trackingAdapters(
  make: () => RabbitMQAdapter,
  queues = new Set<string>(),
  exchanges = new Set<string>(),
) {
  const wrap = (): Adapter => {
    const a = make();
    return new Proxy(a, {
      get(target, prop) {
        const value = Reflect.get(target, prop); // getters run on the adapter itself (private fields)
        if (typeof value !== "function") return value;
        if (prop === "send") {
          return (address: { kind: string; name: string }, messages: unknown) => {
            (address.kind === "queue" ? queues : exchanges).add(address.name);
            return value.call(target, address, messages);
          };
        }
        if (prop === "consume") {
          return (source: { kind: string; name: string; group?: string }, options: unknown) => {
            if (source.kind === "queue") queues.add(source.name);
            else {
              exchanges.add(source.name);
              queues.add(target.groupQueue(source.name, source.group!));
            }
            return value.call(target, source, options);
          };
        }
        if (prop === "ensureGroup") {
          return (topic: string, group: string) => {
            exchanges.add(topic);
            queues.add(target.groupQueue(topic, group));
            return value.call(target, topic, group);
          };
        }
        return value.bind(target);
      },
    });
  };
  const cleanup = async (url: string) => {
    const a = rabbitmq({ url });
    try {
      for (const q of queues) await a.deleteQueue(q).catch(() => {});
      await a.connect();
      const ch = await a.native.connection.createChannel();
      for (const x of exchanges) await ch.deleteExchange(x).catch(() => {});
      await ch.close().catch(() => {});
    } finally {
      queues.clear();
      exchanges.clear();
      await a.close();
    }
  };
  /** The same bookkeeping for adapters made another way. */
  const withFactory = (other: () => RabbitMQAdapter) => trackingAdapters(other, queues, exchanges);
  return { wrap, cleanup, with: withFactory };
}
