/**
 * Daily rhythms: how busy each kind of activity is at each hour of a (possibly compressed)
 * simulated day, and which way people flow. Intensities are relative; `activityMix` normalises
 * them so that `--rate` is the day's average events per second.
 */

export type Activity =
  'resident' | 'visitor' | 'vehicle' | 'capture' | 'perimeter' | 'analytics' | 'patrol' | 'iot';

export const ACTIVITIES: readonly Activity[] = [
  'resident',
  'visitor',
  'vehicle',
  'capture',
  'perimeter',
  'analytics',
  'patrol',
  'iot',
];

/** Share of each activity in a day's events. */
const SHARE: Record<Activity, number> = {
  resident: 0.4,
  visitor: 0.05,
  vehicle: 0.16,
  capture: 0.15,
  perimeter: 0.08,
  analytics: 0.02,
  patrol: 0.07,
  iot: 0.07,
};

const bump = (hour: number, centre: number, width: number): number => {
  // Distance on the 24-hour circle, so a bump near midnight wraps.
  const d = Math.min(Math.abs(hour - centre), 24 - Math.abs(hour - centre));
  return Math.exp(-(d * d) / (2 * width * width));
};

/** Relative busyness of an activity at `hour` (0–24, fractional), before normalisation. */
export function profile(activity: Activity, hour: number): number {
  switch (activity) {
    case 'resident':
    case 'capture':
      return (
        0.04 +
        2.2 * bump(hour, 7.6, 0.9) +
        0.9 * bump(hour, 12, 1.3) +
        0.6 * bump(hour, 15, 2) +
        2.0 * bump(hour, 18.2, 1.4) +
        0.5 * bump(hour, 21, 1)
      );
    case 'vehicle':
      return (
        0.03 +
        2.6 * bump(hour, 7.4, 0.8) +
        0.6 * bump(hour, 12.2, 1) +
        2.3 * bump(hour, 18, 1.2) +
        0.4 * bump(hour, 21.5, 1)
      );
    case 'visitor':
      return 0.01 + 1.0 * bump(hour, 10.5, 1.8) + 1.1 * bump(hour, 15.5, 2.2) + 0.6 * bump(hour, 19.3, 1.3);
    case 'perimeter':
      // Wind, cats and climbers: more at night.
      return 0.6 + 0.8 * bump(hour, 2, 3);
    case 'analytics':
      // Things thrown from balconies in the daytime and evening; loiterers at night.
      return 0.3 + 0.8 * bump(hour, 13, 3) + 0.8 * bump(hour, 20, 2) + 0.5 * bump(hour, 2, 2);
    case 'patrol':
    case 'iot':
      return 1;
  }
}

const HOURS = Array.from({ length: 96 }, (_, i) => i / 4);
const MEAN: Record<Activity, number> = Object.fromEntries(
  ACTIVITIES.map((a) => [a, HOURS.reduce((s, h) => s + profile(a, h), 0) / HOURS.length]),
) as Record<Activity, number>;

/**
 * Expected events/s of each activity at `hour` when the day averages `rate` events/s overall.
 * Their sum over a day averages `rate`.
 */
export function activityRates(rate: number, hour: number): Record<Activity, number> {
  return Object.fromEntries(
    ACTIVITIES.map((a) => [a, (rate * SHARE[a] * profile(a, hour)) / MEAN[a]]),
  ) as Record<Activity, number>;
}

/** Probability that a resident at a gate is going out (morning) rather than coming in (evening). */
export function outboundShare(hour: number): number {
  return (
    0.5 +
    0.3 * bump(hour, 7.6, 1.3) -
    0.3 * bump(hour, 18.5, 1.8) +
    0.1 * bump(hour, 12.5, 1) -
    0.2 * bump(hour, 22, 1.5)
  );
}

/**
 * Simulated time: starts at `startSimMs` (default: now) and runs `scale` times faster than real
 * time, so `--time-scale 1440` plays a day per minute. Devices still stamp their events with the
 * real clock (plus their own skew); only the rhythm follows simulated time.
 */
export interface SimClock {
  simMs(realMs: number): number;
  /** Beijing hour of day (0–24, fractional) at a real instant. */
  hour(realMs: number): number;
}

export function simClock(startRealMs: number, scale: number, startSimMs = startRealMs): SimClock {
  const simMs = (realMs: number): number => startSimMs + (realMs - startRealMs) * scale;
  return {
    simMs,
    hour: (realMs) => {
      const beijing = simMs(realMs) + 8 * 3600_000;
      return (((beijing % 86_400_000) + 86_400_000) % 86_400_000) / 3_600_000;
    },
  };
}
