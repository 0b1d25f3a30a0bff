/**
 * Police dispositions (布控) from the upper platform (group `identity`): a disposition on an ID
 * number or a face becomes a person watchlist entry, a withdrawal removes it, and each command's
 * outcome goes back as a PoliceCommandResult — through the outbox, in the transaction that
 * applies the command and marks it processed. Plate dispositions are vehicle-access's and are
 * left alone (it answers them).
 */
import { anfang, timestampToDate, topics, type TopicMessage } from '@anfang/contracts';
import { markProcessed, outboxEventPublisher, withTransaction, type Pool } from '@anfang/platform/pg';
import type { Logger } from '@anfang/platform/log';
import { isValidIdNumber, normaliseIdNumber } from '../domain/credentials.ts';
import type { RegistryStore } from '../store/registry.ts';

const { DispositionTarget, CommandOutcome } = anfang.police.v1;
export type PoliceCommand = TopicMessage<typeof topics.policeCommand>;

/** The watchlist police dispositions land on. */
export const POLICE_DISPOSITION_WATCHLIST = '公安布控';

export type PoliceCommandHandler = (command: PoliceCommand, eventId: string) => Promise<void>;

export function policeCommandHandler(options: {
  readonly pool: Pool;
  readonly registry: RegistryStore;
  readonly group: string;
  readonly producer: string;
  readonly logger: Logger;
}): PoliceCommandHandler {
  const { pool, registry, group, producer } = options;
  const log = options.logger.child({ component: 'police-commands' });

  async function handle(command: PoliceCommand, eventId: string) {
    const set = command.dispositionSet;
    const target =
      set?.target === DispositionTarget.DISPOSITION_TARGET_PERSON_ID_NUMBER
        ? 'id_number'
        : set?.target === DispositionTarget.DISPOSITION_TARGET_FACE
          ? 'face'
          : undefined;
    const withdrawnId = command.dispositionWithdrawn?.dispositionId;
    if (set && !target) return; // a plate: vehicle-access's
    if (!set && !withdrawnId) return;

    await withTransaction(pool, async (client) => {
      if (!(await markProcessed(client, group, eventId))) return;
      let outcome: Awaited<ReturnType<RegistryStore['applyPoliceCommand']>>;
      const feature =
        target === 'id_number'
          ? normaliseIdNumber(set?.targetFeature ?? '')
          : (set?.targetFeature ?? '').trim();
      if (set && (!set.dispositionId || !feature || (target === 'id_number' && !isValidIdNumber(feature))))
        outcome = { applied: false, detail: 'disposition without a valid id or target feature' };
      else if (set)
        outcome = await registry.applyPoliceCommand(
          client,
          {
            set: {
              dispositionId: set.dispositionId ?? '',
              target: target!,
              feature,
              watchlistId: POLICE_DISPOSITION_WATCHLIST,
              priority: set.priority || anfang.common.v1.Priority.PRIORITY_HIGH,
              validTo: timestampToDate(set.validity?.endTime) ?? null,
              deviceIds: [...new Set((set.deviceIds ?? []).map((id) => id.trim()).filter(Boolean))],
            },
          },
          `police:${command.platformId}`,
        );
      // Withdrawals of plate dispositions arrive here too: with no entry of ours, stay silent.
      else {
        outcome = await registry.applyPoliceCommand(
          client,
          { withdrawnId: withdrawnId! },
          `police:${command.platformId}`,
        );
        if (!outcome.applied) return;
      }
      const publisher = outboxEventPublisher(client, producer);
      await publisher.publish(
        topics.policeCommandResult,
        {
          commandId: command.commandId,
          dispositionId: set?.dispositionId ?? withdrawnId ?? '',
          outcome: outcome.applied
            ? CommandOutcome.COMMAND_OUTCOME_APPLIED
            : CommandOutcome.COMMAND_OUTCOME_REJECTED,
          detail: outcome.detail,
          watchlistEntryId: outcome.applied ? outcome.entryId : '',
        },
        { causationId: eventId },
      );
      log.info({ commandId: command.commandId, applied: outcome.applied }, 'police command handled');
    });
  }

  return handle;
}
