import type { Adapter } from "@omnibus/core";
import amqp from "amqplib";
import type { RabbitMQAdapter } from "../src/index.js";
import { groupQueueName, groupRegistryName, queueName, topicExchange } from "../src/names.js";

/**
 * Wraps adapters so that a test file can delete every queue and exchange its adapters touched
 * (the conformance suite leaves its uniquely named queues behind; quorum queues are not free).
 * Both sets hold AMQP names.
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
            if (address.kind === "queue") queues.add(queueName(address.name));
            else exchanges.add(topicExchange(address.name));
            return value.call(target, address, messages);
          };
        }
        if (prop === "consume") {
          return (source: { kind: string; name: string; group?: string }, options: unknown) => {
            if (source.kind === "queue") queues.add(queueName(source.name));
            else {
              exchanges.add(topicExchange(source.name));
              queues.add(groupQueueName(source.name, source.group!));
              queues.add(groupRegistryName(source.name)); // where the adapter notes the topic's groups
            }
            return value.call(target, source, options);
          };
        }
        if (prop === "ensureGroup") {
          return (topic: string, group: string) => {
            exchanges.add(topicExchange(topic));
            queues.add(target.groupQueue(topic, group));
            queues.add(groupRegistryName(topic));
            return value.call(target, topic, group);
          };
        }
        return value.bind(target);
      },
    });
  };
  const cleanup = async (url: string) => {
    const connection = await amqp.connect(url);
    try {
      let ch = await connection.createChannel();
      // A failed delete closes the channel: open another and go on.
      const each = async (names: Set<string>, del: (ch: amqp.Channel, name: string) => Promise<unknown>) => {
        for (const name of names) {
          try {
            await del(ch, name);
          } catch {
            ch = await connection.createChannel();
          }
        }
      };
      await each(queues, (c, q) => c.deleteQueue(q));
      await each(exchanges, (c, x) => c.deleteExchange(x));
    } finally {
      queues.clear();
      exchanges.clear();
      await connection.close().catch(() => {});
    }
  };
  /** The same bookkeeping for adapters made another way. */
  const withFactory = (other: () => RabbitMQAdapter) => trackingAdapters(other, queues, exchanges);
  return { wrap, cleanup, with: withFactory };
}
