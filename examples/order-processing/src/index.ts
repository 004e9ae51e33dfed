/** The order-processing example: services that take a broker URL and nothing else. */

export { shopContract } from "./contract.js";
export type { FlowOptions, FlowSummary } from "./flow.js";
export { runOrderFlow } from "./flow.js";
export { startCheckout } from "./services/checkout.js";
export { startEmail } from "./services/email.js";
export { startInventory } from "./services/inventory.js";
export { startPricing } from "./services/pricing.js";
export { startShipping } from "./services/shipping.js";
