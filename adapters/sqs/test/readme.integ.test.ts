import { brokerUrl } from "@omnibus/brokers";
import { shortId } from "@omnibus/core";
import { expect, it } from "vitest";
import { orderDemo } from "./readme-example.js";

// The README's promise: the same code on RabbitMQ and on SQS, only the URL changed.
const fauxqs = new URL(brokerUrl("sns")).host;
const urls = {
  rabbitmq: brokerUrl("rabbitmq"),
  // SQS queues and SNS topics, both on fauxqs (emulator); on AWS: "sqs://eu-west-1".
  sqs: `sqs://${fauxqs}?sns=http://${fauxqs}`,
};

for (const [name, url] of Object.entries(urls)) {
  it(`the README example runs on ${name}`, async () => {
    const result = await orderDemo(url, `-${shortId()}`);
    expect(result).toEqual({ quote: { price: 12, sku: "A-1" }, shipped: ["o-1"] });
  }, 60_000);
}
