import { api, mapLimit, seg } from '../api.ts';
import { levelStack, rateChart, type RateRow } from '../charts.ts';
import { h, mount } from '../dom.ts';
import { LEVELS, enumLabel, levelClass, levelLabel, toLevel, type Level } from '../format.ts';
import { t } from '../i18n.ts';
import type { LiveStream } from '../live.ts';
import { failure, notice, panel, type View } from './common.ts';

interface CoverageFigures {
  scope: string;
  compounds?: number;
  compliant?: number;
  networked?: number;
  coverageRate?: number;
  networkingRate?: number;
  coverageTarget?: number;
  networkingTarget?: number;
  byLevel?: number[];
}

interface Coverage {
  year: number;
  district?: CoverageFigures;
  towns?: CoverageFigures[];
  programmeGroups?: CoverageFigures[];
}

interface Compound {
  compoundId: string;
  name: string;
  townStreet?: string;
}

/** Every compound the viewer may see, all pages. */
async function allCompounds(): Promise<Compound[]> {
  const compounds: Compound[] = [];
  let token = '';
  do {
    const page = await api.get<{ compounds?: Compound[]; page?: { nextPageToken?: string } }>(
      '/v1/compounds',
      {
        'page.page_size': 1000,
        'page.page_token': token,
      },
    );
    compounds.push(...(page.compounds ?? []));
    token = page.page?.nextPageToken ?? '';
  } while (token);
  return compounds;
}

function rows(
  figures: readonly CoverageFigures[],
  which: 'coverage' | 'networking',
  label = (f: CoverageFigures) => f.scope,
): RateRow[] {
  return figures.map((f) => ({
    label: label(f),
    rate: (which === 'coverage' ? f.coverageRate : f.networkingRate) ?? 0,
    target: which === 'coverage' ? f.coverageTarget : f.networkingTarget,
  }));
}

/** compliance-scoring names programme-group rows `old_to_close`; the label table uses the enum name. */
function programmeGroup(scope: string): string {
  return scope.startsWith('PROGRAMME_GROUP_') ? scope : `PROGRAMME_GROUP_${scope.toUpperCase()}`;
}

function charts(coverage: Coverage): HTMLElement {
  const district = coverage.district ?? { scope: 'district' };
  const byLevel = district.byLevel ?? [];
  const count = (level: Level): number => byLevel[LEVELS.length - 1 - LEVELS.indexOf(level)] ?? 0;
  const districtLabel = (): string => t('overview.district');
  return h(
    'div',
    { class: 'charts' },
    panel(
      `${t('overview.district')} · ${coverage.year}`,
      h(
        'p',
        { class: 'figures' },
        t('overview.figures', {
          compounds: district.compounds ?? 0,
          compliant: district.compliant ?? 0,
          networked: district.networked ?? 0,
        }),
      ),
      rateChart(t('overview.districtRates'), [
        ...rows([district], 'coverage', () => `${districtLabel()} ${t('overview.coverage')}`),
        ...rows([district], 'networking', () => `${districtLabel()} ${t('overview.networking')}`),
      ]),
      levelStack(
        t('overview.byLevel'),
        LEVELS.map((level) => ({
          label: levelLabel(level),
          count: count(level),
          className: levelClass(level),
        })),
      ),
    ),
    panel(
      t('overview.townCoverage'),
      rateChart(t('overview.townCoverage'), rows(coverage.towns ?? [], 'coverage')),
    ),
    panel(
      t('overview.townNetworking'),
      rateChart(t('overview.townNetworking'), rows(coverage.towns ?? [], 'networking')),
    ),
    panel(
      t('overview.programmeCoverage'),
      rateChart(
        t('overview.programmeCoverage'),
        rows(coverage.programmeGroups ?? [], 'coverage', (f) => enumLabel(programmeGroup(f.scope))),
      ),
    ),
  );
}

function legend(): HTMLElement {
  return h(
    'ul',
    { class: 'legend' },
    LEVELS.map((level) =>
      h('li', null, h('span', { class: `swatch ${levelClass(level)}` }), levelLabel(level)),
    ),
  );
}

/** Town/street grid: one tile per compound, coloured by its level as the levels arrive. */
async function grid(el: HTMLElement): Promise<void> {
  const compounds = await allCompounds();
  if (compounds.length === 0) return mount(el, notice(t('overview.noCompounds'), 'empty'));
  const towns = new Map<string, Compound[]>();
  for (const c of compounds) {
    const town = c.townStreet || t('overview.noTown');
    towns.set(town, [...(towns.get(town) ?? []), c]);
  }
  const tiles = new Map<string, HTMLElement>();
  mount(
    el,
    legend(),
    [...towns.entries()]
      .sort(([a], [b]) => a.localeCompare(b, 'zh'))
      .map(([town, list]) =>
        h(
          'section',
          { class: 'town' },
          h('h3', null, `${town} (${list.length})`),
          h(
            'div',
            { class: 'tiles' },
            list.map((c) => {
              const tile = h(
                'a',
                {
                  class: `tile ${levelClass('COMPLIANCE_LEVEL_UNSPECIFIED')}`,
                  href: `#/compound?compound=${encodeURIComponent(c.compoundId)}`,
                  'data-compound': c.compoundId,
                  'data-level': 'COMPLIANCE_LEVEL_UNSPECIFIED',
                  title: c.compoundId,
                },
                h('span', { class: 'tile-name' }, c.name || c.compoundId),
                h('span', { class: 'tile-level' }, levelLabel('COMPLIANCE_LEVEL_UNSPECIFIED')),
              );
              tiles.set(c.compoundId, tile);
              return tile;
            }),
          ),
        ),
      ),
  );
  const paint = (compoundId: string, level: Level): void => {
    const tile = tiles.get(compoundId);
    if (!tile) return;
    tile.className = `tile ${levelClass(level)}`;
    tile.dataset.level = level;
    (tile.querySelector('.tile-level') as HTMLElement).textContent = levelLabel(level);
  };
  painters.add(paint);
  await mapLimit(compounds, 8, async (c) => {
    try {
      paint(c.compoundId, await levelOf(c.compoundId));
    } catch {
      // One compound's score failing leaves its tile "unscored"; the rest still colour in.
      tiles.get(c.compoundId)?.classList.add('tile-failed');
    }
  });
}

/**
 * Levels already known, kept current by the live `level` events: the grid repaints a tile the
 * moment its compound changes level, and coming back to the overview does not re-ask every
 * compound (475 reads, which the per-user rate limit would soon refuse). An entry older than
 * the TTL is read again, in case the live stream was down meanwhile.
 */
const LEVEL_TTL_MS = 120_000;
const levels = new Map<string, { level: Level; at: number }>();
const painters = new Set<(compoundId: string, level: Level) => void>();

async function levelOf(compoundId: string): Promise<Level> {
  const known = levels.get(compoundId);
  if (known && Date.now() - known.at < LEVEL_TTL_MS) return known.level;
  const score = await api.get<{ level?: string | number }>(`/v1/compounds/${seg(compoundId)}/level`);
  const level = toLevel(score.level);
  levels.set(compoundId, { level, at: Date.now() });
  return level;
}

/** Follows level changes for the whole session (called once the live stream is open). */
export function trackLevels(live: LiveStream): () => void {
  return live.on('level', (event) => {
    const level = toLevel(event.payload.level);
    levels.set(event.compoundId, { level, at: Date.now() });
    for (const paint of painters) paint(event.compoundId, level);
  });
}

/** District overview: rates against the year's targets, and every compound by level. */
export const overview: View = (root, params) => {
  const year = params.get('year') ?? '';
  const chartsEl = h('div', null, notice(t('common.loading')));
  const gridEl = h('div', { class: 'compound-grid' }, notice(t('common.loading')));
  const yearInput = h('input', {
    name: 'year',
    type: 'number',
    min: 2000,
    max: 2100,
    value: year,
    placeholder: t('overview.currentYear'),
  });
  mount(
    root,
    h(
      'form',
      {
        class: 'toolbar',
        onsubmit: (event: Event) => {
          event.preventDefault();
          location.hash = yearInput.value ? `#/overview?year=${yearInput.value}` : '#/overview';
        },
      },
      h('label', { class: 'field' }, h('span', null, t('overview.year')), yearInput),
      h('button', { type: 'submit' }, t('common.show')),
    ),
    chartsEl,
    panel(t('overview.compounds'), gridEl),
  );
  api
    .get<Coverage>('/v1/compliance/coverage', { year: year || undefined })
    .then((coverage) => mount(chartsEl, charts(coverage)))
    .catch((error: unknown) => mount(chartsEl, failure(error)));
  grid(gridEl).catch((error: unknown) => mount(gridEl, failure(error)));
  // Tiles of a page that was left are not repainted.
  return () => painters.clear();
};
