// One connected trace per message (send → process, request → reply → back) and exact metric
// counts after a known workload, with the real OpenTelemetry SDK, on every real broker.
import { omnibusUrls } from "@omnibus/brokers";
import { describe, it } from "vitest";
import { metricsAfterWorkload, requestToReply, sendToProcess } from "./telemetry-scenarios.js";

const urls = omnibusUrls(["rabbitmq", "kafka", "sqs", "nats", "redis"]);
const brokers: [name: string, url: string, system: string][] = [
  ["rabbitmq", urls.rabbitmq!, "rabbitmq"],
  ["kafka", urls.kafka!, "kafka"],
  ["sqs", urls.sqs!, "aws_sqs"],
  ["nats", urls.nats!, "nats"],
  ["redis", urls.redis!, "redis"],
];

describe.each(brokers)("telemetry on %s", (_name, url, system) => {
  const opts = { timeout: 90_000 };
  it("links each process span to its producer span", opts, () => sendToProcess(url, system, "link"));
  it("parents each process span on its producer span (consumerContext: parent)", opts, () =>
    sendToProcess(url, system, "parent"),
  );
  it("traces request → reply → back in one trace (parent)", opts, () => requestToReply(url, "parent"));
  it("traces request → reply → back through links (link)", opts, () => requestToReply(url, "link"));
  it("counts a known workload", opts, () => metricsAfterWorkload(url, system));
});
