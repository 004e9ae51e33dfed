import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { brokerUrl } from "@omnibus/brokers";
import { OmnibusDriver, type OmnibusSetup } from "./omnibus.js";
import { RawNats } from "./raw/nats.js";
import { RawRabbitMQ } from "./raw/rabbitmq.js";
import { RawRedis } from "./raw/redis.js";
import type { BrokerName, Driver } from "./types.js";

/** Tuning of the Omnibus side (default: none, i.e. `createClient({ url })` and core's defaults). */
export type OmnibusTuning = Omit<OmnibusSetup, "url">;

/** The URL Omnibus gets for a broker (as in examples/order-processing/test/swap.test.ts). */
export function omnibusUrl(broker: BrokerName): string {
  switch (broker) {
    case "memory":
      return "memory://bench";
    case "rabbitmq":
    case "mqt-rabbitmq":
    case "mqt-rabbitmq-defaults":
      return brokerUrl("rabbitmq");
    case "kafka":
      return `kafka://${brokerUrl("kafka")}`;
    case "sqs":
    case "mqt-sqs":
    case "mqt-sqs-defaults": {
      const sqs = new URL(brokerUrl("sqs"));
      return `sqs://${sqs.host}?endpoint=${encodeURIComponent(sqs.origin)}&region=us-east-1`;
    }
    case "nats":
      return brokerUrl("nats");
    case "redis":
      return brokerUrl("redis");
    case "pubsub":
      return `pubsub://omnibus?emulatorHost=${brokerUrl("pubsub")}`;
    case "activemq":
      return brokerUrl("activemq").replace(/^amqp:/, "activemq:");
    case "postgres":
    case "pgboss":
      return brokerUrl("postgres");
  }
}

/** The broker a peer row runs on (`pgboss` → postgres, `mqt-sqs` → sqs); a broker's own name otherwise. */
export function brokerOf(name: BrokerName): BrokerName {
  if (name === "pgboss") return "postgres";
  if (name === "mqt-rabbitmq" || name === "mqt-rabbitmq-defaults") return "rabbitmq";
  if (name === "mqt-sqs" || name === "mqt-sqs-defaults") return "sqs";
  return name;
}

/** Whether the adapter's package has landed in this workspace. */
export function adapterLanded(name: BrokerName): boolean {
  const broker = brokerOf(name);
  // From bench/src (tsx) or bench/dist/src (compiled): look upwards for the workspace's adapters/.
  for (const up of ["../../", "../../../"]) {
    if (existsSync(fileURLToPath(new URL(`${up}adapters/${broker}/src/index.ts`, import.meta.url))))
      return true;
  }
  return false;
}

/** The adapter's queue type: classic by default (adapters/rabbitmq/README.md, "Queue type"). */
function rabbitQueueType(tuning: OmnibusTuning): "quorum" | "classic" {
  return tuning.adapterOptions?.queueType === "quorum" ? "quorum" : "classic";
}

/** The raw client of a broker (or the peer library of a peer row), or why there is none. */
export async function rawDriver(broker: BrokerName, tuning: OmnibusTuning): Promise<Driver | string> {
  switch (broker) {
    case "memory":
      return "in-process broker: no raw client";
    case "rabbitmq":
      return new RawRabbitMQ(brokerUrl("rabbitmq"), rabbitQueueType(tuning));
    case "redis":
      return new RawRedis(brokerUrl("redis"));
    case "nats":
      return new RawNats(brokerUrl("nats"));
    case "kafka": {
      const { RawKafka } = await import("./raw/kafka.js");
      // The adapter's partitions when set (the curves vary them), else both sides' default of 3.
      const partitions = tuning.adapterOptions?.partitions;
      return new RawKafka(brokerUrl("kafka").split(","), typeof partitions === "number" ? partitions : 3);
    }
    case "sqs": {
      const { RawSqs } = await import("./raw/sqs.js");
      return new RawSqs(brokerUrl("sqs"));
    }
    case "pubsub": {
      const { RawPubsub } = await import("./raw/pubsub.js");
      return new RawPubsub(brokerUrl("pubsub"));
    }
    case "activemq": {
      const { RawActiveMQ } = await import("./raw/activemq.js");
      return new RawActiveMQ(brokerUrl("activemq"));
    }
    case "postgres": {
      const { RawPostgres } = await import("./raw/postgres.js");
      return new RawPostgres(brokerUrl("postgres"));
    }
    case "pgboss": {
      const { RawPgBoss } = await import("./raw/postgres.js");
      return new RawPgBoss(brokerUrl("postgres"));
    }
    case "mqt-rabbitmq":
    case "mqt-rabbitmq-defaults": {
      const { MqtRabbitMQ } = await import("./peers/mqt-amqp.js");
      // Prefetch 1000 as the raw driver's; the toolkit's default sets none (0).
      const prefetch = broker === "mqt-rabbitmq" ? 1000 : 0;
      return new MqtRabbitMQ(brokerUrl("rabbitmq"), rabbitQueueType(tuning), prefetch);
    }
    case "mqt-sqs":
      return new (await import("./peers/mqt-sqs.js")).MqtSqs(brokerUrl("sqs"));
    case "mqt-sqs-defaults":
      // The toolkit's defaults: one sqs-consumer poller, one message per receive, 20 s long poll.
      return new (await import("./peers/mqt-sqs.js")).MqtSqs(brokerUrl("sqs"), "defaults");
  }
}

export function omnibusDriver(broker: BrokerName, tuning: OmnibusTuning): Driver | string {
  if (!adapterLanded(broker)) return `@omnibus/${broker} has not landed yet`;
  return new OmnibusDriver({ ...tuning, url: omnibusUrl(broker), deferCleanup: broker === "kafka" });
}
