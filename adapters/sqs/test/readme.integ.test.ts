import { brokerUrl } from "@omnibus/brokers";
import { createClient, shortId, silentLogger } from "@omnibus/core";
import { expect, it, onTestFinished } from "vitest";
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
    const suffix = `-${shortId()}`;
    onTestFinished(async () => {
      // What the example made: its queues, its topic with its group (and their default DLQs).
      const bus = createClient({ url, logger: silentLogger });
      await bus.deleteQueue(`orders${suffix}`);
      await bus.deleteQueue(`pricing${suffix}`);
      await bus.deleteTopic(`order.placed${suffix}`, { groups: ["shipping"] });
      await bus.close();
    });
    const result = await orderDemo(url, suffix);
    expect(result).toEqual({ quote: { price: 12, sku: "A-1" }, shipped: ["o-1"] });
  }, 60_000);
}
