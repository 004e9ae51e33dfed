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
      return brokerUrl("rabbitmq");
    case "kafka":
      return `kafka://${brokerUrl("kafka")}`;
    case "sqs": {
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

/** Whether the adapter's package has landed in this workspace. */
export function adapterLanded(name: BrokerName): boolean {
  const broker = name === "pgboss" ? "postgres" : name;
  // From bench/src (tsx) or bench/dist/src (compiled): look upwards for the workspace's adapters/.
  for (const up of ["../../", "../../../"]) {
    if (existsSync(fileURLToPath(new URL(`${up}adapters/${broker}/src/index.ts`, import.meta.url))))
      return true;
  }
  return false;
}

/** The raw client of a broker, or why there is none. */
export async function rawDriver(broker: BrokerName, tuning: OmnibusTuning): Promise<Driver | string> {
  switch (broker) {
    case "memory":
      return "in-process broker: no raw client";
    case "rabbitmq": {
      const queueType = tuning.adapterOptions?.queueType === "classic" ? "classic" : "quorum";
      return new RawRabbitMQ(brokerUrl("rabbitmq"), queueType);
    }
    case "redis":
      return new RawRedis(brokerUrl("redis"));
    case "nats":
      return new RawNats(brokerUrl("nats"));
    case "kafka": {
      const { RawKafka } = await import("./raw/kafka.js");
      return new RawKafka(brokerUrl("kafka").split(","));
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
  }
}

export function omnibusDriver(broker: BrokerName, tuning: OmnibusTuning): Driver | string {
  if (!adapterLanded(broker)) return `@omnibus/${broker} has not landed yet`;
  return new OmnibusDriver({ ...tuning, url: omnibusUrl(broker), deferCleanup: broker === "kafka" });
}
