/**
 * `@omnibus/conformance/brokers`: real brokers on loopback for tests, and private instances
 * for restart and failure tests. See conformance/README.md, section "Brokers".
 */
export { BROKER_NAMES, BROKER_SPECS, brokerUrl, maskUrl } from "./brokers/config.js";
export { startPrivate } from "./brokers/instance.js";
export { down, envLines, status, up } from "./brokers/up.js";
export { probe, waitReady } from "./brokers/probe.js";
export type { BrokerName, BrokerSource } from "./brokers/config.js";
export type { PrivateBroker, PrivateOptions } from "./brokers/instance.js";
export type { BrokerStatus, DownReport } from "./brokers/up.js";
