import { api } from '../api.ts';
import { rateChart } from '../charts.ts';
import { h, mount } from '../dom.ts';
import { dateTime, enumLabel } from '../format.ts';
import { t } from '../i18n.ts';
import { load, notice, panel, table, type View } from './common.ts';

/** One upper platform with its session, as police-upload's ListPlatforms answers. */
interface PlatformStatus {
  platform?: { platformId?: string; name?: string };
  session?: {
    state?: string;
    lastKeepaliveAt?: string;
    failures?: number;
    lastError?: string;
    clockOffsetMs?: string | number;
  };
}

/** Objects waiting per platform and compound (GetBacklog). */
interface BacklogEntry {
  platformId?: string;
  compoundId?: string;
  backlog?: string | number;
  oldestPendingAgeMs?: string | number;
}

interface CoverageFigures {
  scope: string;
  compounds?: number;
  networked?: number;
  networkingRate?: number;
  networkingTarget?: number;
}

/**
 * Police upload health: each upper platform's session and the backlog per compound from
 * police-upload, and the networking rate
 * (compounds uploading in real time) per town/street from compliance-scoring. Either half says
 * "no data yet" on its own when its service is not deployed.
 */
export const policePage: View = (root) => {
  const linkEl = h('div');
  const backlogEl = h('div');
  const ratesEl = h('div');
  mount(
    root,
    panel(t('police.links'), linkEl),
    panel(t('police.backlogs'), backlogEl),
    panel(t('police.networking'), ratesEl),
  );
  void load(
    linkEl,
    () => api.get<{ platforms?: PlatformStatus[] }>('/v1/police/platforms'),
    (answer) =>
      table(
        [
          t('police.platform'),
          t('police.session'),
          t('police.keepalive'),
          t('police.failures'),
          t('police.lastError'),
          t('police.clockOffset'),
        ],
        (answer.platforms ?? []).map(({ platform, session }) => [
          `${platform?.name ?? ''} ${platform?.platformId ?? '—'}`.trim(),
          h(
            'span',
            { class: `pill ${session?.state === 'SESSION_STATE_REGISTERED' ? 'st-online' : 'st-offline'}` },
            enumLabel(session?.state),
          ),
          dateTime(session?.lastKeepaliveAt),
          String(session?.failures ?? 0),
          session?.lastError || '—',
          `${String(session?.clockOffsetMs ?? 0)} ms`,
        ]),
        t('police.none'),
      ),
  );
  void load(
    backlogEl,
    () => api.get<{ entries?: BacklogEntry[] }>('/v1/police/backlog'),
    (answer) =>
      table(
        [t('police.platform'), t('common.compound'), t('police.backlog'), t('police.oldest')],
        (answer.entries ?? []).map((entry) => [
          entry.platformId ?? '—',
          entry.compoundId || t('overview.district'),
          String(entry.backlog ?? 0),
          `${Math.round(Number(entry.oldestPendingAgeMs ?? 0) / 1000)} s`,
        ]),
        t('police.noBacklog'),
      ),
  );
  void load(
    ratesEl,
    () => api.get<{ district?: CoverageFigures; towns?: CoverageFigures[] }>('/v1/compliance/coverage'),
    (coverage) => {
      const rows = [
        ...(coverage.district ? [{ ...coverage.district, scope: t('overview.district') }] : []),
        ...(coverage.towns ?? []),
      ];
      if (rows.length === 0) return notice(t('overview.noCompounds'), 'empty');
      return rateChart(
        t('police.networking'),
        rows.map((r) => ({
          label: `${r.scope} (${r.networked ?? 0}/${r.compounds ?? 0})`,
          rate: r.networkingRate ?? 0,
          target: r.networkingTarget,
        })),
      );
    },
  );
};
