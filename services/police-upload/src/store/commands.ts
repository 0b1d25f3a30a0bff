/**
 * Commands from upper platforms: every request recorded with its result, dispositions kept in
 * their latest state, and the PoliceCommand for identity/vehicle-access written to the event
 * outbox in the same transaction (a recorded command is always published).
 */
import { randomUUID } from 'node:crypto';
import { anfang, timestampFromDate, topics } from '@anfang/contracts';
import { maskIdNumber, type FieldCipher } from '@anfang/platform/crypto';
import { outboxEventPublisher, withTransaction, type Pool } from '@anfang/platform/pg';
import {
  dispositionStatus,
  type DispositionQuery,
  type DispositionRequest,
  type StoredDisposition,
} from '../domain/dispositions.ts';
import { dispositionStatusNotification } from '../domain/notifications.ts';
import type { BuildContext } from '../domain/objects.ts';
import { enqueueIn } from './outbox.ts';

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
  /**
   * Records identity's or vehicle-access's result (once: a redelivery changes nothing). When the
   * platform was already answered "being applied", the disposition's new status is enqueued for
   * it in the same transaction; returns that platform's id then.
   */
  recordResult(result: anfang.police.v1.IPoliceCommandResult): Promise<string | undefined>;
  /**
   * The command's result once identity or vehicle-access recorded it (any replica may consume
   * it), or 'pending' after `waitMs` — then the command is marked answered as pending, so that
   * its result is pushed to the platform when it comes.
   */
  awaitResult(commandId: string, waitMs: number): Promise<CommandResult>;
  active(dispositionId: string): Promise<ActiveDisposition | undefined>;
  /** A platform's dispositions matching the query, newest first. */
  dispositions(platformId: string, query: DispositionQuery): Promise<StoredDisposition[]>;
}

/** The associated data binding an encrypted ID number to its disposition. */
export const dispositionAad = (dispositionId: string): string => `disposition:${dispositionId}`;

interface DispositionRow {
  disposition_id: string;
  platform_id: string;
  title: string;
  category: string;
  feature_shown: string;
  priority: number;
  applicant_name: string;
  applicant_org: string;
  reason: string;
  receive_addr: string;
  status: string;
  outcome: StoredDisposition['outcome'];
  outcome_detail: string;
  begins_at: Date | null;
  ends_at: Date | null;
  withdrawn_at: Date | null;
}

const DISPOSITION_COLUMNS = `disposition_id, platform_id, title, category, feature_shown, priority, applicant_name,
  applicant_org, reason, receive_addr, status, outcome, outcome_detail, begins_at, ends_at, withdrawn_at`;

const storedDisposition = (r: DispositionRow): StoredDisposition => ({
  dispositionId: r.disposition_id,
  platformId: r.platform_id,
  title: r.title,
  category: r.category,
  featureShown: r.feature_shown,
  priority: r.priority,
  applicantName: r.applicant_name,
  applicantOrg: r.applicant_org,
  reason: r.reason,
  receiveAddr: r.receive_addr,
  withdrawn: r.status === 'withdrawn',
  outcome: r.outcome,
  outcomeDetail: r.outcome_detail,
  ...(r.begins_at ? { beginsAt: r.begins_at } : {}),
  ...(r.ends_at ? { endsAt: r.ends_at } : {}),
  ...(r.withdrawn_at ? { withdrawnAt: r.withdrawn_at } : {}),
});

export function createCommandStore(pool: Pool, cipher: FieldCipher, ctx: BuildContext): CommandStore {
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
               begins_at, ends_at, category, priority, applicant_name, applicant_org, reason, feature_shown)
             VALUES ($1, $2, $3, $8, $4, $5, 'active', $6, $7, $9, $10, $11, $12, $13, $14)
             ON CONFLICT (disposition_id) DO UPDATE SET title = EXCLUDED.title, target = EXCLUDED.target,
               target_feature = EXCLUDED.target_feature,
               receive_addr = EXCLUDED.receive_addr, status = 'active', begins_at = EXCLUDED.begins_at,
               ends_at = EXCLUDED.ends_at, category = EXCLUDED.category, priority = EXCLUDED.priority,
               applicant_name = EXCLUDED.applicant_name, applicant_org = EXCLUDED.applicant_org,
               reason = EXCLUDED.reason, feature_shown = EXCLUDED.feature_shown, outcome = 'pending',
               outcome_detail = '', withdrawn_at = NULL, updated_at = now()`,
            [
              request.dispositionId,
              platformId,
              request.title,
              stored,
              request.receiveAddr,
              request.beginsAt ?? null,
              request.endsAt ?? null,
              request.target,
              request.category,
              request.priority,
              request.applicantName,
              request.applicantOrg,
              request.reason,
              person ? maskIdNumber(request.feature) : request.feature,
            ],
          );
        else
          await tx.query(
            `UPDATE disposition SET status = 'withdrawn', withdrawn_at = now(), updated_at = now()
             WHERE disposition_id = $1`,
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
      const outcome = result.outcome === CommandOutcome.COMMAND_OUTCOME_APPLIED ? 'applied' : 'rejected';
      const detail = (result.detail ?? '').slice(0, 1000);
      const commandId = result.commandId ?? '';
      return withTransaction(pool, async (tx) => {
        const { rows } = await tx.query<{
          kind: string;
          disposition_id: string;
          answered_pending: boolean;
        }>(
          `UPDATE police_command SET outcome = $2, detail = $3, watchlist_entry_id = $4, result_at = now()
           WHERE command_id = $1 AND outcome = 'pending'
           RETURNING kind, disposition_id, answered_pending`,
          [commandId, outcome, detail, result.watchlistEntryId ?? ''],
        );
        const command = rows[0];
        if (!command) return undefined;
        // Only the latest set decides whether the disposition is in effect.
        const { rows: dispositions } =
          command.kind === 'disposition.set'
            ? await tx.query<DispositionRow>(
                `UPDATE disposition d SET outcome = $2, outcome_detail = $3, updated_at = now()
                 WHERE d.disposition_id = $1 AND NOT EXISTS (
                   SELECT 1 FROM police_command c WHERE c.disposition_id = $1 AND c.kind = 'disposition.set'
                     AND c.received_at > (SELECT received_at FROM police_command WHERE command_id = $4))
                 RETURNING ${DISPOSITION_COLUMNS}`,
                [command.disposition_id, outcome, detail, commandId],
              )
            : await tx.query<DispositionRow>(
                `SELECT ${DISPOSITION_COLUMNS} FROM disposition WHERE disposition_id = $1`,
                [command.disposition_id],
              );
        const disposition = dispositions[0];
        if (!command.answered_pending || !disposition) return undefined;
        const stored = storedDisposition(disposition);
        // A refused withdrawal leaves the watchlist entry in place: say so, with the reason.
        const shown: StoredDisposition =
          command.kind === 'disposition.withdraw' && outcome === 'rejected'
            ? { ...stored, withdrawn: false, outcome: 'rejected', outcomeDetail: detail }
            : stored;
        await enqueueIn(tx, [
          {
            platformId: stored.platformId,
            object: dispositionStatusNotification(commandId, shown, new Date(), ctx),
          },
        ]);
        return stored.platformId;
      });
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
        if (Date.now() >= deadline) {
          // The mark is made in the row the result updates: either the result sees it (and is
          // pushed when it comes), or this update sees the result.
          const { rowCount } = await pool.query(
            `UPDATE police_command SET answered_pending = true WHERE command_id = $1 AND outcome = 'pending'`,
            [commandId],
          );
          if (rowCount === 1 || !r) return { outcome: 'pending', detail: '' };
          continue;
        }
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
    async dispositions(platformId, query) {
      const { rows } = await pool.query<DispositionRow>(
        `SELECT ${DISPOSITION_COLUMNS} FROM disposition
         WHERE platform_id = $1 AND ($2::text IS NULL OR disposition_id = $2)
           AND ($3::text IS NULL OR feature_shown = $3)
         ORDER BY created_at DESC, disposition_id`,
        [platformId, query.dispositionId ?? null, query.targetFeature ?? null],
      );
      const now = new Date();
      // The status is derived (expiry moves with the clock): filtered and paged here.
      return rows
        .map(storedDisposition)
        .filter((d) => query.status === undefined || dispositionStatus(d, now) === query.status)
        .slice(query.offset, query.offset + query.limit);
    },
  };
}
