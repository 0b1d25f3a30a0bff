/**
 * Commands from upper platforms: every request recorded with its result, dispositions kept in
 * their latest state, and the PoliceCommand for identity/vehicle-access written to the event
 * outbox in the same transaction (a recorded command is always published).
 */
import { randomUUID } from 'node:crypto';
import { anfang, timestampFromDate, topics } from '@anfang/contracts';
import { maskIdNumber, type FieldCipher } from '@anfang/platform/crypto';
import { outboxEventPublisher, withTransaction, type Pool } from '@anfang/platform/pg';
import type { DispositionRequest } from '../domain/dispositions.ts';

const { DispositionTarget, CommandOutcome } = anfang.police.v1;
const { Priority } = anfang.common.v1;
const PRIORITY = {
  1: Priority.PRIORITY_HIGH,
  2: Priority.PRIORITY_MEDIUM,
  3: Priority.PRIORITY_LOW,
} as const;

export interface ActiveDisposition {
  readonly dispositionId: string;
  readonly platformId: string;
  readonly title: string;
  readonly receiveAddr: string;
}

export interface CommandResult {
  readonly outcome: 'applied' | 'rejected' | 'pending';
  readonly detail: string;
}

const RESULT_POLL_MS = 50;

export interface CommandStore {
  /** Records and publishes a disposition set or withdrawal; returns the command id. */
  disposition(
    platformId: string,
    request: Extract<DispositionRequest, { ok: true }>,
    raw: unknown,
    producer: string,
  ): Promise<string>;
  recordResult(result: anfang.police.v1.IPoliceCommandResult): Promise<void>;
  /**
   * The command's result once identity or vehicle-access recorded it (any replica may consume
   * it), or 'pending' after `waitMs`.
   */
  awaitResult(commandId: string, waitMs: number): Promise<CommandResult>;
  active(dispositionId: string): Promise<ActiveDisposition | undefined>;
}

/** The associated data binding an encrypted ID number to its disposition. */
export const dispositionAad = (dispositionId: string): string => `disposition:${dispositionId}`;

export function createCommandStore(pool: Pool, cipher: FieldCipher): CommandStore {
  return {
    async disposition(platformId, request, raw, producer) {
      const commandId = randomUUID();
      const person = request.operation === 'set' && request.target === 'id_number';
      const stored =
        request.operation !== 'set'
          ? ''
          : person
            ? cipher.encrypt(request.feature, dispositionAad(request.dispositionId))
            : request.feature;
      // The recorded request keeps what operators may see: the ID number masked.
      const recorded =
        person && raw && typeof raw === 'object'
          ? { ...raw, TargetFeature: maskIdNumber(request.feature) }
          : raw;
      await withTransaction(pool, async (tx) => {
        await tx.query(
          `INSERT INTO police_command (command_id, platform_id, kind, disposition_id, request) VALUES ($1, $2, $3, $4, $5)`,
          [
            commandId,
            platformId,
            `disposition.${request.operation}`,
            request.dispositionId,
            JSON.stringify(recorded),
          ],
        );
        if (request.operation === 'set')
          await tx.query(
            `INSERT INTO disposition (disposition_id, platform_id, title, target, target_feature, receive_addr, status,
               begins_at, ends_at)
             VALUES ($1, $2, $3, $8, $4, $5, 'active', $6, $7)
             ON CONFLICT (disposition_id) DO UPDATE SET title = EXCLUDED.title, target = EXCLUDED.target,
               target_feature = EXCLUDED.target_feature,
               receive_addr = EXCLUDED.receive_addr, status = 'active', begins_at = EXCLUDED.begins_at,
               ends_at = EXCLUDED.ends_at, updated_at = now()`,
            [
              request.dispositionId,
              platformId,
              request.title,
              stored,
              request.receiveAddr,
              request.beginsAt ?? null,
              request.endsAt ?? null,
              request.target,
            ],
          );
        else
          await tx.query(
            `UPDATE disposition SET status = 'withdrawn', updated_at = now() WHERE disposition_id = $1`,
            [request.dispositionId],
          );
        await outboxEventPublisher(tx, producer).publish(
          topics.policeCommand,
          {
            commandId,
            platformId,
            ...(request.operation === 'set'
              ? {
                  dispositionSet: {
                    dispositionId: request.dispositionId,
                    title: request.title,
                    category: request.category,
                    target: person
                      ? DispositionTarget.DISPOSITION_TARGET_PERSON_ID_NUMBER
                      : DispositionTarget.DISPOSITION_TARGET_PLATE,
                    targetFeature: request.feature,
                    priority: PRIORITY[request.priority],
                    applicantName: request.applicantName,
                    applicantOrg: request.applicantOrg,
                    validity: {
                      ...(request.beginsAt ? { startTime: timestampFromDate(request.beginsAt) } : {}),
                      ...(request.endsAt ? { endTime: timestampFromDate(request.endsAt) } : {}),
                    },
                    reason: request.reason,
                  },
                }
              : { dispositionWithdrawn: { dispositionId: request.dispositionId, reason: request.reason } }),
          },
          { eventId: commandId },
        );
      });
      return commandId;
    },
    async recordResult(result) {
      await pool.query(
        `UPDATE police_command SET outcome = $2, detail = $3, watchlist_entry_id = $4, result_at = now()
         WHERE command_id = $1`,
        [
          result.commandId ?? '',
          result.outcome === CommandOutcome.COMMAND_OUTCOME_APPLIED ? 'applied' : 'rejected',
          (result.detail ?? '').slice(0, 1000),
          result.watchlistEntryId ?? '',
        ],
      );
    },
    async awaitResult(commandId, waitMs) {
      const deadline = Date.now() + waitMs;
      for (;;) {
        const { rows } = await pool.query<{ outcome: string; detail: string }>(
          'SELECT outcome, detail FROM police_command WHERE command_id = $1',
          [commandId],
        );
        const r = rows[0];
        if (r && (r.outcome === 'applied' || r.outcome === 'rejected'))
          return { outcome: r.outcome, detail: r.detail };
        if (Date.now() >= deadline) return { outcome: 'pending', detail: '' };
        await new Promise((resolve) => setTimeout(resolve, RESULT_POLL_MS));
      }
    },
    async active(dispositionId) {
      const { rows } = await pool.query<{ platform_id: string; title: string; receive_addr: string }>(
        `SELECT platform_id, title, receive_addr FROM disposition
         WHERE disposition_id = $1 AND status = 'active' AND (ends_at IS NULL OR ends_at > now())`,
        [dispositionId],
      );
      const r = rows[0];
      return r
        ? { dispositionId, platformId: r.platform_id, title: r.title, receiveAddr: r.receive_addr }
        : undefined;
    },
  };
}
