import { describe, expect, it } from "vitest";
import { probe, startPrivate, TEST_PASSWORD } from "./index.js";

// Local servers from Maven Central (Kafka 4 KRaft, ElasticMQ) and fauxqs: the first run downloads.
describe("local servers without Docker", () => {
  it("kafka: a KRaft node starts, takes a topic, and restarts with it", async () => {
    await using broker = await startPrivate("kafka");
    expect(broker.url).toBe(`127.0.0.1:${broker.port}`);
    const { Kafka, logLevel } = await import("kafkajs");
    const admin = new Kafka({ brokers: [broker.url], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      await admin.createTopics({
        topics: [{ topic: "omnibus-probe", numPartitions: 1 }],
        waitForLeaders: true,
      });
      expect(await admin.listTopics()).toContain("omnibus-probe");
    } finally {
      await admin.disconnect();
    }
    await broker.restart();
    const again = new Kafka({ brokers: [broker.url], logLevel: logLevel.NOTHING }).admin();
    await again.connect();
    try {
      expect(await again.listTopics()).toContain("omnibus-probe");
    } finally {
      await again.disconnect();
    }
  }, 300_000);

  it("sqs: ElasticMQ answers ListQueues on loopback", async () => {
    await using broker = await startPrivate("sqs");
    const response = await fetch(`${broker.url}/`, {
      method: "POST",
      headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": "AmazonSQS.CreateQueue" },
      body: JSON.stringify({ QueueName: "omnibus-probe" }),
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { QueueUrl: string }).QueueUrl).toContain("omnibus-probe");
  }, 300_000);

  it("activemq: an Artemis instance answers an AMQP 1.0 open, refuses a wrong password, and restarts", async () => {
    await using broker = await startPrivate("activemq");
    expect(broker.url).toBe(`amqp://omnibus-test:${TEST_PASSWORD}@127.0.0.1:${broker.port}`);
    await probe("activemq", broker.url);
    await expect(probe("activemq", `amqp://artemis:wrong@127.0.0.1:${broker.port}`, 5000)).rejects.toThrow();
    await broker.kill();
    await expect(probe("activemq", broker.url, 1000)).rejects.toThrow();
    await broker.start();
    await probe("activemq", broker.url);
  }, 300_000);

  it("sns: fauxqs answers ListTopics", async () => {
    await using broker = await startPrivate("sns");
    await probe("sns", broker.url);
    await broker.kill();
    await expect(probe("sns", broker.url, 1000)).rejects.toThrow();
  }, 60_000);
});
