import { api } from '../api.ts';
import { h, mount } from '../dom.ts';
import { dateTime, enumLabel } from '../format.ts';
import { t } from '../i18n.ts';
import { mediaUrl } from './alarms.ts';
import {
  compoundFrom,
  compoundPicker,
  failure,
  field,
  load,
  notice,
  panel,
  table,
  type View,
} from './common.ts';

interface Passage {
  passageId: string;
  plateNumber?: string;
  direction?: string;
  decision?: string;
  reason?: string;
  carParkId?: string;
  device?: { name?: string; deviceId?: string };
  meta?: { occurredAt?: string };
  images?: { objectKey?: string }[];
}

/** `datetime-local` input value → RFC 3339 (the browser's zone), or undefined when empty. */
function instant(value: string): string | undefined {
  if (!value) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

function vehicleSearch(compoundId: string): HTMLElement {
  const plate = h('input', { name: 'plate', placeholder: '鲁C12345' });
  const from = h('input', { name: 'from', type: 'datetime-local' });
  const to = h('input', { name: 'to', type: 'datetime-local' });
  const decision = h(
    'select',
    { name: 'decision' },
    h('option', { value: '' }, t('records.anyDecision')),
    ['BARRIER_DECISION_OPEN', 'BARRIER_DECISION_HOLD', 'BARRIER_DECISION_DENY'].map((d) =>
      h('option', { value: d }, enumLabel(d)),
    ),
  );
  const results = h('div');
  let token = '';
  const more = h('button', { type: 'button', hidden: true }, t('common.more'));
  const search = async (append: boolean): Promise<void> => {
    try {
      const page = await api.get<{ passages?: Passage[]; page?: { nextPageToken?: string } }>(
        `/v1/compounds/${encodeURIComponent(compoundId)}/passages`,
        {
          plate_number: plate.value.trim() || undefined,
          'window.startTime': instant(from.value),
          'window.endTime': instant(to.value),
          decisions: decision.value ? [decision.value] : undefined,
          'page.pageSize': 50,
          'page.pageToken': append ? token : undefined,
        },
      );
      token = page.page?.nextPageToken ?? '';
      more.hidden = !token;
      const rows = (page.passages ?? []).map((p) => [
        dateTime(p.meta?.occurredAt),
        p.plateNumber ?? '—',
        enumLabel(p.direction),
        enumLabel(p.decision),
        enumLabel(p.reason),
        p.device?.name || p.device?.deviceId || '—',
        p.images?.[0]?.objectKey
          ? h('img', { class: 'thumb', src: mediaUrl(p.images[0].objectKey), alt: t('feed.snapshot') })
          : '—',
      ]);
      const body = table(
        [
          t('records.time'),
          t('records.plate'),
          t('records.direction'),
          t('records.decision'),
          t('records.reason'),
          t('records.device'),
          t('feed.snapshot'),
        ],
        rows,
        t('records.none'),
      );
      if (append && body.tagName === 'TABLE')
        results.querySelector('tbody')?.append(...body.querySelectorAll('tbody tr'));
      else mount(results, body);
    } catch (error) {
      mount(results, failure(error));
    }
  };
  // The latest passages at once; the form narrows them.
  void search(false);
  return h(
    'div',
    null,
    h(
      'form',
      {
        class: 'toolbar',
        onsubmit: (event: Event) => {
          event.preventDefault();
          void search(false);
        },
      },
      field(t('records.plate'), plate),
      field(t('records.from'), from),
      field(t('records.to'), to),
      field(t('records.decision'), decision),
      h('button', { type: 'submit' }, t('common.search')),
    ),
    results,
    h('div', { onclick: () => void search(true) }, more),
  );
}

/**
 * Access records have no listing RPC yet (identity serves decisions, not a record search; see
 * web/NEEDS.md), so the page asks the gateway for it and shows plainly when it is not there.
 */
function accessSearch(compoundId: string): HTMLElement {
  const results = h('div');
  void load(
    results,
    () =>
      api.get<{ records?: Record<string, unknown>[] }>(
        `/v1/compounds/${encodeURIComponent(compoundId)}/access-records`,
        {
          'page.pageSize': 50,
        },
      ),
    (page) =>
      table(
        [
          t('records.time'),
          t('records.direction'),
          t('records.decision'),
          t('records.credential'),
          t('records.device'),
        ],
        (page.records ?? []).map((r) => [
          dateTime((r.meta as { occurredAt?: string } | undefined)?.occurredAt),
          enumLabel(r.direction),
          enumLabel(r.decision),
          String(r.credentialMasked ?? enumLabel(r.credentialType)),
          String((r.device as { name?: string } | undefined)?.name ?? '—'),
        ]),
        t('records.none'),
      ),
  );
  return results;
}

/** Access and vehicle record search for one compound. */
export const recordsPage: View = (root, params, ctx) => {
  const compoundId = compoundFrom(params, ctx);
  if (!compoundId)
    return void mount(root, compoundPicker('', ctx, 'records'), notice(t('common.pickCompound')));
  mount(
    root,
    compoundPicker(compoundId, ctx, 'records'),
    panel(t('records.vehicles'), vehicleSearch(compoundId)),
    panel(t('records.access'), accessSearch(compoundId)),
  );
};
