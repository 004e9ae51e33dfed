import type { StandardSchemaV1 } from "@standard-schema/spec";

/**
 * A type-only body declaration, for contracts without a runtime schema:
 * `queues: { orders: body<Order>() }`.
 */
export interface BodyType<T> {
  readonly "~omnibusBody"?: T;
}

/** Declare a body type without a runtime schema. */
export function body<T>(): BodyType<T> {
  return {};
}

/** A body declaration: a Standard Schema (zod, valibot, arktype…) or {@link body}. */
export type BodySpec = StandardSchemaV1 | BodyType<unknown>;

/** A request/response pair for request-reply. */
export interface RequestSpec {
  readonly request: BodySpec;
  readonly response: BodySpec;
}

/**
 * Names and body types of an application's destinations. With a contract, sending the wrong
 * body or to an unknown destination fails to compile, and Standard Schemas are also checked at
 * run time (on send, and on receive where a bad body is dead-lettered).
 */
export interface Contract {
  readonly queues?: Readonly<Record<string, BodySpec>>;
  readonly topics?: Readonly<Record<string, BodySpec>>;
  readonly requests?: Readonly<Record<string, RequestSpec>>;
}

/** Identity function that keeps a contract's literal types. */
export function defineContract<const C extends Contract>(contract: C): C {
  return contract;
}

/** The body type a {@link BodySpec} describes. */
export type BodyOf<S> =
  S extends StandardSchemaV1<any, infer O> ? O : S extends BodyType<infer T> ? T : unknown;
/** The input type a {@link BodySpec} accepts (differs from the output for transforming schemas). */
export type InputOf<S> =
  S extends StandardSchemaV1<infer I, any> ? I : S extends BodyType<infer T> ? T : unknown;

type Keys<M> = string extends keyof M ? string : keyof M & string;

/** Queue names allowed by contract `C` (any string without one), plus their `.dlq` queues. */
export type QueueName<C extends Contract> =
  C["queues"] extends Readonly<Record<string, BodySpec>>
    ? Keys<C["queues"]> | `${Keys<C["queues"]>}.dlq`
    : string;
/** Topic names allowed by contract `C`. */
export type TopicName<C extends Contract> =
  C["topics"] extends Readonly<Record<string, BodySpec>> ? Keys<C["topics"]> : string;
/** Request queue names allowed by contract `C`. */
export type RequestName<C extends Contract> =
  C["requests"] extends Readonly<Record<string, RequestSpec>> ? Keys<C["requests"]> : string;

type StripDlq<N> = N extends `${infer Q}.dlq` ? Q : N;
type Lookup<M, N> =
  M extends Readonly<Record<string, unknown>> ? (N extends keyof M ? M[N] : unknown) : unknown;

/** Body (as received) of queue `N`. */
export type QueueBody<C extends Contract, N> = BodyOf<
  Lookup<C["queues"], N extends keyof NonNullable<C["queues"]> ? N : StripDlq<N>>
>;
/** Body (as sent) of queue `N`. */
export type QueueInput<C extends Contract, N> = InputOf<
  Lookup<C["queues"], N extends keyof NonNullable<C["queues"]> ? N : StripDlq<N>>
>;
/** Body (as received) of topic `N`. */
export type TopicBody<C extends Contract, N> = BodyOf<Lookup<C["topics"], N>>;
/** Body (as sent) of topic `N`. */
export type TopicInput<C extends Contract, N> = InputOf<Lookup<C["topics"], N>>;
/** Request body of request queue `N`. */
export type RequestBody<C extends Contract, N> = BodyOf<Lookup<Lookup<C["requests"], N>, "request">>;
/** Request input of request queue `N`. */
export type RequestInput<C extends Contract, N> = InputOf<Lookup<Lookup<C["requests"], N>, "request">>;
/** Response body of request queue `N`. */
export type ResponseBody<C extends Contract, N> = BodyOf<Lookup<Lookup<C["requests"], N>, "response">>;
/** Response input of request queue `N`. */
export type ResponseInput<C extends Contract, N> = InputOf<Lookup<Lookup<C["requests"], N>, "response">>;

/** True if `spec` is a Standard Schema (has the `~standard` property). */
export function isStandardSchema(spec: unknown): spec is StandardSchemaV1 {
  return typeof spec === "object" && spec !== null && "~standard" in spec;
}
