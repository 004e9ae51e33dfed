// One connected trace per message (send → process, request → reply → back) and exact metric
// counts after a known workload, with the real OpenTelemetry SDK, on every real broker.
import { absentReason, omnibusUrls } from "@omnibus/brokers";
import { describe, it } from "vitest";
import { metricsAfterWorkload, requestToReply, sendToProcess } from "./telemetry-scenarios.js";

const urls = omnibusUrls(["rabbitmq", "kafka", "sqs", "nats", "redis", "activemq", "postgres", "pubsub"]);
// The Pub/Sub emulator is the one optional broker: where it is not installed, its row skips with
// the reason (the Debian package to install).
const pubsubAbsent = await absentReason("pubsub");
const brokers: [name: string, url: string | undefined, system: string, absent?: string][] = [
  ["rabbitmq", urls.rabbitmq, "rabbitmq"],
  ["kafka", urls.kafka, "kafka"],
  ["sqs", urls.sqs, "aws_sqs"],
  ["nats", urls.nats, "nats"],
  ["redis", urls.redis, "redis"],
  ["activemq", urls.activemq, "activemq"],
  ["postgres", urls.postgres, "postgres"],
  ["pubsub", urls.pubsub, "gcp_pubsub", pubsubAbsent],
];

describe.each(brokers)("telemetry on %s", (name, url, system, absent) => {
  const opts = { timeout: 90_000 };
  // Without a URL createClient would run on memory://: fail instead of testing the wrong broker.
  if (absent === undefined && url === undefined) throw new Error(`no Omnibus URL for ${name}`);
  const test = absent === undefined ? it : it.skip;
  const suffix = absent === undefined ? "" : ` (skipped: ${absent})`;
  test(`links each process span to its producer span${suffix}`, opts, () =>
    sendToProcess(url!, system, "link"),
  );
  test(`parents each process span on its producer span (consumerContext: parent)${suffix}`, opts, () =>
    sendToProcess(url!, system, "parent"),
  );
  test(`traces request → reply → back in one trace (parent)${suffix}`, opts, () =>
    requestToReply(url!, "parent"),
  );
  test(`traces request → reply → back through links (link)${suffix}`, opts, () =>
    requestToReply(url!, "link"),
  );
  test(`counts a known workload${suffix}`, opts, () => metricsAfterWorkload(url!, system));
});
