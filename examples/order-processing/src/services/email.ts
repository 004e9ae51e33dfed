import { connect, type Service, type ServiceOptions, service } from "./bus.js";

/**
 * Emails a confirmation for every placed order (its own group). An undeliverable address fails
 * every attempt, so that order's event ends in the group's dead-letter queue
 * (`subscription.deadLetterQueue`), which this service also watches.
 */
export async function startEmail(
  options: ServiceOptions,
): Promise<Service<{ sent: Set<string>; failures: number; deadLettered: Set<string> }>> {
  const bus = connect(options);
  const stats = { sent: new Set<string>(), failures: 0, deadLettered: new Set<string>() };
  const subscription = await bus.subscribe(
    "shop.order-placed",
    { group: "email", retry: { maxAttempts: 3, initialDelayMs: 100, jitter: 0 } },
    ({ body, attempt }) => {
      if (body.email.endsWith(".invalid")) {
        stats.failures++;
        options.log?.("email", `cannot mail ${body.email} for ${body.orderId} (attempt ${attempt})`);
        throw new Error(`mailbox ${body.email} does not exist`);
      }
      stats.sent.add(body.orderId);
      options.log?.("email", `confirmation sent to ${body.email} for ${body.orderId}`);
    },
  );
  await bus.consume(subscription.deadLetterQueue as never, ({ body, headers }) => {
    const orderId = (body as { orderId: string }).orderId;
    stats.deadLettered.add(orderId);
    options.log?.("email", `dead-lettered ${orderId}: ${headers["omnibus-dlq-reason"]}`);
  });
  return service("email", bus, stats);
}
