/**
 * `@opentelemetry/api`, loaded once and only if the application installed it: it is an optional
 * peer dependency of core, so a client without it runs with telemetry off and pays nothing.
 * @module
 */
import type * as OTel from "@opentelemetry/api";

/** The OpenTelemetry API module. */
export type OTelApi = typeof OTel;

let loading: Promise<OTelApi | undefined> | undefined;

/** The API module, or `undefined` when it is not installed. Never rejects. */
export function loadOTel(): Promise<OTelApi | undefined> {
  loading ??= import("@opentelemetry/api").then(
    (m) => ((m as { trace?: unknown }).trace ? m : (m as unknown as { default: OTelApi }).default),
    () => undefined,
  );
  return loading;
}
