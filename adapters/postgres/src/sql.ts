/**
 * The statements of the adapter, one function per statement, given the quoted schema. Each is one
 * round trip in autocommit: a claim is an `UPDATE … FROM (SELECT … FOR UPDATE SKIP LOCKED)`, so
 * no transaction is held open while a handler runs (the lease, `visible_at`, stands for it).
 * @module
 */

/** Columns a claim returns. */
export interface MessageRow {
  readonly seq: string;
  readonly dest: string;
  readonly id: string;
  readonly body: Buffer;
  readonly headers: string;
  readonly key: string | null;
  readonly correlation_id: string | null;
  readonly reply_to: string | null;
  readonly ts: string;
  readonly priority: number;
  readonly attempt: number;
}

const UNNEST = `unnest($2::text[], $3::bytea[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int8[], $9::int4[], $10::int8[])
  WITH ORDINALITY AS u(id, body, headers, key, cid, rto, ts, prio, delay, n)`;

/**
 * Insert a batch into one queue ($1 = dest) and wake its consumers ($11 = channel): one statement,
 * so the `NOTIFY` goes out with the commit of the rows.
 */
export const sendQueue = (s: string) => `
  WITH ins AS (
    INSERT INTO ${s}.messages (dest, id, body, headers, key, correlation_id, reply_to, ts, priority, visible_at)
    SELECT $1, u.id, u.body, u.headers, u.key, u.cid, u.rto, u.ts, u.prio, now() + u.delay * interval '1 millisecond'
    FROM ${UNNEST}
    ORDER BY u.n
    RETURNING 1
  )
  SELECT pg_notify($11, $1) FROM (SELECT 1 FROM ins LIMIT 1) AS one`;

/**
 * Publish a batch to a topic ($1 = topic): fan-out at send, one row per group that exists now,
 * then a `NOTIFY` per group.
 */
export const sendTopic = (s: string) => `
  WITH ins AS (
    INSERT INTO ${s}.messages (dest, id, body, headers, key, correlation_id, reply_to, ts, priority, visible_at)
    SELECT 't/' || g.topic || '/' || g.grp, u.id, u.body, u.headers, u.key, u.cid, u.rto, u.ts, u.prio,
      now() + u.delay * interval '1 millisecond'
    FROM ${s}.groups AS g CROSS JOIN ${UNNEST}
    WHERE g.topic = $1
    ORDER BY g.grp, u.n
    RETURNING dest
  )
  SELECT pg_notify($11, d.dest) FROM (SELECT DISTINCT dest FROM ins) AS d`;

/**
 * Claim up to $2 visible messages of $1 for owner $4, leased for $3 ms: highest priority first,
 * then send order. With ordering by key, only the head of each key (no older row of that key in
 * the destination, whether in flight or not) is claimable, so that a key's next message waits
 * until the previous one is acked, whichever consumer holds it.
 */
export const claim = (s: string, orderingByKey: boolean) => `
  UPDATE ${s}.messages AS m
  SET visible_at = now() + $3 * interval '1 millisecond', attempt = m.attempt + 1, owner = $4
  FROM (
    SELECT c.seq FROM ${s}.messages AS c
    WHERE c.dest = $1 AND c.visible_at <= now()
    ${
      orderingByKey
        ? `AND (c.key IS NULL OR NOT EXISTS (
        SELECT 1 FROM ${s}.messages AS p WHERE p.dest = c.dest AND p.key = c.key AND p.seq < c.seq))`
        : ""
    }
    ORDER BY c.priority DESC, c.seq
    LIMIT $2
    FOR UPDATE SKIP LOCKED
  ) AS picked
  WHERE m.seq = picked.seq
  RETURNING m.seq, m.dest, m.id, m.body, m.headers, m.key, m.correlation_id, m.reply_to, m.ts, m.priority, m.attempt`;

/**
 * Milliseconds until the next row of $1 becomes visible (a delay, a nack delay, a lease), or null:
 * of the rows that were not visible yet when the claim before started ($2, ms since the epoch).
 * Not `visible_at > now()`: a row that became visible between that claim and this query (a 20 ms
 * nack delay on a loaded machine) was neither claimed nor counted, and its consumer slept a whole
 * `pollMs` (reproduced: 3 of 50 nacks came back 5 s late with `pollMs` 5000). Such a row now gives
 * a negative wait: claim again at once. Rows visible before the claim and skipped by it (locked
 * by another consumer, behind their key's head) are left out, so they cause no busy loop.
 */
export const nextVisible = (s: string) => `
  SELECT (EXTRACT(EPOCH FROM (min(visible_at) - now())) * 1000)::float8 AS ms
  FROM ${s}.messages WHERE dest = $1 AND visible_at > to_timestamp($2::float8 / 1000)`;

/** Ack: delete what owner $2 still holds of the seqs $1. */
export const ack = (s: string) => `DELETE FROM ${s}.messages WHERE seq = ANY($1::int8[]) AND owner = $2`;

/** Nack: make seq $1 (held by $2) visible again in $3 ms, and wake consumers of its dest ($4 = channel). */
export const nack = (s: string) => `
  WITH upd AS (
    UPDATE ${s}.messages SET visible_at = now() + $3 * interval '1 millisecond', owner = NULL
    WHERE seq = $1 AND owner = $2
    RETURNING dest
  )
  SELECT pg_notify($4, dest) FROM upd`;

/** Extend the lease of what owner $1 holds of seqs $2 by $3 ms; returns the seqs still held. */
export const extend = (s: string) => `
  UPDATE ${s}.messages SET visible_at = now() + $3 * interval '1 millisecond'
  WHERE owner = $1 AND seq = ANY($2::int8[])
  RETURNING seq`;

/** Give back what owner $1 still holds of seqs $2 (a consumer closing), and wake ($3). */
export const releaseOwner = (s: string) => `
  WITH upd AS (
    UPDATE ${s}.messages SET visible_at = now(), owner = NULL WHERE owner = $1 AND seq = ANY($2::int8[]) RETURNING dest
  )
  SELECT pg_notify($3, d.dest) FROM (SELECT DISTINCT dest FROM upd) AS d`;

/** Give back seqs $2 of owner $1 (claimed after the consumer stopped), and wake ($3). */
export const releaseSeqs = (s: string) => `
  WITH upd AS (
    UPDATE ${s}.messages SET visible_at = now(), owner = NULL, attempt = attempt - 1
    WHERE owner = $1 AND seq = ANY($2::int8[]) RETURNING dest
  )
  SELECT pg_notify($3, d.dest) FROM (SELECT DISTINCT dest FROM upd) AS d`;
