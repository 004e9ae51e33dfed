import { connect, type Service, type ServiceOptions, service } from "./bus.js";

const catalogue: Record<string, number> = { widget: 12, gadget: 30, gizmo: 7.5 };

/** Answers price quotes over request-reply. */
export async function startPricing(options: ServiceOptions): Promise<Service<{ quotes: number }>> {
  const bus = connect(options);
  const stats = { quotes: 0 };
  await bus.reply("shop.pricing", ({ body }) => {
    const unitPrice = catalogue[body.sku];
    if (unitPrice === undefined)
      throw Object.assign(new Error(`unknown sku ${body.sku}`), { code: "UNKNOWN_SKU" });
    stats.quotes++;
    return { unitPrice: body.qty >= 10 ? unitPrice * 0.9 : unitPrice };
  });
  return service("pricing", bus, stats);
}
