/**
 * The adapter's tables, created on first use in the schema the user names, by versioned
 * migrations: `<schema>.migrations` records every version applied; `migrate()` applies the
 * missing ones in order, each in a transaction under an advisory lock, so that two processes
 * starting at once never apply one twice. A migration, once released, is never edited: a change
 * is a new version.
 * @module
 */
import type { Pool, PoolClient } from "pg";

const ignore = () => {};

/**
 * `pool.connect()` with an `error` listener on the client while it is checked out: pg emits
 * `error` on a checked-out client whose connection ends (a server restart) even when the pending
 * query already rejected, and pg-pool listens only while the client is idle, so without this the
 * process dies of an uncaught "Connection terminated unexpectedly" (seen in the broker-restart
 * case). `release` takes the listener off again.
 */
export async function checkout(pool: Pool): Promise<PoolClient> {
  const client = await pool.connect();
  client.on("error", ignore);
  const release = client.release.bind(client);
  client.release = (error?: Error | boolean) => {
    client.off("error", ignore);
    release(error);
  };
  return client;
}

/**
 * Every client of `pool` keeps an `error` listener for its whole life. pg-pool listens only while
 * a client is idle, and (with `pool.query`) once per query; a server killed mid-stream can still
 * make a client emit `error` outside those windows ("terminating connection due to unexpected
 * postmaster exit", seen once in the broker-restart case), and an `error` event nobody listens
 * to ends the process. The failure itself is not lost: the query in flight rejects, and the next
 * use of a broken client fails and is retried by the caller.
 */
export function guardClients(pool: Pool): void {
  pool.on("connect", (client) => {
    client.on("error", ignore);
  });
}

/** A schema name, quoted for SQL (options allow `[a-z_][a-z0-9_]*` only). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** One migration: its version and the statements, given the quoted schema. */
interface Migration {
  readonly version: number;
  readonly title: string;
  readonly sql: (s: string) => string;
}

/**
 * The migrations, in order.
 *
 * `messages` holds every message of every destination: a queue's rows have `dest = 'q/<name>'`,
 * a topic group's `dest = 't/<topic>/<group>'` (`/` is not a name character, so no two
 * destinations share a `dest`). A row is claimable when `visible_at <= now()`; a claim sets
 * `visible_at` to the lease's end and `owner` to the consumer; ack deletes it.
 */
const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    title: "messages and topic groups",
    sql: (s) => `
      CREATE TABLE ${s}.messages (
        seq bigserial PRIMARY KEY,
        dest text NOT NULL,
        id text NOT NULL,
        body bytea NOT NULL,
        headers text NOT NULL,
        key text,
        correlation_id text,
        reply_to text,
        ts bigint NOT NULL,
        priority integer NOT NULL DEFAULT 0,
        attempt integer NOT NULL DEFAULT 0,
        visible_at timestamptz NOT NULL DEFAULT now(),
        owner uuid
      );
      CREATE INDEX messages_claim ON ${s}.messages (dest, priority DESC, seq);
      CREATE INDEX messages_key ON ${s}.messages (dest, key, seq) WHERE key IS NOT NULL;
      CREATE INDEX messages_owner ON ${s}.messages (owner) WHERE owner IS NOT NULL;
      CREATE TABLE ${s}.groups (
        topic text NOT NULL,
        grp text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (topic, grp)
      );`,
  },
  {
    version: 2,
    title: "idempotency claims",
    sql: (s) => `
      CREATE TABLE ${s}.idempotency (
        key text PRIMARY KEY,
        token uuid,
        done boolean NOT NULL DEFAULT false,
        expires_at timestamptz NOT NULL
      );
      CREATE INDEX idempotency_expires ON ${s}.idempotency (expires_at);`,
  },
  {
    version: 3,
    title: "transactional outbox",
    sql: (s) => `
      CREATE TABLE ${s}.outbox (
        seq bigserial PRIMARY KEY,
        kind text NOT NULL CHECK (kind IN ('queue', 'topic')),
        destination text NOT NULL,
        id text NOT NULL,
        body bytea NOT NULL,
        headers text NOT NULL,
        key text,
        correlation_id text,
        created_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz
      );
      CREATE INDEX outbox_unsent ON ${s}.outbox (seq) WHERE sent_at IS NULL;`,
  },
  {
    version: 4,
    title: "outbox content type",
    sql: (s) => `ALTER TABLE ${s}.outbox ADD COLUMN content_type text NOT NULL DEFAULT 'application/json';`,
  },
  {
    version: 5,
    title: "claims as HOT updates",
    // A claim, a lease extension and a nack update visible_at, attempt and owner only. With no
    // index on them and free room in each page, PostgreSQL updates the row in place (a HOT
    // update: no new index entries), which halves what a claim writes. The owner index went:
    // every statement by owner also names the seqs (primary key).
    sql: (s) => `
      DROP INDEX IF EXISTS ${s}.messages_owner;
      ALTER TABLE ${s}.messages SET (fillfactor = 70);`,
  },
];

/** The newest migration version this package knows. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** Apply the missing migrations to `schema`; resolves to the versions applied now. */
export async function migrate(client: PoolClient, schema: string): Promise<number[]> {
  const s = quoteIdent(schema);
  const applied: number[] = [];
  await client.query("BEGIN");
  try {
    // One process at a time per schema; the lock goes with the transaction.
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`omnibus.migrate.${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${s}.migrations (version integer PRIMARY KEY, title text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const { rows } = await client.query<{ v: number | null }>(
      `SELECT max(version) AS v FROM ${s}.migrations`,
    );
    const current = rows[0]?.v ?? 0;
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      await client.query(m.sql(s));
      await client.query(`INSERT INTO ${s}.migrations (version, title) VALUES ($1, $2)`, [
        m.version,
        m.title,
      ]);
      applied.push(m.version);
    }
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
  return applied;
}

/** The `dest` of a queue. */
export function queueDest(name: string): string {
  return `q/${name}`;
}

/** The `dest` of a topic group. */
export function groupDest(topic: string, group: string): string {
  return `t/${topic}/${group}`;
}

/** The channel `NOTIFY` wakes consumers on (payload: the `dest`). */
export function channelOf(schema: string): string {
  return `omnibus_${schema}`;
}
