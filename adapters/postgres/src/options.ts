/**
 * The adapter's options, declared once with the kit's `defineOptions`: what a URL may set
 * (`postgres://user:password@host:port/database?schema=app&leaseMs=10000`), the defaults, the
 * ranges, and the `pg` connection settings derived from the URL.
 * @module
 */
import { defineOptions, option, parseBrokerUrl, type Resolved } from "@omnibus/core/adapter";

/** Options of {@link postgres}. Every field is optional; `postgres()` fills in the defaults. */
export interface PostgresOptions {
  /**
   * `postgres://[user[:password]@]host[:port][/database][?param=value…]` (or `postgresql://`).
   * Parameters named like the options below set them (an explicit option wins); any other
   * parameter (`sslmode`, `application_name`…) goes to `pg` as it is.
   * @default "postgres://postgres@127.0.0.1:5432/postgres"
   */
  url?: string;
  /**
   * The schema holding the adapter's tables (created on first use, with versioned migrations).
   * @default "omnibus"
   */
  schema?: string;
  /**
   * How long a claimed message stays invisible to other consumers. A running consumer extends the
   * lease of what it holds every third of this; a consumer that died loses it, and the message is
   * delivered again once it expired.
   * @default 30000
   */
  leaseMs?: number;
  /**
   * The poll fallback: how long a consumer with nothing to claim waits at most before it looks
   * again (a `NOTIFY` wakes it sooner; a delayed message or a lease expiring sooner too). An
   * idle consumer costs one claim query per `pollMs`. It also bounds how long a key's next message
   * waits after its head was acked by another process (acks do not `NOTIFY`).
   * @default 1000
   */
  pollMs?: number;
  /**
   * Connections of each of the adapter's two `pg.Pool`s (sends; claims and settlements), plus one
   * for `LISTEN`.
   * @default 10
   */
  poolSize?: number;
  /**
   * Messages with the same key are handed out one at a time in send order (the head of each key
   * only, across every consumer). `false` drops the check: keys are then ignored for ordering.
   * @default true
   */
  orderingByKey?: boolean;
  /**
   * Largest encoded body + headers accepted, in bytes (a `bytea` holds 1 GB; big rows are slow).
   * @default 8388608 (8 MiB)
   */
  maxMessageBytes?: number;
  /**
   * How long connecting may take before it fails with a `ConnectionError`.
   * @default 5000
   */
  connectTimeoutMs?: number;
  /**
   * A statement (send, claim, ack) that has not answered within this fails (`query_timeout`), so
   * that no send waits without bound on a dead connection.
   * @default 10000
   */
  queryTimeoutMs?: number;
}

export const DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/postgres";

const specs = {
  schema: option.string({ default: "omnibus", pattern: /^[a-z_][a-z0-9_]{0,47}$/ }),
  leaseMs: option.ms({ default: 30_000, min: 100, max: 86_400_000 }),
  pollMs: option.ms({ default: 1_000, min: 10, max: 600_000 }),
  poolSize: option.int({ default: 10, min: 1, max: 1_000 }),
  orderingByKey: option.bool({ default: true }),
  maxMessageBytes: option.int({ default: 8 * 1024 * 1024, min: 1, max: 256 * 1024 * 1024 }),
  connectTimeoutMs: option.ms({ default: 5_000, min: 1, max: 600_000 }),
  queryTimeoutMs: option.ms({ default: 10_000, min: 1, max: 3_600_000 }),
};

/** The option set (names, resolution). */
export const postgresOptions = defineOptions("postgres", specs);

/** Options with every default filled in, and the `pg` connection settings. */
export interface ResolvedOptions extends Resolved<typeof specs> {
  readonly url: string;
  readonly connection: {
    readonly host: string;
    readonly port: number;
    readonly user: string;
    readonly password: string | undefined;
    readonly database: string;
    /** Other URL parameters, for `pg` (as a connection string's query). */
    readonly params: Readonly<Record<string, string>>;
  };
}

/** Resolve options over the URL; `ConfigError` (password masked) when something is wrong. */
export function resolveOptions(options: PostgresOptions = {}): ResolvedOptions {
  const url = options.url ?? DEFAULT_URL;
  const parsed = parseBrokerUrl(url, {
    schemes: ["postgres", "postgresql"],
    defaultPort: 5432,
    adapter: "postgres",
  });
  const { values, rest } = postgresOptions.resolve(
    options as Readonly<Record<string, unknown>>,
    parsed.params,
    { passThrough: true, ignore: ["url"] },
  );
  const host = parsed.hosts[0]!;
  const user = parsed.username ?? "postgres";
  return {
    ...values,
    url,
    connection: {
      host: host.host,
      port: host.port,
      user,
      password: parsed.password,
      database: parsed.path === "" ? user : parsed.path,
      params: rest,
    },
  };
}
