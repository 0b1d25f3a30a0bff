import { api, seg } from '../api.ts';
import { h, mount } from '../dom.ts';
import { dateTime, enumLabel } from '../format.ts';
import { t } from '../i18n.ts';
import {
  compoundFrom,
  compoundPicker,
  failure,
  field,
  notice,
  panel,
  type View,
  type ViewContext,
} from './common.ts';

export interface Alarm {
  alarmId: string;
  compoundId: string;
  state?: string;
  source?: string;
  category?: string;
  title?: string;
  priority?: string;
  zoneId?: string;
  deviceIds?: string[];
  snapshotKeys?: string[];
  occurrenceCount?: number;
  firstOccurredAt?: string;
  lastOccurredAt?: string;
  assigneeUserId?: string;
  assigneeTeamId?: string;
  acknowledgeDeadline?: string;
  escalationLevel?: number;
  resolution?: string;
  history?: { transition?: string; state?: string; actor?: string; at?: string; comment?: string }[];
}

export const OPEN_STATES = ['ALARM_STATE_NEW', 'ALARM_STATE_ACKNOWLEDGED', 'ALARM_STATE_IN_PROGRESS'];

export function isOpen(alarm: Alarm): boolean {
  return alarm.state !== undefined && OPEN_STATES.includes(alarm.state);
}

/** Where a stored snapshot is fetched from (through the gateway, so scope and audit apply). */
export function mediaUrl(objectKey: string): string {
  return `/v1/media/${objectKey.split('/').map(seg).join('/')}`;
}

/**
 * The alarm after an `AlarmChanged` event (the live payload), merged over what the page already
 * had; undefined when the payload names no alarm.
 */
export function alarmFromChange(
  compoundId: string,
  change: Record<string, unknown>,
  before?: Alarm,
): Alarm | undefined {
  if (typeof change.alarmId !== 'string' || !change.alarmId) return undefined;
  const images = Array.isArray(change.images) ? (change.images as { objectKey?: string }[]) : [];
  const keys = images.map((image) => image.objectKey).filter((key): key is string => typeof key === 'string');
  const pick = <K extends keyof Alarm>(key: K): Partial<Pick<Alarm, K>> =>
    change[key] === undefined ? {} : ({ [key]: change[key] } as Partial<Pick<Alarm, K>>);
  return {
    ...before,
    alarmId: change.alarmId,
    compoundId,
    ...pick('state'),
    ...pick('source'),
    ...pick('category'),
    ...pick('title'),
    ...pick('priority'),
    ...pick('zoneId'),
    ...pick('deviceIds'),
    ...pick('occurrenceCount'),
    ...pick('firstOccurredAt'),
    ...pick('lastOccurredAt'),
    ...pick('assigneeUserId'),
    ...pick('assigneeTeamId'),
    ...pick('acknowledgeDeadline'),
    ...pick('escalationLevel'),
    ...pick('resolution'),
    ...(keys.length > 0 ? { snapshotKeys: keys } : {}),
  };
}

type Action = 'acknowledge' | 'start' | 'assign' | 'comment' | 'resolve';

/**
 * The alarms of one compound, newest first, kept current from the live stream; each open alarm
 * can be acknowledged, started, assigned, commented and resolved. Returns the unsubscribe.
 * `onChange` lets the compound page light up the alarm's zone and devices on its plan.
 */
export function alarmConsole(
  el: HTMLElement,
  compoundId: string,
  ctx: ViewContext,
  onChange?: (alarms: readonly Alarm[]) => void,
): () => void {
  const alarms = new Map<string, Alarm>();
  let showResolved = false;
  const listEl = h('div', { class: 'alarm-list' }, notice(t('common.loading')));
  const toggle = h('input', { type: 'checkbox', name: 'resolved' });
  toggle.addEventListener('change', () => {
    showResolved = toggle.checked;
    void reload();
  });
  mount(
    el,
    h('div', { class: 'toolbar' }, h('label', { class: 'check' }, toggle, t('alarms.showResolved'))),
    listEl,
  );

  const render = (flashId?: string): void => {
    const list = [...alarms.values()]
      .filter((a) => showResolved || isOpen(a))
      .sort((a, b) => (b.lastOccurredAt ?? '').localeCompare(a.lastOccurredAt ?? ''));
    onChange?.([...alarms.values()]);
    if (list.length === 0) return mount(listEl, notice(t('alarms.none'), 'empty'));
    mount(
      listEl,
      list.map((a) => alarmCard(a, a.alarmId === flashId)),
    );
  };

  const act = async (alarm: Alarm, action: Action, body: Record<string, unknown>): Promise<void> => {
    const response = await api.post<{ alarm: Alarm }>(
      `/v1/alarm/alarms/${seg(alarm.alarmId)}:${action}`,
      body,
    );
    alarms.set(response.alarm.alarmId, response.alarm);
    render();
  };

  const alarmCard = (alarm: Alarm, flash: boolean): HTMLElement => {
    const message = h('div', { class: 'alarm-message' });
    const run =
      (action: Action, body: Record<string, unknown> = {}) =>
      async (event: Event) => {
        event.preventDefault();
        try {
          await act(alarm, action, body);
        } catch (error) {
          mount(message, failure(error));
        }
      };
    const comment = h('input', { name: 'comment', placeholder: t('alarms.comment') });
    const assignee = h('input', { name: 'assignee', placeholder: t('alarms.assignee') });
    const resolution = h(
      'select',
      { name: 'resolution' },
      ['ALARM_RESOLUTION_REAL', 'ALARM_RESOLUTION_FALSE_ALARM', 'ALARM_RESOLUTION_TEST'].map((r) =>
        h('option', { value: r }, enumLabel(r)),
      ),
    );
    const open = isOpen(alarm);
    const withComment = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
      ...extra,
      ...(comment.value.trim() ? { comment: comment.value.trim() } : {}),
    });
    const button = (label: string, cls: string, handler: (event: Event) => Promise<void>) =>
      h('button', { type: 'button', class: cls, onclick: handler }, label);
    return h(
      'article',
      {
        class: `alarm ${flash ? 'flash' : ''} prio-${(alarm.priority ?? '').replace('PRIORITY_', '').toLowerCase()}`,
        'data-alarm-id': alarm.alarmId,
        'data-state': alarm.state ?? '',
      },
      h(
        'header',
        null,
        h('span', { class: 'alarm-state' }, enumLabel(alarm.state)),
        h('strong', { class: 'alarm-title' }, alarm.title || alarm.category || alarm.alarmId),
        h('span', { class: 'alarm-priority' }, enumLabel(alarm.priority)),
      ),
      h(
        'dl',
        { class: 'facts' },
        h('dt', null, t('alarms.source')),
        h('dd', null, enumLabel(alarm.source)),
        h('dt', null, t('alarms.occurred')),
        h(
          'dd',
          null,
          `${dateTime(alarm.firstOccurredAt)} → ${dateTime(alarm.lastOccurredAt)} ×${alarm.occurrenceCount ?? 1}`,
        ),
        h('dt', null, t('alarms.assigned')),
        h('dd', null, [alarm.assigneeUserId, alarm.assigneeTeamId].filter(Boolean).join(' / ') || '—'),
        alarm.resolution && alarm.resolution !== 'ALARM_RESOLUTION_UNSPECIFIED'
          ? [h('dt', null, t('alarms.resolution')), h('dd', null, enumLabel(alarm.resolution))]
          : null,
        alarm.acknowledgeDeadline && alarm.state === 'ALARM_STATE_NEW'
          ? [h('dt', null, t('alarms.deadline')), h('dd', null, dateTime(alarm.acknowledgeDeadline))]
          : null,
      ),
      (alarm.snapshotKeys ?? []).length > 0
        ? h(
            'div',
            { class: 'snapshots' },
            (alarm.snapshotKeys ?? [])
              .slice(0, 4)
              .map((key) => h('img', { src: mediaUrl(key), alt: t('feed.snapshot'), loading: 'lazy' })),
          )
        : null,
      open
        ? h(
            'div',
            { class: 'actions' },
            comment,
            alarm.state === 'ALARM_STATE_NEW'
              ? button(t('alarms.acknowledge'), 'act-acknowledge', run('acknowledge'))
              : null,
            alarm.state === 'ALARM_STATE_ACKNOWLEDGED'
              ? button(t('alarms.start'), 'act-start', run('start'))
              : null,
            button(t('alarms.commentAction'), 'act-comment', async (event) => {
              if (!comment.value.trim()) return mount(message, notice(t('alarms.commentRequired'), 'error'));
              await run('comment', { comment: comment.value.trim() })(event);
            }),
            assignee,
            button(t('alarms.assign'), 'act-assign', async (event) => {
              const who = assignee.value.trim();
              if (!who) return mount(message, notice(t('alarms.assigneeRequired'), 'error'));
              // "team:NAME" assigns a team, anything else a user.
              const body = who.startsWith('team:')
                ? { assigneeTeamId: who.slice(5) }
                : { assigneeUserId: who };
              await run('assign', withComment(body))(event);
            }),
            field(t('alarms.resolution'), resolution),
            button(t('alarms.resolve'), 'act-resolve', async (event) => {
              await run('resolve', withComment({ resolution: resolution.value }))(event);
            }),
          )
        : null,
      message,
    );
  };

  const reload = async (): Promise<void> => {
    try {
      const response = await api.get<{ alarms?: Alarm[] }>('/v1/alarm/alarms', {
        compound_id: compoundId,
        states: showResolved ? undefined : OPEN_STATES,
        limit: 200,
      });
      alarms.clear();
      for (const alarm of response.alarms ?? []) alarms.set(alarm.alarmId, alarm);
      render();
    } catch (error) {
      mount(listEl, failure(error));
    }
  };

  const unsubscribe = ctx.live.on('alarm', (event) => {
    if (event.compoundId !== compoundId) return;
    const alarm = alarmFromChange(event.compoundId, event.payload, alarms.get(String(event.payload.alarmId)));
    if (!alarm) return;
    alarms.set(alarm.alarmId, alarm);
    render(alarm.alarmId);
  });
  void reload();
  return unsubscribe;
}

/** Alarm console page: one compound's alarms, handled live. */
export const alarmsPage: View = (root, params, ctx) => {
  const compoundId = compoundFrom(params, ctx);
  const body = h('div');
  mount(root, compoundPicker(compoundId, ctx, 'alarms'), panel(t('alarms.title'), body));
  if (!compoundId) {
    mount(body, notice(t('common.pickCompound'), 'info'));
    return;
  }
  return alarmConsole(body, compoundId, ctx);
};
