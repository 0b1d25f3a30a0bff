import { ApiError } from '../api.ts';
import { h, mount, type Child } from '../dom.ts';
import { t } from '../i18n.ts';
import type { LiveStream } from '../live.ts';
import { onlyCompound, type Session } from '../session.ts';

export interface ViewContext {
  readonly session: Session;
  readonly live: LiveStream;
  navigate(hash: string): void;
}

/** Renders a page into `root`; returns what to undo when the page is left (listeners, timers). */
export type View = (root: HTMLElement, params: URLSearchParams, ctx: ViewContext) => (() => void) | void;

export function panel(title: string, ...children: Child[]): HTMLElement {
  return h('section', { class: 'panel' }, h('h2', null, title), ...children);
}

export function notice(text: string, kind: 'info' | 'empty' | 'error' = 'info'): HTMLElement {
  return h('p', { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}

/**
 * What a failed read shows: a service that is not deployed yet reads as "no data yet" (the
 * policy rolls modules out over years), a refusal as outside the viewer's scope, anything
 * else as the error with its reason.
 */
export function failure(error: unknown): HTMLElement {
  if (error instanceof ApiError) {
    if (error.unavailable) return notice(t('common.serviceAbsent'), 'empty');
    if (error.status === 403) return notice(t('common.forbidden'), 'error');
    if (error.status === 401) return notice(t('signin.expired'), 'error');
    return notice(`${t('common.error')}: ${error.message}`, 'error');
  }
  return notice(`${t('common.error')}: ${error instanceof Error ? error.message : String(error)}`, 'error');
}

/** Shows "loading" in `el`, then what `render` makes of the data, or the failure. */
export async function load<T>(
  el: HTMLElement,
  fetcher: () => Promise<T>,
  render: (data: T) => Child,
): Promise<void> {
  mount(el, notice(t('common.loading')));
  try {
    const data = await fetcher();
    mount(el, render(data));
  } catch (error) {
    mount(el, failure(error));
  }
}

export function table(
  headers: readonly string[],
  rows: readonly (readonly Child[])[],
  emptyText: string,
): HTMLElement {
  if (rows.length === 0) return notice(emptyText, 'empty');
  return h(
    'table',
    { class: 'grid' },
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        headers.map((label) => h('th', { scope: 'col' }, label)),
      ),
    ),
    h(
      'tbody',
      null,
      rows.map((cells) =>
        h(
          'tr',
          null,
          cells.map((cell) => h('td', null, cell)),
        ),
      ),
    ),
  );
}

/** A labelled form field. */
export function field(label: string, control: HTMLElement): HTMLElement {
  return h('label', { class: 'field' }, h('span', null, label), control);
}

/** The compound a page works on: from the URL, else the viewer's only compound scope. */
export function compoundFrom(params: URLSearchParams, ctx: ViewContext): string {
  const fromUrl = params.get('compound');
  if (fromUrl) return fromUrl;
  return onlyCompound(ctx.session.user) ?? '';
}

/** A compound id picker that reloads the page with `?compound=`. */
export function compoundPicker(current: string, ctx: ViewContext, page: string): HTMLElement {
  const input = h('input', {
    name: 'compound',
    value: current,
    placeholder: t('common.compoundId'),
    required: true,
  });
  return h(
    'form',
    {
      class: 'toolbar',
      onsubmit: (event: Event) => {
        event.preventDefault();
        ctx.navigate(`#/${page}?compound=${encodeURIComponent(input.value.trim())}`);
      },
    },
    field(t('common.compound'), input),
    h('button', { type: 'submit' }, t('common.show')),
  );
}
