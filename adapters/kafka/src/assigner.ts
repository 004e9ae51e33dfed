/**
 * The partition assigner of the adapter's consumer groups.
 *
 * Kafka hands out partitions, not messages: when a member joins or leaves, kafkajs's default
 * (round-robin, eager) assignment may move a partition away from a member that is still working
 * on records of it. Those deliveries then become stale and the new owner fetches the records
 * again, so a message held by a live consumer reaches a second consumer, which a queue must not
 * do (its "lease" is the consumer's life). This assigner instead:
 *
 * 1. leaves every partition with a member that has records of it delivered and not settled
 *    (*busy*), as long as each running member still gets its fair share (`⌊n/k⌋` partitions):
 *    if not, the busy partitions with the fewest unsettled records move first;
 * 2. gives the other partitions to running members, back to where they were up to an even
 *    share (fewer re-fetches), then to whoever has fewest;
 * 3. gives nothing new to a member that was stopped or is closing (it does not fetch any more):
 *    it keeps only what it still has deliveries of, the rest goes to running members at once.
 *
 * Every member reports its state in the `userData` of its join request, which kafkajs builds at
 * every (re)join, and the group leader runs {@link assignPartitions}. Members that only speak
 * kafkajs's round-robin protocol (earlier versions of the adapter) make the group fall back to
 * it: the adapter lists both.
 *
 * @module
 */
import { AssignerProtocol, type PartitionAssigner } from "kafkajs";

export const ASSIGNER_NAME = "OmnibusAssigner";
const VERSION = 1;

/** What one member tells the leader at a join. */
export interface MemberReport {
  /** topic → partition → records delivered and not settled. */
  readonly busy: Record<string, Record<string, number>>;
  /** topic → partitions this member owned before the join. */
  readonly owned: Record<string, number[]>;
  /** Stopped or closing: assign it nothing it does not hold records of. */
  readonly stopped: boolean;
}

/** A member as the leader sees it. */
export interface Member {
  readonly id: string;
  readonly topics: readonly string[];
  readonly report: MemberReport;
}

const EMPTY: MemberReport = { busy: {}, owned: {}, stopped: false };

function parseReport(userData: Buffer | null | undefined): MemberReport {
  if (userData === null || userData === undefined || userData.length === 0) return EMPTY;
  try {
    const r = JSON.parse(userData.toString("utf8")) as Partial<MemberReport>;
    return {
      busy: typeof r.busy === "object" && r.busy !== null ? r.busy : {},
      owned: typeof r.owned === "object" && r.owned !== null ? r.owned : {},
      stopped: r.stopped === true,
    };
  } catch {
    return EMPTY;
  }
}

/**
 * The assignment: member id → topic → partitions (see the module comment). Deterministic for
 * given members and partitions.
 */
export function assignPartitions(
  members: readonly Member[],
  partitionsByTopic: ReadonlyMap<string, readonly number[]>,
): Map<string, Record<string, number[]>> {
  const sorted = [...members].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const result = new Map<string, Record<string, number[]>>(sorted.map((m) => [m.id, {}]));
  for (const [topic, partitions] of partitionsByTopic) {
    const eligible = sorted.filter((m) => m.topics.includes(topic));
    if (eligible.length === 0 || partitions.length === 0) continue;
    const running = eligible.filter((m) => !m.report.stopped);
    const takers = running.length > 0 ? running : eligible;
    const owner = new Map<number, Member>();
    const count = new Map<Member, number>(eligible.map((m) => [m, 0]));
    const load = (m: Member, p: number) => Number(m.report.busy[topic]?.[String(p)] ?? 0);
    // 1. Busy partitions stay where their records are being worked on.
    for (const p of partitions) {
      let best: Member | undefined;
      for (const m of eligible)
        if (load(m, p) > 0 && (best === undefined || load(m, p) > load(best, p))) best = m;
      if (best !== undefined) {
        owner.set(p, best);
        count.set(best, count.get(best)! + 1);
      }
    }
    // 2. The rest to running members: first back to where they were (up to an even share), then
    // to whoever has fewest.
    const share = Math.ceil(partitions.length / takers.length);
    for (const p of partitions) {
      if (owner.has(p)) continue;
      const had = takers.find((m) => m.report.owned[topic]?.includes(p));
      if (had !== undefined && count.get(had)! < share) {
        owner.set(p, had);
        count.set(had, count.get(had)! + 1);
      }
    }
    for (const p of partitions) {
      if (owner.has(p)) continue;
      let fewest = takers[0]!;
      for (const m of takers) if (count.get(m)! < count.get(fewest)!) fewest = m;
      owner.set(p, fewest);
      count.set(fewest, count.get(fewest)! + 1);
    }
    // 3. No running member below its fair share of what running members hold: the one with the
    // most partitions over its share gives up its least busy one. (What a stopped member still
    // has deliveries of stays with it: it does not fetch, and closes soon.)
    let held = 0;
    for (const p of partitions) if (!takers.includes(owner.get(p)!)) held++;
    const fair = Math.floor((partitions.length - held) / takers.length);
    for (;;) {
      const poor = takers.find((m) => count.get(m)! < fair);
      if (poor === undefined) break;
      let donor: Member | undefined;
      for (const m of takers)
        if (count.get(m)! > fair && (donor === undefined || count.get(m)! > count.get(donor)!)) donor = m;
      if (donor === undefined) break;
      let move: number | undefined;
      for (const p of partitions) {
        if (owner.get(p) !== donor) continue;
        if (move === undefined || load(donor, p) < load(donor, move)) move = p;
      }
      owner.set(move!, poor);
      count.set(donor, count.get(donor)! - 1);
      count.set(poor, count.get(poor)! + 1);
    }
    for (const p of partitions) {
      const assignment = result.get(owner.get(p)!.id)!;
      (assignment[topic] ??= []).push(p);
    }
  }
  return result;
}

/** The kafkajs assigner; `report` is called at every join of this member. */
export function omnibusAssigner(report: () => MemberReport): PartitionAssigner {
  return ({ cluster }) => ({
    name: ASSIGNER_NAME,
    version: VERSION,
    protocol({ topics }) {
      return {
        name: ASSIGNER_NAME,
        metadata: AssignerProtocol.MemberMetadata.encode({
          version: VERSION,
          topics,
          userData: Buffer.from(JSON.stringify(report())),
        }),
      };
    },
    async assign({ members, topics }) {
      const decoded: Member[] = members.map(({ memberId, memberMetadata }) => {
        const meta = AssignerProtocol.MemberMetadata.decode(memberMetadata);
        return { id: memberId, topics: meta?.topics ?? topics, report: parseReport(meta?.userData) };
      });
      const partitions = new Map(
        topics.map((t) => [t, cluster.findTopicPartitionMetadata(t).map((p) => p.partitionId)] as const),
      );
      const plan = assignPartitions(decoded, partitions);
      return decoded.map(({ id }) => ({
        memberId: id,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: VERSION,
          assignment: plan.get(id) ?? {},
          userData: Buffer.alloc(0),
        }),
      }));
    },
  });
}
