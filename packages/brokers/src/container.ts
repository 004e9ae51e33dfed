/**
 * Last resort when no local server can be had: a container through testcontainers, where a Docker
 * engine answers. Untested on the project's machines (they have no Docker engine); kept small.
 * Host ports are the standard ones, so the default URLs hold. Ryuk is disabled so that the
 * containers outlive `pnpm brokers up`; `down` removes them by id.
 */
import { existsSync } from "node:fs";
import { BROKER_SPECS, type BrokerName, TEST_PASSWORD, TEST_USER } from "./config.js";

const IMAGES: Record<
  BrokerName,
  { image: string; port: number; command?: string[]; env?: Record<string, string> }
> = {
  rabbitmq: {
    image: "rabbitmq:3.13-alpine",
    port: 5672,
    env: { RABBITMQ_DEFAULT_USER: TEST_USER, RABBITMQ_DEFAULT_PASS: TEST_PASSWORD },
  },
  kafka: { image: "apache/kafka:4.1.0", port: 9092 }, // its default config advertises localhost:9092
  sqs: { image: "softwaremill/elasticmq-native:1.6.16", port: 9324 },
  sns: { image: "kibertoad/fauxqs:1.9.2", port: 4566 },
  nats: { image: "nats:2.10-alpine", port: 4222, command: ["-js"] },
  redis: { image: "redis:7-alpine", port: 6379 },
  pubsub: {
    image: "gcr.io/google.com/cloudsdktool/google-cloud-cli:emulators",
    port: 8085,
    command: ["gcloud", "beta", "emulators", "pubsub", "start", "--host-port=0.0.0.0:8085"],
  },
  activemq: {
    image: "apache/activemq-artemis:2.40.0",
    port: 61616,
    env: { ARTEMIS_USER: TEST_USER, ARTEMIS_PASSWORD: TEST_PASSWORD },
  },
  postgres: {
    image: "postgres:15-alpine",
    port: 5432,
    env: { POSTGRES_HOST_AUTH_METHOD: "trust", POSTGRES_DB: "test" },
  },
};

/** Whether a Docker engine is plausibly there (socket or DOCKER_HOST); testcontainers decides for real. */
export function dockerMayAnswer(): boolean {
  return Boolean(process.env.DOCKER_HOST) || existsSync("/var/run/docker.sock");
}

/** Starts `name` in a container on its standard host port; resolves to the container id. */
export async function startContainer(name: BrokerName): Promise<string> {
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= "true";
  const { GenericContainer } = await import("testcontainers");
  const spec = IMAGES[name];
  let container = new GenericContainer(spec.image).withExposedPorts({
    container: spec.port,
    host: BROKER_SPECS[name].defaultPort,
  });
  if (spec.command) container = container.withCommand(spec.command);
  if (spec.env) container = container.withEnvironment(spec.env);
  const started = await container.start();
  return started.getId();
}

/** Stops and removes a container started by {@link startContainer}. */
export async function removeContainer(id: string): Promise<void> {
  const { getContainerRuntimeClient } = await import("testcontainers");
  const client = await getContainerRuntimeClient();
  const container = client.container.getById(id);
  await client.container.stop(container, { timeout: 10_000 }).catch(() => {});
  await client.container.remove(container, { removeVolumes: true }).catch(() => {});
}
