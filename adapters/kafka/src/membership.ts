/**
 * Lets a kafkajs consumer come back to its group as the member it was.
 *
 * When kafkajs restarts its consumer (after a request it gave up on: a connection lost for more
 * than its few retries, a coordinator not found while the broker restarts) it joins with an empty member id, as a new member,
 * although the coordinator still counts the old one, which holds every partition it had. The
 * coordinator then waits for that old member to rejoin, or to miss its session timeout or the
 * rebalance timeout, before it completes the new member's join: seconds with no delivery, and
 * then every record in flight is delivered again. (The Java client keeps its member id across
 * connection losses.)
 *
 * So the consumer's JoinGroup requests are wrapped: one with an empty member id after this
 * consumer had one is sent with the id it had. The coordinator takes it for what it is, the same
 * member rejoining, and completes the join at once; the member keeps its partitions (and the
 * adapter its deliveries). If the coordinator no longer knows the id (the session expired, the
 * member left), it answers `UNKNOWN_MEMBER_ID` and the request is sent again as a new member.
 *
 * kafkajs exposes neither its cluster nor its brokers: the cluster is captured when the consumer
 * is made (see targets.ts), and the broker that `findGroupCoordinator` returns gets the wrapper.
 * If a later kafkajs changes these internals, {@link Membership.install} returns false and the
 * consumer works as kafkajs does (the unit test notices).
 *
 * @module
 */

interface JoinRequest {
  readonly memberId?: string;
  readonly [key: string]: unknown;
}
interface JoinResponse {
  readonly memberId: string;
  readonly [key: string]: unknown;
}
interface CoordinatorLike {
  joinGroup(request: JoinRequest): Promise<JoinResponse>;
}
interface ClusterLike {
  findGroupCoordinator(args: { groupId: string; coordinatorType?: number }): Promise<CoordinatorLike>;
}

const typeOf = (error: unknown): unknown => (error as { type?: unknown } | null)?.type;

function isCluster(value: unknown): value is ClusterLike {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Partial<ClusterLike>).findGroupCoordinator === "function"
  );
}

/** The member id one consumer has in its group, kept across kafkajs restarts. */
export class Membership {
  /** The id the coordinator gave this consumer last; undefined before the first join. */
  memberId: string | undefined;
  /** Joins sent with a remembered id (for tests and logs). */
  rejoins = 0;
  private readonly wrapped = new WeakSet<object>();

  /** Wrap the JoinGroup requests of a kafkajs consumer's cluster; false if it is not one. */
  install(cluster: unknown): boolean {
    if (!isCluster(cluster)) return false;
    const find = cluster.findGroupCoordinator.bind(cluster);
    cluster.findGroupCoordinator = async (args) => {
      const coordinator = await find(args);
      this.wrap(coordinator);
      return coordinator;
    };
    return true;
  }

  /** Forget the id: the next join is a new member's (after this consumer left its group). */
  forget(): void {
    this.memberId = undefined;
  }

  private wrap(coordinator: CoordinatorLike): void {
    if (typeof coordinator?.joinGroup !== "function" || this.wrapped.has(coordinator)) return;
    this.wrapped.add(coordinator);
    const join = coordinator.joinGroup.bind(coordinator);
    coordinator.joinGroup = async (request) => {
      const remembered = this.memberId;
      const asBefore = (request.memberId ?? "") === "" && remembered !== undefined;
      let response: JoinResponse;
      if (asBefore) {
        this.rejoins++;
        try {
          response = await join({ ...request, memberId: remembered });
        } catch (error) {
          if (typeOf(error) !== "UNKNOWN_MEMBER_ID" && typeOf(error) !== "FENCED_INSTANCE_ID") throw error;
          // The coordinator forgot the member: join as a new one.
          if (this.memberId === remembered) this.memberId = undefined;
          response = await join(request);
        }
      } else {
        try {
          response = await join(request);
        } catch (error) {
          if (typeOf(error) === "UNKNOWN_MEMBER_ID" && request.memberId === this.memberId)
            this.memberId = undefined;
          throw error;
        }
      }
      if (typeof response?.memberId === "string" && response.memberId !== "")
        this.memberId = response.memberId;
      return response;
    };
  }
}
