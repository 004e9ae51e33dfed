import { body, defineContract } from "@omnibus/core";

/** A command: place this order. */
export interface PlaceOrder {
  orderId: string;
  customerId: string;
  email: string;
  sku: string;
  qty: number;
  unitPrice: number;
  /**
   * The customer's signed order form, a base64 PDF (2 MiB for the first order of a run): larger
   * than SQS, NATS or Kafka take in one message, it travels through the claim check.
   */
  attachment?: string;
}

/** An event: the order was accepted and stock reserved. */
export interface OrderPlaced {
  orderId: string;
  customerId: string;
  email: string;
  sku: string;
  qty: number;
  total: number;
}

/** Every destination of the shop, with its body type. The same names on every broker. */
export const shopContract = defineContract({
  queues: { "shop.orders": body<PlaceOrder>() },
  topics: { "shop.order-placed": body<OrderPlaced>() },
  requests: {
    "shop.pricing": {
      request: body<{ sku: string; qty: number }>(),
      response: body<{ unitPrice: number }>(),
    },
  },
});

export type ShopContract = typeof shopContract;
