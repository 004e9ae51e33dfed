/**
 * `@omnibus/brokers`: real brokers on loopback for tests, and private instances
 * for restart and failure tests. See its README.
 * @module
 */

export type { ClusterBroker, ClusterNode, ClusterOptions, PrivateCluster } from "./cluster.js";
export { startCluster } from "./cluster.js";
export type { BrokerName, BrokerSource } from "./config.js";
export {
  BROKER_NAMES,
  BROKER_SPECS,
  brokerUrl,
  maskUrl,
  TEST_PASSWORD,
  TEST_USER,
  withTestPassword,
} from "./config.js";
export { kafkaProxyHarness, proxyHarness, restartHarness } from "./harness.js";
export type { PrivateBroker, PrivateOptions } from "./instance.js";
export { startPrivate } from "./instance.js";
export { probe, waitReady } from "./probe.js";
export { freePort } from "./process.js";
export {
  artemisTestCredentials,
  kafkaTestCredentials,
  rabbitmqTestUser,
  type TestCredentials,
} from "./test-user.js";
export type { BrokerStatus, DownReport } from "./up.js";
export { absentReason, down, envLines, omnibusUrls, status, up } from "./up.js";
