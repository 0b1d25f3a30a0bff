import { handleUnauthorized } from './api.ts';
import { h, mount } from './dom.ts';
import { getLang, setLang, t, type Lang, type MessageKey } from './i18n.ts';
import { LiveStream, type LiveState } from './live.ts';
import { currentSession, onlyCompound, signOut, type Session } from './session.ts';
import { alarmsPage } from './views/alarms.ts';
import { failure, type View, type ViewContext } from './views/common.ts';
import { compoundPage } from './views/compound.ts';
import { devicesPage } from './views/devices.ts';
import { overview, trackLevels } from './views/overview.ts';
import { renderPasswordChange } from './views/password.ts';
import { patrolPage } from './views/patrol.ts';
import { policePage } from './views/police.ts';
import { recordsPage } from './views/records.ts';
import { renderSignIn } from './views/signin.ts';

const PAGES: Record<string, { view: View; title: MessageKey }> = {
  overview: { view: overview, title: 'nav.overview' },
  compound: { view: compoundPage, title: 'nav.compound' },
  alarms: { view: alarmsPage, title: 'nav.alarms' },
  records: { view: recordsPage, title: 'nav.records' },
  patrol: { view: patrolPage, title: 'nav.patrol' },
  devices: { view: devicesPage, title: 'nav.devices' },
  police: { view: policePage, title: 'nav.police' },
};

const root = document.getElementById('app') as HTMLElement;
const live = new LiveStream();
trackLevels(live);
let session: Session | undefined;
let leavePage: (() => void) | undefined;

/**
 * `#/compound?compound=X` → page name and parameters. Without a page: the district overview, or
 * for someone limited to one compound (property staff, a guard) that compound's page.
 */
function route(): { page: string; params: URLSearchParams } {
  const [path = '', query = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const home = session && onlyCompound(session.user) ? 'compound' : 'overview';
  return { page: PAGES[path] ? path : home, params: new URLSearchParams(query) };
}

function leave(): void {
  leavePage?.();
  leavePage = undefined;
}

function showSignIn(expired: boolean): void {
  leave();
  session = undefined;
  live.close();
  document.title = t('app.title');
  renderSignIn(root, expired, (signedIn) => start(signedIn));
}

/** Adds to what is undone when the page is left. */
function onLeave(undo: () => void): void {
  const previous = leavePage;
  leavePage = () => {
    previous?.();
    undo();
  };
}

function header(current: string, user: Session['user']): HTMLElement {
  const liveBadge = h('span', { class: 'live-state', 'data-state': live.state });
  onLeave(
    live.onState((state: LiveState) => {
      liveBadge.dataset.state = state;
      liveBadge.textContent = t(`live.${state}`);
    }),
  );
  const langButton = (lang: Lang, label: string) =>
    h(
      'button',
      {
        type: 'button',
        class: `lang ${getLang() === lang ? 'active' : ''}`,
        lang,
        onclick: () => {
          setLang(lang);
          render();
        },
      },
      label,
    );
  return h(
    'header',
    { class: 'top' },
    h('strong', { class: 'brand' }, t('app.title')),
    h(
      'nav',
      null,
      Object.entries(PAGES).map(([name, page]) =>
        h(
          'a',
          {
            href: `#/${name}`,
            class: name === current ? 'active' : '',
            'aria-current': name === current ? 'page' : null,
          },
          t(page.title),
        ),
      ),
    ),
    h(
      'div',
      { class: 'who' },
      liveBadge,
      h(
        'span',
        { class: 'user' },
        `${user.displayName || user.username} · ${t(`role.${user.role}` as MessageKey)}`,
      ),
      langButton('zh', '中文'),
      langButton('en', 'EN'),
      h(
        'button',
        {
          type: 'button',
          class: 'signout',
          onclick: async () => {
            await signOut().catch(() => undefined);
            showSignIn(false);
          },
        },
        t('nav.signOut'),
      ),
    ),
  );
}

function render(): void {
  if (!session) return;
  leave();
  const { page, params } = route();
  const ctx: ViewContext = {
    session,
    live,
    navigate: (hash) => {
      location.hash = hash;
    },
  };
  const main = h('main', { class: `page page-${page}` });
  mount(root, header(page, session.user), main);
  document.title = `${t(PAGES[page]!.title)} · ${t('app.title')}`;
  try {
    const undo = PAGES[page]!.view(main, params, ctx);
    if (undo) onLeave(undo);
  } catch (error) {
    mount(main, failure(error));
  }
}

function start(signedIn: Session): void {
  session = signedIn;
  if (signedIn.user.passwordExpired) {
    renderPasswordChange(root, () => showSignIn(false));
    return;
  }
  live.open(['alarm', 'device-status', 'level']);
  render();
}

const RECONNECT_MS = 5000;

/**
 * The live stream closes for good when the gateway refuses it: once the session has expired
 * (then sign in again) or when the gateway restarts (then reopen after a pause).
 */
live.onState((state) => {
  if (state !== 'closed' || !session) return;
  setTimeout(() => {
    if (!session || live.state !== 'closed') return;
    currentSession()
      .then((still) => {
        if (!still) showSignIn(true);
        else if (session) live.open(['alarm', 'device-status', 'level']);
      })
      .catch(() => live.open(['alarm', 'device-status', 'level']));
  }, RECONNECT_MS);
});

handleUnauthorized(() => {
  if (session) showSignIn(true);
});
window.addEventListener('hashchange', render);
document.documentElement.lang = getLang() === 'zh' ? 'zh-CN' : 'en';

currentSession()
  .then((existing) => (existing ? start(existing) : showSignIn(false)))
  .catch((error: unknown) => mount(root, failure(error)));
