import { h, s } from './dom.ts';
import { percent } from './format.ts';

export interface RateRow {
  readonly label: string;
  readonly rate: number;
  /** Target of the year in [0, 1]; absent when the year sets none. */
  readonly target?: number | undefined;
}

export interface BarGeometry {
  readonly y: number;
  readonly width: number;
  /** x of the target tick; absent without a target. */
  readonly targetX?: number;
  readonly meetsTarget: boolean;
}

const LABEL_WIDTH = 130;
const VALUE_WIDTH = 130;
const ROW_HEIGHT = 30;

/** Clamps a rate to [0, 1]; NaN counts as 0 (an empty set has rate 0 by the API's definition). */
export function clampRate(rate: number): number {
  return Number.isFinite(rate) ? Math.min(1, Math.max(0, rate)) : 0;
}

/** Where each bar and target tick goes on a plot `plotWidth` wide. */
export function barLayout(rows: readonly RateRow[], plotWidth: number): BarGeometry[] {
  return rows.map((row, i) => {
    const rate = clampRate(row.rate);
    const target = row.target === undefined ? undefined : clampRate(row.target);
    return {
      y: i * ROW_HEIGHT,
      width: rate * plotWidth,
      ...(target === undefined ? {} : { targetX: target * plotWidth }),
      meetsTarget: target === undefined || rate >= target,
    };
  });
}

/**
 * Horizontal bars of a rate per row with the year's target as a tick; a bar below its target is
 * drawn in the warning colour. Scales to its container (viewBox), so it reads on a wall screen.
 */
export function rateChart(title: string, rows: readonly RateRow[], width = 480): SVGSVGElement {
  const plotWidth = width - LABEL_WIDTH - VALUE_WIDTH;
  const height = rows.length * ROW_HEIGHT + 36;
  const bars = barLayout(rows, plotWidth);
  return s(
    'svg',
    { class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': title },
    s('title', null, title),
    s(
      'g',
      { transform: 'translate(0, 8)' },
      rows.map((row, i) => {
        const bar = bars[i] as BarGeometry;
        return s(
          'g',
          { transform: `translate(0, ${bar.y})`, class: 'chart-row' },
          s('text', { x: LABEL_WIDTH - 8, y: 19, 'text-anchor': 'end', class: 'chart-label' }, row.label),
          s('rect', { x: LABEL_WIDTH, y: 4, width: plotWidth, height: 20, class: 'chart-track' }),
          s('rect', {
            x: LABEL_WIDTH,
            y: 4,
            width: bar.width.toFixed(1),
            height: 20,
            class: bar.meetsTarget ? 'chart-bar' : 'chart-bar below-target',
          }),
          bar.targetX === undefined
            ? null
            : s('line', {
                x1: (LABEL_WIDTH + bar.targetX).toFixed(1),
                x2: (LABEL_WIDTH + bar.targetX).toFixed(1),
                y1: 0,
                y2: 28,
                class: 'chart-target',
              }),
          s(
            'text',
            { x: LABEL_WIDTH + plotWidth + 8, y: 19, class: 'chart-value' },
            row.target === undefined ? percent(row.rate) : `${percent(row.rate)} / ${percent(row.target)}`,
          ),
        );
      }),
    ),
    s(
      'g',
      { transform: `translate(${LABEL_WIDTH}, ${height - 10})`, class: 'chart-axis' },
      [0, 0.25, 0.5, 0.75, 1].map((tick) =>
        s('text', { x: (tick * plotWidth).toFixed(1), 'text-anchor': 'middle' }, `${tick * 100}%`),
      ),
    ),
  );
}

export interface Segment {
  readonly label: string;
  readonly count: number;
  readonly className: string;
}

/** Widths of the segments of a 100% stacked bar; empty input or all-zero counts give zero widths. */
export function stackLayout(counts: readonly number[], width: number): { x: number; width: number }[] {
  const total = counts.reduce((sum, c) => sum + Math.max(0, c), 0);
  let x = 0;
  return counts.map((c) => {
    const w = total === 0 ? 0 : (Math.max(0, c) / total) * width;
    const segment = { x, width: w };
    x += w;
    return segment;
  });
}

/**
 * One stacked bar of compounds per level, with a legend giving each count. The legend is HTML
 * so it wraps instead of overlapping when the labels are long (English).
 */
export function levelStack(title: string, segments: readonly Segment[], width = 480): HTMLElement {
  const layout = stackLayout(
    segments.map((seg) => seg.count),
    width,
  );
  return h(
    'figure',
    { class: 'level-stack' },
    s(
      'svg',
      { class: 'chart', viewBox: `0 0 ${width} 28`, role: 'img', 'aria-label': title },
      s('title', null, title),
      segments.map((seg, i) => {
        const box = layout[i] as { x: number; width: number };
        return s('rect', {
          x: box.x.toFixed(1),
          y: 0,
          width: box.width.toFixed(1),
          height: 28,
          class: seg.className,
        });
      }),
    ),
    h(
      'figcaption',
      null,
      h(
        'ul',
        { class: 'legend' },
        segments.map((seg) =>
          h('li', null, h('span', { class: `swatch ${seg.className}` }), `${seg.label} ${seg.count}`),
        ),
      ),
    ),
  );
}
