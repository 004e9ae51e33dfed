import { randomUUID } from "node:crypto";
import { brokerUrl } from "@omnibus/brokers";
import type { Delivery } from "@omnibus/core";
import { waitFor as coreWaitFor, outboundMessage } from "@omnibus/core/testing";
import { type RabbitMQAdapter, type RabbitMQOptions, rabbitmq } from "../src/index.js";
import { trackingAdapters } from "./tracked.js";

export const url = brokerUrl("rabbitmq");

let tracker = trackingAdapters(() => rabbitmq({ url }));

/** An adapter on the test broker; {@link cleanupBroker} deletes what it declared. */
export function adapter(options: RabbitMQOptions = {}): RabbitMQAdapter {
  const make = () => rabbitmq({ url, ...options });
  make(); // options are checked now (ConfigError at the call site)
  tracker = tracker.with(make);
  return tracker.wrap() as RabbitMQAdapter;
}

/** Delete every queue and exchange the adapters of this file touched. */
export function cleanupBroker(): Promise<void> {
  return tracker.cleanup(url);
}

export function unique(prefix: string): string {
  return `test.rmq.${prefix}.${randomUUID().slice(0, 8)}`;
}

/** One outbound message (see `outboundMessage` in `@omnibus/core/testing`). */
export const message = outboundMessage;

/** Wait until `condition()` holds, polling; fail after `timeoutMs` (core's `waitFor`). */
export async function waitFor(
  condition: () => boolean,
  timeoutMs = 10_000,
  what = "condition",
): Promise<void> {
  await coreWaitFor(condition, { timeoutMs, intervalMs: 5, message: what });
}

/** Collects deliveries; acks them unless told otherwise. */
export function collector(autoAck = true) {
  const deliveries: Delivery[] = [];
  const errors: Error[] = [];
  return {
    deliveries,
    errors,
    ids: () => deliveries.map((d) => d.message.id),
    options: (prefetch = 50) => ({
      prefetch,
      onDelivery: (d: Delivery) => {
        deliveries.push(d);
        if (autoAck) void d.ack();
      },
      onError: (e: Error) => {
        errors.push(e);
      },
    }),
  };
}

export function difference<T>(a: Iterable<T>, b: Iterable<T>): T[] {
  const set = new Set(b);
  return [...a].filter((x) => !set.has(x));
}
