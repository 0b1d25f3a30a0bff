import { api } from '../api.ts';
import { h, mount } from '../dom.ts';
import { percent } from '../format.ts';
import { rateChart } from '../charts.ts';
import { t } from '../i18n.ts';
import { compoundFrom, compoundPicker, field, load, notice, panel, table, type View } from './common.ts';

interface ReportRow {
  key: string;
  label?: string;
  rounds?: number;
  roundsCompleted?: number;
  completionRate?: number;
  stops?: number;
  stopsChecked?: number;
  punctuality?: number;
  violations?: number;
  missed?: number;
  late?: number;
  notStarted?: number;
  unfinished?: number;
}

function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** Patrol report of one compound over a date range, per guard, route or compound. */
export const patrolPage: View = (root, params, ctx) => {
  const compoundId = compoundFrom(params, ctx);
  if (!compoundId)
    return void mount(root, compoundPicker('', ctx, 'patrol'), notice(t('common.pickCompound')));
  const today = new Date();
  const from = h('input', {
    name: 'from',
    type: 'date',
    value: params.get('from') ?? isoDay(new Date(today.getTime() - 7 * 86_400_000)),
  });
  const to = h('input', { name: 'to', type: 'date', value: params.get('to') ?? isoDay(today) });
  const group = h(
    'select',
    { name: 'group' },
    ['REPORT_GROUPING_ROUTE', 'REPORT_GROUPING_GUARD', 'REPORT_GROUPING_COMPOUND'].map((g) =>
      h('option', { value: g }, t(`patrol.${g}` as Parameters<typeof t>[0])),
    ),
  );
  const results = h('div');
  const show = (): void => {
    const start = new Date(`${from.value}T00:00:00`);
    const end = new Date(`${to.value}T00:00:00`);
    end.setDate(end.getDate() + 1);
    void load(
      results,
      () =>
        api.get<{ rows?: ReportRow[]; unknownCheckIns?: number }>('/v1/patrol/reports', {
          compound_id: compoundId,
          from: start.toISOString(),
          to: end.toISOString(),
          group_by: group.value,
        }),
      (report) => {
        const rows = report.rows ?? [];
        if (rows.length === 0) return notice(t('patrol.none'), 'empty');
        return [
          rateChart(
            t('patrol.completion'),
            rows.map((r) => ({ label: r.label || r.key, rate: r.completionRate ?? 0 })),
          ),
          table(
            [
              t('patrol.name'),
              t('patrol.rounds'),
              t('patrol.completion'),
              t('patrol.stops'),
              t('patrol.punctuality'),
              t('patrol.violations'),
              t('patrol.missed'),
              t('patrol.late'),
              t('patrol.notStarted'),
            ],
            rows.map((r) => [
              r.label || r.key,
              `${r.roundsCompleted ?? 0} / ${r.rounds ?? 0}`,
              percent(r.completionRate ?? 0),
              `${r.stopsChecked ?? 0} / ${r.stops ?? 0}`,
              percent(r.punctuality ?? 0),
              r.violations ?? 0,
              r.missed ?? 0,
              r.late ?? 0,
              r.notStarted ?? 0,
            ]),
            t('patrol.none'),
          ),
          report.unknownCheckIns
            ? notice(t('patrol.unknownCheckIns', { count: report.unknownCheckIns }), 'info')
            : null,
        ];
      },
    );
  };
  mount(
    root,
    compoundPicker(compoundId, ctx, 'patrol'),
    panel(
      t('patrol.title'),
      h(
        'form',
        {
          class: 'toolbar',
          onsubmit: (event: Event) => {
            event.preventDefault();
            show();
          },
        },
        field(t('records.from'), from),
        field(t('records.to'), to),
        field(t('patrol.groupBy'), group),
        h('button', { type: 'submit' }, t('common.show')),
      ),
      results,
    ),
  );
  show();
};
