/**
 * Subscriptions from upper platforms, each request recorded as a command. The active ones are
 * held in memory (refreshed on change and every few seconds, for the other replicas' changes):
 * every capture is matched against them.
 */
import { randomUUID } from 'node:crypto';
import { withTransaction, type Pool } from '@anfang/platform/pg';
import type { Subscription } from '../domain/subscriptions.ts';

export interface SubscriptionStore {
  subscribe(platformId: string, s: Omit<Subscription, 'platformId'>, raw: unknown): Promise<void>;
  cancel(platformId: string, subscribeId: string, raw: unknown): Promise<boolean>;
  /** The active subscriptions as last read. */
  active(): readonly Subscription[];
  refresh(): Promise<void>;
}

export function createSubscriptionStore(pool: Pool): SubscriptionStore {
  let current: Subscription[] = [];
  const record = (client: Pick<Pool, 'query'>, platformId: string, kind: string, raw: unknown) =>
    client.query(
      `INSERT INTO police_command (command_id, platform_id, kind, request, outcome, result_at)
       VALUES ($1, $2, $3, $4, 'applied', now())`,
      [randomUUID(), platformId, kind, JSON.stringify(raw)],
    );
  const store: SubscriptionStore = {
    async subscribe(platformId, s, raw) {
      await withTransaction(pool, async (tx) => {
        await tx.query(
          `INSERT INTO subscription (subscribe_id, platform_id, title, kinds, resources, receive_addr, report_interval_s,
             with_images, begins_at, ends_at, status)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'active')
           ON CONFLICT (subscribe_id) DO UPDATE SET title = EXCLUDED.title, kinds = EXCLUDED.kinds,
             resources = EXCLUDED.resources, receive_addr = EXCLUDED.receive_addr,
             report_interval_s = EXCLUDED.report_interval_s, with_images = EXCLUDED.with_images,
             begins_at = EXCLUDED.begins_at, ends_at = EXCLUDED.ends_at, status = 'active', updated_at = now()
           WHERE subscription.platform_id = EXCLUDED.platform_id`,
          [
            s.subscribeId,
            platformId,
            s.title,
            s.kinds,
            s.resources,
            s.receiveAddr,
            s.reportIntervalS,
            s.withImages,
            s.beginsAt ?? null,
            s.endsAt ?? null,
          ],
        );
        await record(tx, platformId, 'subscription.create', raw);
      });
      await store.refresh();
    },
    async cancel(platformId, subscribeId, raw) {
      const cancelled = await withTransaction(pool, async (tx) => {
        const { rowCount } = await tx.query(
          `UPDATE subscription SET status = 'cancelled', updated_at = now() WHERE subscribe_id = $1 AND platform_id = $2`,
          [subscribeId, platformId],
        );
        await record(tx, platformId, 'subscription.cancel', raw);
        return (rowCount ?? 0) > 0;
      });
      await store.refresh();
      return cancelled;
    },
    active: () => current,
    async refresh() {
      const { rows } = await pool.query<{
        subscribe_id: string;
        platform_id: string;
        title: string;
        kinds: string[];
        resources: string[];
        receive_addr: string;
        report_interval_s: number;
        with_images: boolean;
        begins_at: Date | null;
        ends_at: Date | null;
      }>(`SELECT * FROM subscription WHERE status = 'active' AND (ends_at IS NULL OR ends_at > now())`);
      current = rows.map((r) => ({
        subscribeId: r.subscribe_id,
        platformId: r.platform_id,
        title: r.title,
        kinds: r.kinds,
        resources: r.resources,
        receiveAddr: r.receive_addr,
        reportIntervalS: r.report_interval_s,
        withImages: r.with_images,
        ...(r.begins_at ? { beginsAt: r.begins_at } : {}),
        ...(r.ends_at ? { endsAt: r.ends_at } : {}),
      }));
    },
  };
  return store;
}
