/**
 * W3C Trace Context (`traceparent`, `tracestate`) in message headers. The application's global
 * propagator is used when it has one (an SDK registers W3C, or B3, or a composite); with none
 * registered (the API's no-op propagator has no fields) core writes and reads W3C headers itself,
 * so that a trace crosses the broker whatever the set-up.
 * @module
 */
import type { Context } from "@opentelemetry/api";
import type { OTelApi } from "./api.js";

/** Header names of W3C Trace Context, version 00. */
export const TRACEPARENT = "traceparent";
export const TRACESTATE = "tracestate";

const PARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** Write the span context of `ctx` into `headers`. */
export function inject(api: OTelApi, ctx: Context, headers: Record<string, string>): void {
  if (api.propagation.fields().length > 0) {
    api.propagation.inject(ctx, headers);
    return;
  }
  const sc = api.trace.getSpanContext(ctx);
  if (!sc || !api.trace.isSpanContextValid(sc)) return;
  headers[TRACEPARENT] = `00-${sc.traceId}-${sc.spanId}-0${(sc.traceFlags & 1).toString(16)}`;
  const state = sc.traceState?.serialize();
  if (state) headers[TRACESTATE] = state;
}

/** The producer's context carried in `headers`, or `undefined` when there is none valid. */
export function extract(api: OTelApi, headers: Readonly<Record<string, string>>): Context | undefined {
  if (api.propagation.fields().length > 0) {
    const ctx = api.propagation.extract(api.ROOT_CONTEXT, headers);
    const sc = api.trace.getSpanContext(ctx);
    return sc && api.trace.isSpanContextValid(sc) ? ctx : undefined;
  }
  const match = PARENT.exec(headers[TRACEPARENT] ?? "");
  if (!match) return undefined;
  const [, traceId, spanId, flags] = match;
  const sc = {
    traceId: traceId!,
    spanId: spanId!,
    traceFlags: Number.parseInt(flags!, 16) & 1,
    isRemote: true,
  };
  if (!api.trace.isSpanContextValid(sc)) return undefined;
  return api.trace.setSpanContext(api.ROOT_CONTEXT, sc);
}
