import { connect, type Service, type ServiceOptions, service } from "./bus.js";

/** Ships every placed order (its own group: it gets every event). */
export async function startShipping(options: ServiceOptions): Promise<Service<{ shipped: Set<string> }>> {
  const bus = connect(options);
  const stats = { shipped: new Set<string>() };
  await bus.subscribe("shop.order-placed", { group: "shipping" }, ({ body }) => {
    stats.shipped.add(body.orderId);
    options.log?.("shipping", `shipment booked for ${body.orderId}`);
  });
  return service("shipping", bus, stats);
}
