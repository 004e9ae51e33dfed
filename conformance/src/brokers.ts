/**
 * `@omnibus/conformance/brokers`: real brokers on loopback for tests, and private instances
 * for restart and failure tests. See conformance/README.md, section "Brokers".
 * @module
 */

export type { BrokerName, BrokerSource } from "./brokers/config.js";
export { BROKER_NAMES, BROKER_SPECS, brokerUrl, maskUrl } from "./brokers/config.js";
export { kafkaProxyHarness, proxyHarness, restartHarness } from "./brokers/harness.js";
export type { PrivateBroker, PrivateOptions } from "./brokers/instance.js";
export { startPrivate } from "./brokers/instance.js";
export { probe, waitReady } from "./brokers/probe.js";
export { freePort } from "./brokers/process.js";
export type { BrokerStatus, DownReport } from "./brokers/up.js";
export { down, envLines, status, up } from "./brokers/up.js";
