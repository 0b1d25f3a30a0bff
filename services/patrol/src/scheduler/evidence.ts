/**
 * Patrol evidence for compliance scoring (电子巡查 counts only when it is operated): per compound,
 * the routes defined over checkpoints and the rounds of the recent window — due (closed, or
 * completed early) and completed — on the compacted anfang.patrol.evidence.v1, for every compound
 * each interval and for the compounds concerned after a route, checkpoint or round outcome changes.
 */
import { topics } from '@anfang/contracts';
import {
  ALL_COMPOUNDS,
  startSnapshotPublisher,
  type EventPublisher,
  type SnapshotPublisher,
} from '@anfang/platform/bus';
import type { Logger } from '@anfang/platform/log';
import type { Pool } from '@anfang/platform/pg';
import type { PlanningStore } from '../store/planning.ts';
import type { RoundStore } from '../store/rounds.ts';

export function startPatrolEvidence(deps: {
  readonly pool: Pool;
  readonly publisher: EventPublisher;
  readonly windowHours: number;
  readonly intervalMs: number;
  readonly debounceMs: number;
  readonly logger: Logger;
  readonly now?: () => Date;
}): SnapshotPublisher {
  const now = deps.now ?? (() => new Date());
  async function publish(compoundIds: readonly string[] | undefined): Promise<number> {
    const { rows } = await deps.pool.query<{
      compound_id: string;
      routes: number;
      checkpoints: number;
      rounds_due: number;
      rounds_completed: number;
    }>(
      `WITH known AS (
         SELECT compound_id FROM routes WHERE $1::text[] IS NULL OR compound_id = ANY($1)
         UNION SELECT compound_id FROM checkpoints WHERE $1::text[] IS NULL OR compound_id = ANY($1)
         UNION SELECT unnest(coalesce($1::text[], '{}'))
       )
       SELECT k.compound_id,
         (SELECT count(*)::int FROM routes r
           WHERE r.compound_id = k.compound_id AND jsonb_array_length(r.stops) > 0) AS routes,
         (SELECT count(DISTINCT s ->> 'checkpointId')::int FROM routes r, jsonb_array_elements(r.stops) s
           WHERE r.compound_id = k.compound_id) AS checkpoints,
         (SELECT count(*)::int FROM rounds o
           WHERE o.compound_id = k.compound_id AND o.planned_start BETWEEN $2 AND $3
             AND (o.closed_at IS NOT NULL OR o.status = 'completed')) AS rounds_due,
         (SELECT count(*)::int FROM rounds o
           WHERE o.compound_id = k.compound_id AND o.planned_start BETWEEN $2 AND $3
             AND o.status = 'completed') AS rounds_completed
       FROM known k`,
      [compoundIds ?? null, new Date(now().getTime() - deps.windowHours * 3_600_000), now()],
    );
    const events = rows.map((r) => ({
      payload: {
        compoundId: r.compound_id,
        routes: r.routes,
        checkpoints: r.checkpoints,
        windowHours: deps.windowHours,
        roundsDue: r.rounds_due,
        roundsCompleted: r.rounds_completed,
      },
      options: { compoundId: r.compound_id },
    }));
    if (events.length > 0) await deps.publisher.publishMany(topics.patrolEvidence, events);
    return events.length;
  }
  return startSnapshotPublisher({
    name: 'patrol evidence',
    publish,
    intervalMs: deps.intervalMs,
    debounceMs: deps.debounceMs,
    logger: deps.logger,
  });
}

/** The planning store, telling `changed` which compound a new route or checkpoint belongs to. */
export function noticingPlanningChanges(
  planning: PlanningStore,
  changed: (compoundId: string) => void,
): PlanningStore {
  return {
    ...planning,
    async createCheckpoint(input) {
      const checkpoint = await planning.createCheckpoint(input);
      changed(checkpoint.compoundId);
      return checkpoint;
    },
    async createRoute(input) {
      const route = await planning.createRoute(input);
      changed(route.compoundId);
      return route;
    },
  };
}

/** The round store, telling `changed` when a round is completed or closed. */
export function noticingRoundChanges(rounds: RoundStore, changed: (compoundId: string) => void): RoundStore {
  return {
    ...rounds,
    async recordCheckIn(input) {
      const outcome = await rounds.recordCheckIn(input);
      if (outcome.kind === 'attributed' && outcome.status === 'completed') changed(input.compoundId);
      return outcome;
    },
    async closeDue(at) {
      const closed = await rounds.closeDue(at);
      if (closed > 0) changed(ALL_COMPOUNDS);
      return closed;
    },
  };
}
