/**
 * Police dispositions (布控) for plates, from police-upload: a disposition set creates or replaces
 * the watchlist entry of its DispositionID, a withdrawal removes it; each answered with a
 * PoliceCommandResult through the outbox, in the transaction that applies it (once per command
 * event). Dispositions of persons are identity's: they are neither applied nor answered here.
 */
import { anfang, timestampToDate, topics } from '@anfang/contracts';
import { PermanentError } from '@anfang/platform/bus';
import type { Logger } from '@anfang/platform/log';
import {
  markProcessed,
  outboxEventPublisher,
  withTransaction,
  type ClientBase,
  type Pool,
} from '@anfang/platform/pg';
import type { WatchlistAction } from '../domain/decision.ts';
import { normalisePlate } from '../domain/plate.ts';
import type { WatchlistStore } from '../store/registry.ts';

const { DispositionTarget, CommandOutcome } = anfang.police.v1;
const { Priority } = anfang.common.v1;

/** Who the watchlist records as having listed a disposition's plate. */
export const DISPOSITION_AUTHOR = 'police-upload';

export interface PoliceCommandDeps {
  readonly pool: Pool;
  readonly watchlist: WatchlistStore;
  /** The service name: event producer and consumer group. */
  readonly producer: string;
  /** Barrier action for plates listed by a disposition (GA/T 1400 dispositions carry none). */
  readonly dispositionAction: WatchlistAction;
  readonly logger: Logger;
}

interface Result {
  readonly outcome: anfang.police.v1.CommandOutcome;
  readonly detail: string;
  readonly entryId?: string;
}

async function applySet(
  tx: ClientBase,
  deps: PoliceCommandDeps,
  set: anfang.police.v1.DispositionSet.$Properties,
  dispositionId: string,
): Promise<Result> {
  const plate = normalisePlate(set.targetFeature ?? '');
  if (!plate.ok)
    return { outcome: CommandOutcome.COMMAND_OUTCOME_REJECTED, detail: `invalid plate: ${plate.reason}` };
  const validity = set.validity;
  const validFrom = timestampToDate(validity?.startTime) ?? null;
  const validUntil = timestampToDate(validity?.endTime) ?? null;
  if (validFrom && validUntil && validFrom >= validUntil)
    return { outcome: CommandOutcome.COMMAND_OUTCOME_REJECTED, detail: 'validity ends before it starts' };
  const entry = await deps.watchlist.setFromDisposition(tx, dispositionId, {
    plate,
    plateColor: 0,
    reason: [set.title, set.reason].filter(Boolean).join(': ') || `disposition ${dispositionId}`,
    priority: set.priority || Priority.PRIORITY_HIGH,
    validFrom,
    validUntil,
    action: deps.dispositionAction,
    deviceIds: set.deviceIds ?? [],
    createdBy: DISPOSITION_AUTHOR,
  });
  return {
    outcome: CommandOutcome.COMMAND_OUTCOME_APPLIED,
    detail: `plate ${entry.plateNumber} on the vehicle watchlist`,
    entryId: entry.entryId,
  };
}

export type PoliceCommandHandler = ReturnType<typeof createPoliceCommandHandler>;

export function createPoliceCommandHandler(deps: PoliceCommandDeps) {
  const log = deps.logger.child({ component: 'police-commands' });

  /** Applies one command; null when it is not this service's or was already applied. */
  return async function handle(
    command: anfang.police.v1.PoliceCommand,
    eventId: string,
  ): Promise<Result | null> {
    const set = command.dispositionSet;
    const withdrawn = command.dispositionWithdrawn;
    if (set && set.target !== DispositionTarget.DISPOSITION_TARGET_PLATE) return null;
    if (!set && !withdrawn) throw new PermanentError('police command without a command');
    const dispositionId = set?.dispositionId || withdrawn?.dispositionId || '';

    return withTransaction(deps.pool, async (tx) => {
      if (!(await markProcessed(tx, deps.producer, eventId))) return null;
      let result: Result;
      if (!dispositionId)
        result = { outcome: CommandOutcome.COMMAND_OUTCOME_REJECTED, detail: 'no disposition id' };
      else if (set) result = await applySet(tx, deps, set, dispositionId);
      else {
        const entryId = await deps.watchlist.removeByDisposition(tx, dispositionId);
        // A withdrawal of a person disposition is identity's to answer.
        if (!entryId) return null;
        result = {
          outcome: CommandOutcome.COMMAND_OUTCOME_APPLIED,
          detail: 'vehicle watchlist entry removed',
          entryId,
        };
      }
      await outboxEventPublisher(tx, deps.producer).publish(
        topics.policeCommandResult,
        {
          commandId: command.commandId,
          dispositionId,
          outcome: result.outcome,
          detail: result.detail,
          watchlistEntryId: result.entryId ?? '',
        },
        { causationId: eventId },
      );
      log.info(
        { commandId: command.commandId, dispositionId, outcome: result.outcome },
        'police command handled',
      );
      return result;
    });
  };
}
