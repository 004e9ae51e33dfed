/**
 * Declarative adapter options: declare each option once (type, default, range, whether a URL
 * may set it) and get the resolution, the checks, the URL parameters, one precedence rule and one
 * error wording for free. The same grammar for every adapter: integers and durations in decimal,
 * booleans `true|false|1|0`, explicit options win over the URL, an unknown URL parameter is a
 * `ConfigError` unless the adapter passes unknown ones to its client library.
 * @module
 */
import { ConfigError } from "../errors.js";

/** How one option is read and checked. */
export interface OptionSpec<T> {
  /** What a valid value is, for error messages: "an integer within 1..65535". */
  readonly expects: string;
  readonly default: T;
  /** May a URL query parameter of the same name set it? */
  readonly url: boolean;
  /** Parse a URL parameter's text, or `undefined` when it is not valid. */
  fromText(text: string): T | undefined;
  /** Check a value given in options, or `undefined` when it is not valid. */
  check(value: unknown): T | undefined;
}

const integer = (text: string) => (/^-?\d+$/.test(text) ? Number(text) : undefined);

/** Option kinds. */
export const option = {
  /** An integer within `min..max`. */
  int(o: { default: number; min?: number; max?: number; url?: boolean }): OptionSpec<number> {
    const min = o.min ?? Number.MIN_SAFE_INTEGER;
    const max = o.max ?? Number.MAX_SAFE_INTEGER;
    const ok = (v: unknown) =>
      typeof v === "number" && Number.isInteger(v) && v >= min && v <= max ? v : undefined;
    const range = `${o.min ?? "…"}..${o.max ?? "…"}`;
    return {
      expects: `an integer within ${range}`,
      default: o.default,
      url: o.url ?? true,
      fromText: (t) => ok(integer(t)),
      check: ok,
    };
  },
  /** A duration in whole milliseconds within `min..max`. */
  ms(o: { default: number; min?: number; max?: number; url?: boolean }): OptionSpec<number> {
    const spec = option.int({ min: 0, ...o });
    return { ...spec, expects: `a duration in milliseconds within ${o.min ?? 0}..${o.max ?? "…"}` };
  },
  /** `true` or `false` (in a URL also `1` or `0`). */
  bool(o: { default: boolean; url?: boolean }): OptionSpec<boolean> {
    return {
      expects: "true or false",
      default: o.default,
      url: o.url ?? true,
      fromText: (t) => (t === "true" || t === "1" ? true : t === "false" || t === "0" ? false : undefined),
      check: (v) => (typeof v === "boolean" ? v : undefined),
    };
  },
  /** A string (non-empty unless `empty`), optionally matching `pattern`. */
  string(o: { default: string; pattern?: RegExp; empty?: boolean; url?: boolean }): OptionSpec<string> {
    const ok = (v: unknown) =>
      typeof v === "string" && (o.empty || v.length > 0) && (!o.pattern || o.pattern.test(v)) ? v : undefined;
    return {
      expects: o.pattern ? `a string matching ${o.pattern}` : "a non-empty string",
      default: o.default,
      url: o.url ?? true,
      fromText: ok,
      check: ok,
    };
  },
  /** One of `values`. */
  oneOf<const V extends string>(values: readonly V[], o: { default: V; url?: boolean }): OptionSpec<V> {
    const ok = (v: unknown) =>
      typeof v === "string" && (values as readonly string[]).includes(v) ? (v as V) : undefined;
    return {
      expects: `one of ${values.join(", ")}`,
      default: o.default,
      url: o.url ?? true,
      fromText: ok,
      check: ok,
    };
  },
  /** Anything (a client object, a TLS config): options only, never from a URL; checked by `check`. */
  value<T>(o: { default: T; check?: (v: unknown) => boolean; expects?: string }): OptionSpec<T> {
    return {
      expects: o.expects ?? "a value",
      default: o.default,
      url: false,
      fromText: () => undefined,
      check: (v) => (o.check === undefined || o.check(v) ? (v as T) : undefined),
    };
  },
};

/** The options a set of specs resolves to. */
export type Resolved<S extends Record<string, OptionSpec<any>>> = {
  readonly [K in keyof S]: S[K]["default"];
};

/** What {@link defineOptions} gives. */
export interface OptionSet<S extends Record<string, OptionSpec<any>>> {
  /** Option names, for documentation and tests. */
  readonly names: readonly (keyof S & string)[];
  /**
   * Resolve `options` over URL query `params`: an explicit option wins over the URL, the URL over
   * the default. Unknown options and (without `passThrough`) unknown URL parameters are a
   * `ConfigError`; with `passThrough`, unknown URL parameters are returned in `rest`.
   */
  resolve(
    options?: Readonly<Record<string, unknown>>,
    params?: URLSearchParams,
    settings?: { passThrough?: boolean; ignore?: readonly string[] },
  ): { values: Resolved<S>; rest: Record<string, string> };
}

/** Declare an adapter's options once. `adapter` names it in error messages. */
export function defineOptions<S extends Record<string, OptionSpec<any>>>(
  adapter: string,
  specs: S,
): OptionSet<S> {
  const names = Object.keys(specs) as (keyof S & string)[];
  return {
    names,
    resolve(options = {}, params, settings = {}) {
      const values: Record<string, unknown> = {};
      const rest: Record<string, string> = {};
      const ignore = new Set(settings.ignore ?? []);
      for (const key of Object.keys(options)) {
        if (!(key in specs) && !ignore.has(key))
          throw new ConfigError(`${adapter}: unknown option "${key}" (known: ${names.join(", ")})`);
      }
      for (const [key, text] of params ?? []) {
        const spec = specs[key];
        if (spec === undefined || !spec.url) {
          if (ignore.has(key)) continue;
          if (settings.passThrough && spec === undefined) {
            rest[key] = text;
            continue;
          }
          throw new ConfigError(
            `${adapter}: unknown URL parameter "${key}" (known: ${names.filter((n) => specs[n]!.url).join(", ")})`,
          );
        }
        const value = spec.fromText(text);
        if (value === undefined)
          throw new ConfigError(
            `${adapter}: URL parameter ${key} must be ${spec.expects}, got ${JSON.stringify(text)}`,
          );
        values[key] = value;
      }
      for (const name of names) {
        const given = options[name];
        if (given !== undefined) {
          const value = specs[name]!.check(given);
          if (value === undefined)
            throw new ConfigError(
              `${adapter}: option ${name} must be ${specs[name]!.expects}, got ${show(given)}`,
            );
          values[name] = value;
        } else if (!(name in values)) {
          values[name] = specs[name]!.default;
        }
      }
      return { values: values as Resolved<S>, rest };
    },
  };
}

function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean" || value === null || value === undefined)
    return String(value);
  return typeof value;
}
