import { randomUUID } from "node:crypto";
import { brokerUrl } from "@omnibus/brokers";
import type { Adapter, Delivery, OutboundMessage } from "@omnibus/core";
import { outboundMessage } from "@omnibus/core/testing";
import { Kafka, logLevel } from "kafkajs";
import { type KafkaNative, type KafkaOptions, kafka } from "../src/index.js";

export const brokers = brokerUrl("kafka");

/** Adapters made here are closed by {@link closeAll}. */
const open: Adapter<KafkaNative>[] = [];

export async function connected(options: KafkaOptions = {}): Promise<Adapter<KafkaNative>> {
  const adapter = kafka({ brokers, ...options });
  open.push(adapter);
  await adapter.connect();
  return adapter;
}

/** Names {@link unique} gave out since the last {@link closeAll}: their topics and groups go then. */
const named: string[] = [];

/**
 * Close the adapters made here, then delete the topics and consumer groups of the shared broker
 * whose names hold a name {@link unique} gave out (queues, topics, retry topics, groups, inboxes).
 * Private brokers of the restart tests go away with their folders.
 */
export async function closeAll(): Promise<void> {
  await Promise.allSettled(open.splice(0).map((a) => a.close()));
  const names = named.splice(0);
  if (names.length === 0) return;
  const admin = new Kafka({ brokers: brokers.split(","), logLevel: logLevel.NOTHING }).admin();
  try {
    await admin.connect();
    const ours = (n: string) => names.some((name) => n.includes(name));
    const topics = (await admin.listTopics()).filter(ours);
    if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => {});
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter(ours);
    if (groups.length > 0) await admin.deleteGroups(groups).catch(() => {});
  } catch {
    // A broker the test stopped or cut: nothing to clean there.
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

export function unique(prefix: string): string {
  const name = `test-kafka-${prefix}-${randomUUID().slice(0, 8)}`;
  named.push(name);
  return name;
}

/** One outbound message (see `outboundMessage` in `@omnibus/core/testing`). */
export const message = outboundMessage;

export function messages(n: number, overrides: Partial<OutboundMessage> = {}): OutboundMessage[] {
  return Array.from({ length: n }, () => message(overrides));
}

/** Collects deliveries; acks each one (after `ackAfterMs`) unless `autoAck` is false. */
export function collector(options: { autoAck?: boolean; ackAfterMs?: number } = {}) {
  const deliveries: Delivery[] = [];
  const errors: Error[] = [];
  let unsettled = 0;
  let maxUnsettled = 0;
  const settle = (d: Delivery) => {
    unsettled--;
    void d.ack();
  };
  return {
    deliveries,
    errors,
    ids: () => deliveries.map((d) => d.message.id),
    get unsettled() {
      return unsettled;
    },
    get maxUnsettled() {
      return maxUnsettled;
    },
    options: (prefetch = 50) => ({
      prefetch,
      onDelivery: (d: Delivery) => {
        deliveries.push(d);
        unsettled++;
        maxUnsettled = Math.max(maxUnsettled, unsettled);
        if (options.autoAck === false) return;
        if (options.ackAfterMs === undefined) settle(d);
        else setTimeout(() => settle(d), options.ackAfterMs);
      },
      onError: (e: Error) => {
        errors.push(e);
      },
    }),
  };
}
