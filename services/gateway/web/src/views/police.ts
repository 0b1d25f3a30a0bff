import { api } from '../api.ts';
import { rateChart } from '../charts.ts';
import { h, mount } from '../dom.ts';
import { dateTime, enumLabel, percent } from '../format.ts';
import { t } from '../i18n.ts';
import { load, notice, panel, table, type View } from './common.ts';

/** One upper-platform link's health as police-upload reports it (UploadHealthReported). */
interface UploadHealth {
  platformId?: string;
  compoundId?: string;
  session?: string;
  realTime?: boolean;
  backlog?: string | number;
  oldestPendingAgeMs?: string | number;
  lastSuccessAt?: string;
  successRate?: number;
  latencyP99Ms?: string | number;
}

interface CoverageFigures {
  scope: string;
  compounds?: number;
  networked?: number;
  networkingRate?: number;
  networkingTarget?: number;
}

/**
 * Police upload health: the live link figures from police-upload, and the networking rate
 * (compounds uploading in real time) per town/street from compliance-scoring. Either half says
 * "no data yet" on its own when its service is not deployed.
 */
export const policePage: View = (root) => {
  const linkEl = h('div');
  const ratesEl = h('div');
  mount(root, panel(t('police.links'), linkEl), panel(t('police.networking'), ratesEl));
  void load(
    linkEl,
    () => api.get<{ links?: UploadHealth[] }>('/v1/police/upload-health'),
    (answer) =>
      table(
        [
          t('police.platform'),
          t('common.compound'),
          t('police.session'),
          t('police.realTime'),
          t('police.backlog'),
          t('police.oldest'),
          t('police.lastSuccess'),
          t('police.successRate'),
          t('police.latency'),
        ],
        (answer.links ?? []).map((link) => [
          link.platformId ?? '—',
          link.compoundId || t('overview.district'),
          h(
            'span',
            { class: `pill ${link.session === 'SESSION_STATE_REGISTERED' ? 'st-online' : 'st-offline'}` },
            enumLabel(link.session),
          ),
          link.realTime ? t('common.yes') : t('common.no'),
          String(link.backlog ?? 0),
          `${Math.round(Number(link.oldestPendingAgeMs ?? 0) / 1000)} s`,
          dateTime(link.lastSuccessAt),
          percent(link.successRate),
          `${String(link.latencyP99Ms ?? '—')} ms`,
        ]),
        t('police.none'),
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
