import { api } from '../api.ts';
import { h, mount, type Child } from '../dom.ts';
import { dateTime, enumLabel } from '../format.ts';
import { t } from '../i18n.ts';
import { mediaUrl } from './alarms.ts';
import { compoundFrom, compoundPicker, failure, field, notice, panel, table, type View } from './common.ts';

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

interface AccessRecord {
  recordId: string;
  occurredAt?: string;
  doorId?: string;
  doorName?: string;
  device?: { deviceId?: string };
  personId?: string;
  personName?: string;
  credentialType?: string;
  credentialMasked?: string;
  decision?: string;
  reason?: string;
  direction?: string;
  snapshotKey?: string;
}

interface Page<T> {
  readonly items: readonly T[];
  readonly nextPageToken: string;
}

/** `datetime-local` input value → RFC 3339 (the browser's zone), or undefined when empty. */
function instant(value: string): string | undefined {
  if (!value) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

function thumbnail(objectKey: string | undefined): Child {
  return objectKey ? h('img', { class: 'thumb', src: mediaUrl(objectKey), alt: t('feed.snapshot') }) : '—';
}

/** A decision filter: any, or one of `values`. */
function decisionSelect(values: readonly string[]): HTMLSelectElement {
  return h(
    'select',
    { name: 'decision' },
    h('option', { value: '' }, t('records.anyDecision')),
    values.map((d) => h('option', { value: d }, enumLabel(d))),
  );
}

/**
 * A record search: a form of filters over a table newest first, "more" appending the next page.
 * The latest records show at once; the form narrows them.
 */
function recordSearch<T>(options: {
  readonly filters: readonly HTMLElement[];
  readonly headers: readonly string[];
  readonly fetchPage: (pageToken: string | undefined) => Promise<Page<T>>;
  readonly row: (item: T) => readonly Child[];
}): { element: HTMLElement; search: () => Promise<void> } {
  const results = h('div', { class: 'results' });
  let token = '';
  const more = h('button', { type: 'button', class: 'more', hidden: true }, t('common.more'));
  const search = async (append: boolean): Promise<void> => {
    try {
      const page = await options.fetchPage(append ? token : undefined);
      token = page.nextPageToken;
      more.hidden = !token;
      const body = table(options.headers, page.items.map(options.row), t('records.none'));
      if (append && body.tagName === 'TABLE')
        results.querySelector('tbody')?.append(...body.querySelectorAll('tbody tr'));
      else mount(results, body);
    } catch (error) {
      more.hidden = true;
      mount(results, failure(error));
    }
  };
  void search(false);
  const element = h(
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
      ...options.filters,
      h('button', { type: 'submit' }, t('common.search')),
    ),
    results,
    h('div', { onclick: () => void search(true) }, more),
  );
  return { element, search: () => search(false) };
}

function vehicleSearch(compoundId: string): HTMLElement {
  const plate = h('input', { name: 'plate', placeholder: '鲁C12345' });
  const from = h('input', { name: 'from', type: 'datetime-local' });
  const to = h('input', { name: 'to', type: 'datetime-local' });
  const decision = decisionSelect([
    'BARRIER_DECISION_OPEN',
    'BARRIER_DECISION_HOLD',
    'BARRIER_DECISION_DENY',
  ]);
  const { element } = recordSearch<Passage>({
    filters: [
      field(t('records.plate'), plate),
      field(t('records.from'), from),
      field(t('records.to'), to),
      field(t('records.decision'), decision),
    ],
    headers: [
      t('records.time'),
      t('records.plate'),
      t('records.direction'),
      t('records.decision'),
      t('records.reason'),
      t('records.device'),
      t('feed.snapshot'),
    ],
    fetchPage: async (pageToken) => {
      const page = await api.get<{ passages?: Passage[]; page?: { nextPageToken?: string } }>(
        `/v1/compounds/${encodeURIComponent(compoundId)}/passages`,
        {
          plate_number: plate.value.trim() || undefined,
          'window.startTime': instant(from.value),
          'window.endTime': instant(to.value),
          decisions: decision.value ? [decision.value] : undefined,
          'page.pageSize': 50,
          'page.pageToken': pageToken,
        },
      );
      return { items: page.passages ?? [], nextPageToken: page.page?.nextPageToken ?? '' };
    },
    row: (p) => [
      dateTime(p.meta?.occurredAt),
      p.plateNumber ?? '—',
      enumLabel(p.direction),
      enumLabel(p.decision),
      enumLabel(p.reason),
      p.device?.name || p.device?.deviceId || '—',
      thumbnail(p.images?.[0]?.objectKey),
    ],
  });
  return element;
}

/** identity's stored access records: who passed or was refused at which door, when. */
function accessSearch(compoundId: string): HTMLElement {
  const from = h('input', { name: 'from', type: 'datetime-local' });
  const to = h('input', { name: 'to', type: 'datetime-local' });
  const door = h('input', { name: 'door', placeholder: t('records.doorId'), size: 36 });
  const decision = decisionSelect(['ACCESS_DECISION_ALLOWED', 'ACCESS_DECISION_DENIED']);
  const { element, search } = recordSearch<AccessRecord>({
    filters: [
      field(t('records.from'), from),
      field(t('records.to'), to),
      field(t('records.door'), door),
      field(t('records.decision'), decision),
    ],
    headers: [
      t('records.time'),
      t('records.door'),
      t('records.person'),
      t('records.credential'),
      t('records.direction'),
      t('records.decision'),
      t('records.reason'),
      t('feed.snapshot'),
    ],
    fetchPage: async (pageToken) => {
      const page = await api.get<{ records?: AccessRecord[]; page?: { nextPageToken?: string } }>(
        `/v1/compounds/${encodeURIComponent(compoundId)}/access-records`,
        {
          door_id: door.value.trim() || undefined,
          'window.startTime': instant(from.value),
          'window.endTime': instant(to.value),
          decision: decision.value || undefined,
          'page.pageSize': 50,
          'page.pageToken': pageToken,
        },
      );
      return { items: page.records ?? [], nextPageToken: page.page?.nextPageToken ?? '' };
    },
    row: (r) => [
      dateTime(r.occurredAt),
      // A door's name narrows the search to that door.
      r.doorId
        ? h(
            'button',
            {
              type: 'button',
              class: 'link door',
              title: t('records.filterDoor'),
              onclick: () => {
                door.value = r.doorId ?? '';
                void search();
              },
            },
            r.doorName || r.doorId,
          )
        : '—',
      r.personId ? r.personName || r.personId : t('records.unknownPerson'),
      r.credentialMasked || enumLabel(r.credentialType),
      enumLabel(r.direction),
      h(
        'span',
        { class: `decision ${r.decision === 'ACCESS_DECISION_ALLOWED' ? 'allowed' : 'denied'}` },
        enumLabel(r.decision),
      ),
      enumLabel(r.reason),
      thumbnail(r.snapshotKey),
    ],
  });
  return element;
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
