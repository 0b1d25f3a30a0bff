import { api, ApiError, mapLimit, seg } from '../api.ts';
import { h, mount, s } from '../dom.ts';
import { dateTime, enumLabel, levelClass, levelLabel, percent, toLevel } from '../format.ts';
import { t, type MessageKey } from '../i18n.ts';
import { LiveStream, type LiveEnvelope } from '../live.ts';
import { canEditPlan } from '../session.ts';
import {
  clampPosition,
  kindOfDevice,
  layoutMarkers,
  markerId,
  type Marker,
  type MarkerKind,
  type StoredMarker,
} from '../siteplan.ts';
import { alarmConsole, isOpen, mediaUrl, type Alarm } from './alarms.ts';
import {
  compoundFrom,
  compoundPicker,
  failure,
  notice,
  panel,
  type View,
  type ViewContext,
} from './common.ts';

interface Compound {
  compoundId: string;
  name?: string;
  townStreet?: string;
  neighbourhoodCommittee?: string;
  buildingCodes?: string[];
  category?: string;
}

interface LevelScore {
  level?: string | number;
  missingForNextLevel?: { module?: string; location?: string; buildingCode?: string }[];
  devicesRequired?: number;
  devicesOnline?: number;
  deviceNetworkingRate?: number;
  uploadingRealTime?: boolean;
}

interface Device {
  deviceId: string;
  name?: string;
  deviceType?: string;
  zoneId?: string;
  lifecycle?: string;
}

interface Zone {
  zoneId: string;
  name?: string;
  arming?: string;
}

const PLAN_WIDTH = 1000;
const PLAN_HEIGHT = 640;
const FEED_LENGTH = 40;

const KIND_KEYS: Record<MarkerKind, MessageKey> = {
  building: 'plan.building',
  gate: 'plan.gate',
  unit_door: 'plan.unitDoor',
  barrier: 'plan.barrier',
  camera: 'plan.camera',
  perimeter_zone: 'plan.zone',
  device: 'plan.device',
};

async function listAll<T>(path: string, key: string, query: Record<string, string>): Promise<T[]> {
  const items: T[] = [];
  let token = '';
  do {
    const page = await api.get<Record<string, unknown>>(path, {
      ...query,
      'page.pageSize': 1000,
      'page.pageToken': token,
    });
    items.push(...((page[key] as T[] | undefined) ?? []));
    token = (page.page as { nextPageToken?: string } | undefined)?.nextPageToken ?? '';
  } while (token);
  return items;
}

/** A read that may fail because its service is not deployed yet: the plan still draws without it. */
async function optional<T>(read: Promise<T>, fallback: T, missing: string[], what: string): Promise<T> {
  try {
    return await read;
  } catch (error) {
    if (error instanceof ApiError && error.unavailable) {
      missing.push(what);
      return fallback;
    }
    throw error;
  }
}

function markerShape(marker: Marker): SVGElement {
  switch (marker.kind) {
    case 'building':
      return s('rect', { x: -34, y: -22, width: 68, height: 44, rx: 3 });
    case 'gate':
      return s('polygon', { points: '0,-16 16,12 -16,12' });
    case 'barrier':
      return s('rect', { x: -18, y: -6, width: 36, height: 12 });
    case 'unit_door':
      return s('rect', { x: -9, y: -12, width: 18, height: 24 });
    case 'camera':
      return s('circle', { r: 10 });
    case 'perimeter_zone':
      return s('polygon', { points: '0,-14 14,0 0,14 -14,0' });
    default:
      return s('circle', { r: 7 });
  }
}

/**
 * The 2D site plan: every building, device and perimeter zone as a marker coloured by its live
 * status. Staff who may edit drag markers into place; each drop is stored at once.
 */
class SitePlan {
  readonly element: SVGSVGElement;
  readonly #markers: Marker[];
  readonly #nodes = new Map<string, SVGGElement>();
  readonly #editable: boolean;
  readonly #save: (marker: Marker) => Promise<void>;

  constructor(markers: Marker[], editable: boolean, save: (marker: Marker) => Promise<void>) {
    this.#markers = markers;
    this.#editable = editable;
    this.#save = save;
    this.element = s(
      'svg',
      {
        class: 'site-plan',
        viewBox: `0 0 ${PLAN_WIDTH} ${PLAN_HEIGHT}`,
        role: 'img',
        'aria-label': t('plan.title'),
      },
      s('rect', { class: 'plan-ground', x: 0, y: 0, width: PLAN_WIDTH, height: PLAN_HEIGHT }),
      s('rect', {
        class: 'plan-boundary',
        x: 30,
        y: 30,
        width: PLAN_WIDTH - 60,
        height: PLAN_HEIGHT - 60,
        rx: 12,
      }),
      s('path', { class: 'plan-road', d: `M ${PLAN_WIDTH / 2} ${PLAN_HEIGHT} V ${PLAN_HEIGHT * 0.1}` }),
    );
    for (const marker of markers) this.element.append(this.#node(marker));
  }

  /** Sets a marker's status (device online/offline, zone armed, alarm) and redraws its colour. */
  setStatus(kind: MarkerKind, refId: string, status: Marker['status']): void {
    const marker = this.#markers.find((m) => m.kind === kind && m.refId === refId);
    if (!marker) return;
    marker.status = status;
    const node = this.#nodes.get(markerId(kind, refId));
    if (node) {
      node.setAttribute('class', this.#className(marker));
      node.dataset.status = status;
    }
  }

  markers(): readonly Marker[] {
    return this.#markers;
  }

  #className(marker: Marker): string {
    return `marker kind-${marker.kind} st-${marker.status}${marker.placed ? '' : ' unplaced'}`;
  }

  #node(marker: Marker): SVGGElement {
    const node = s(
      'g',
      {
        class: this.#className(marker),
        transform: `translate(${marker.x * PLAN_WIDTH}, ${marker.y * PLAN_HEIGHT})`,
        'data-marker': markerId(marker.kind, marker.refId),
        'data-status': marker.status,
        tabindex: 0,
      },
      s('title', null, `${t(KIND_KEYS[marker.kind])}: ${marker.label}`),
      markerShape(marker),
      s(
        'text',
        { class: 'marker-label', y: marker.kind === 'building' ? 5 : 28, 'text-anchor': 'middle' },
        marker.label,
      ),
    );
    this.#nodes.set(markerId(marker.kind, marker.refId), node);
    if (this.#editable) this.#draggable(node, marker);
    return node;
  }

  #draggable(node: SVGGElement, marker: Marker): void {
    let dragging = false;
    const toPlan = (event: PointerEvent): { x: number; y: number } => {
      const box = this.element.getBoundingClientRect();
      return clampPosition((event.clientX - box.left) / box.width, (event.clientY - box.top) / box.height);
    };
    node.addEventListener('pointerdown', (event) => {
      dragging = true;
      node.setPointerCapture(event.pointerId);
      node.classList.add('dragging');
    });
    node.addEventListener('pointermove', (event) => {
      if (!dragging) return;
      const { x, y } = toPlan(event);
      node.setAttribute('transform', `translate(${x * PLAN_WIDTH}, ${y * PLAN_HEIGHT})`);
    });
    node.addEventListener('pointerup', (event) => {
      if (!dragging) return;
      dragging = false;
      node.classList.remove('dragging');
      const { x, y } = toPlan(event);
      const before = { x: marker.x, y: marker.y, placed: marker.placed };
      Object.assign(marker, { x, y, placed: true });
      node.setAttribute('class', this.#className(marker));
      this.#save(marker).catch(() => {
        // Not stored: put it back where the server has it, so the plan never shows a lie.
        Object.assign(marker, before);
        node.setAttribute('transform', `translate(${marker.x * PLAN_WIDTH}, ${marker.y * PLAN_HEIGHT})`);
        node.setAttribute('class', this.#className(marker));
      });
    });
  }
}

function legend(): HTMLElement {
  const kinds: MarkerKind[] = ['building', 'gate', 'unit_door', 'barrier', 'camera', 'perimeter_zone'];
  const statuses = ['online', 'offline', 'alarm', 'armed', 'disarmed', 'unknown'] as const;
  return h(
    'div',
    { class: 'plan-legend' },
    h('span', null, kinds.map((k) => t(KIND_KEYS[k])).join(' · ')),
    h(
      'ul',
      { class: 'legend' },
      statuses.map((st) =>
        h('li', null, h('span', { class: `swatch st-${st}` }), t(`plan.status.${st}` as MessageKey)),
      ),
    ),
  );
}

function header(compound: Compound, score: LevelScore | undefined): HTMLElement {
  const level = toLevel(score?.level);
  return h(
    'section',
    { class: 'compound-head' },
    h('h1', null, compound.name || compound.compoundId),
    h('span', { class: `badge ${levelClass(level)}`, 'data-level': level }, levelLabel(level)),
    h(
      'p',
      { class: 'figures' },
      [compound.townStreet, compound.neighbourhoodCommittee, enumLabel(compound.category)]
        .filter(Boolean)
        .join(' · '),
    ),
    score
      ? h(
          'p',
          { class: 'figures' },
          t('compound.networking', {
            online: score.devicesOnline ?? 0,
            required: score.devicesRequired ?? 0,
            rate: percent(score.deviceNetworkingRate ?? 0),
          }),
          ' · ',
          score.uploadingRealTime ? t('compound.uploading') : t('compound.notUploading'),
        )
      : null,
    score && (score.missingForNextLevel ?? []).length > 0
      ? h(
          'details',
          null,
          h('summary', null, t('compound.missing', { count: (score.missingForNextLevel ?? []).length })),
          h(
            'ul',
            null,
            (score.missingForNextLevel ?? []).map((item) =>
              h(
                'li',
                null,
                [enumLabel(item.module), item.location, item.buildingCode].filter(Boolean).join(' · '),
              ),
            ),
          ),
        )
      : null,
  );
}

/** One line of the live feed: what happened, where, and its snapshot. */
function feedItem(event: LiveEnvelope): HTMLElement {
  const p = event.payload;
  const images = Array.isArray(p.images) ? (p.images as { objectKey?: string }[]) : [];
  const device = (p.device ?? {}) as { name?: string; deviceId?: string };
  const what =
    event.type === 'passage'
      ? `${t('feed.vehicle')} ${String(p.plateNumber ?? '')} · ${enumLabel(p.direction)} · ${enumLabel(p.decision)}`
      : event.type === 'access'
        ? `${t('feed.access')} · ${enumLabel(p.direction)} · ${enumLabel(p.decision)} · ${String(p.credentialMasked ?? enumLabel(p.credentialType))}`
        : `${t('feed.alarm')} · ${String(p.title ?? p.category ?? '')} · ${enumLabel(p.state)}`;
  return h(
    'li',
    { class: `feed-item feed-${event.type}` },
    images[0]?.objectKey
      ? h('img', { src: mediaUrl(images[0].objectKey), alt: t('feed.snapshot'), loading: 'lazy' })
      : null,
    h(
      'div',
      null,
      h('strong', null, what),
      h('small', null, `${dateTime(event.occurredAt)} · ${device.name || device.deviceId || ''}`),
    ),
  );
}

async function loadPlan(compoundId: string, compound: Compound, missing: string[]) {
  const [devices, zones, stored] = await Promise.all([
    optional(
      listAll<Device>('/v1/devices', 'devices', { compound_id: compoundId }),
      [],
      missing,
      t('nav.devices'),
    ),
    optional(
      api.get<{ zones?: Zone[] }>('/v1/alarm/zones', { compound_id: compoundId }).then((r) => r.zones ?? []),
      [],
      missing,
      t('plan.zone'),
    ),
    api
      .get<{ markers?: StoredMarker[] }>(`/v1/compounds/${seg(compoundId)}/site-plan`)
      .then((r) => ({ markers: r.markers ?? [], stored: true }))
      .catch((error: unknown) => {
        if (error instanceof ApiError && (error.unavailable || error.status === 404))
          return { markers: [], stored: false };
        throw error;
      }),
  ]);
  const active = devices.filter((d) => d.lifecycle !== 'DEVICE_LIFECYCLE_DECOMMISSIONED');
  const items = [
    ...(compound.buildingCodes ?? []).map((code) => ({
      kind: 'building' as const,
      refId: code,
      label: code.slice(-3),
    })),
    ...active
      .filter((d) => d.deviceType !== 'DEVICE_TYPE_PERIMETER_SENSOR')
      .map((d) => ({ kind: kindOfDevice(d.deviceType), refId: d.deviceId, label: d.name || d.deviceId })),
    ...zones.map((z) => ({ kind: 'perimeter_zone' as const, refId: z.zoneId, label: z.name || z.zoneId })),
  ];
  return { markers: layoutMarkers(items, stored.markers), devices: active, zones, stored: stored.stored };
}

/** Compound view: level, 2D site plan with live status, live feed with snapshots, alarms. */
export const compoundPage: View = (root, params, ctx: ViewContext) => {
  const compoundId = compoundFrom(params, ctx);
  if (!compoundId) {
    mount(root, compoundPicker('', ctx, 'compound'), notice(t('common.pickCompound')));
    return;
  }
  const headEl = h('div', null, notice(t('common.loading')));
  const planEl = h('div', { class: 'plan-holder' }, notice(t('common.loading')));
  const planNote = h('div');
  const alarmsEl = h('div');
  const feedList = h('ol', { class: 'feed' });
  const feedEmpty = notice(t('feed.waiting'), 'empty');
  mount(
    root,
    headEl,
    h(
      'div',
      { class: 'compound-layout' },
      panel(t('plan.title'), planNote, planEl, legend()),
      h(
        'div',
        { class: 'side' },
        panel(t('alarms.title'), alarmsEl),
        panel(t('feed.title'), feedEmpty, feedList),
      ),
    ),
  );

  let plan: SitePlan | undefined;
  let openAlarms: readonly Alarm[] = [];
  const deviceStatus = new Map<string, Marker['status']>();
  const zoneArming = new Map<string, Marker['status']>();

  // Alarm state wins over device and arming status: an alarmed marker must stand out.
  const paint = (): void => {
    if (!plan) return;
    const alarmedDevices = new Set(openAlarms.flatMap((a) => a.deviceIds ?? []));
    const alarmedZones = new Set(openAlarms.map((a) => a.zoneId).filter(Boolean));
    for (const marker of plan.markers()) {
      const status =
        marker.kind === 'perimeter_zone'
          ? alarmedZones.has(marker.refId)
            ? 'alarm'
            : (zoneArming.get(marker.refId) ?? 'unknown')
          : marker.kind === 'building'
            ? 'unknown'
            : alarmedDevices.has(marker.refId)
              ? 'alarm'
              : (deviceStatus.get(marker.refId) ?? 'unknown');
      plan.setStatus(marker.kind, marker.refId, status);
    }
  };

  const stopAlarms = alarmConsole(alarmsEl, compoundId, ctx, (alarms) => {
    openAlarms = alarms.filter(isOpen);
    paint();
  });

  const feed = new LiveStream();
  feed.on('access', (e) => addFeed(e));
  feed.on('passage', (e) => addFeed(e));
  feed.on('alarm', (e) => addFeed(e));
  const addFeed = (event: LiveEnvelope): void => {
    feedEmpty.remove();
    feedList.prepend(feedItem(event));
    while (feedList.children.length > FEED_LENGTH) feedList.lastElementChild?.remove();
  };
  feed.open(['access', 'passage', 'alarm'], compoundId);

  const stopDevices = ctx.live.on('device-status', (event) => {
    if (event.compoundId !== compoundId) return;
    const device = (event.payload.device ?? {}) as { deviceId?: string };
    if (!device.deviceId) return;
    deviceStatus.set(device.deviceId, event.payload.status === 'DEVICE_STATUS_ONLINE' ? 'online' : 'offline');
    paint();
  });

  void (async () => {
    try {
      const compound = (await api.get<{ compound: Compound }>(`/v1/compounds/${seg(compoundId)}`)).compound;
      const score = await api
        .get<LevelScore>(`/v1/compounds/${seg(compoundId)}/level`)
        .catch(() => undefined);
      mount(headEl, header(compound, score));
      const missing: string[] = [];
      const loaded = await loadPlan(compoundId, compound, missing);
      const editable = canEditPlan(ctx.session.user) && loaded.stored;
      plan = new SitePlan(loaded.markers, editable, async (marker) => {
        try {
          await api.put(
            `/v1/compounds/${seg(compoundId)}/site-plan/markers/${seg(markerId(marker.kind, marker.refId))}`,
            {
              kind: marker.kind,
              refId: marker.refId,
              label: marker.label,
              x: marker.x,
              y: marker.y,
            },
          );
          mount(planNote, notice(t('plan.saved'), 'info'));
        } catch (error) {
          mount(planNote, failure(error));
          throw error;
        }
      });
      mount(planEl, loaded.markers.length ? plan.element : notice(t('plan.empty'), 'empty'));
      mount(
        planNote,
        !loaded.stored ? notice(t('plan.notStored'), 'info') : null,
        editable ? notice(t('plan.dragHint'), 'info') : null,
        missing.length ? notice(t('plan.partial', { what: missing.join(', ') }), 'empty') : null,
      );
      for (const zone of loaded.zones) {
        zoneArming.set(zone.zoneId, zone.arming === 'ARMING_STATE_ARMED' ? 'armed' : 'disarmed');
      }
      paint();
      await mapLimit(loaded.devices.slice(0, 500), 6, async (device) => {
        const status = await api
          .get<{ status?: string }>(`/v1/devices/${seg(device.deviceId)}/status`)
          .catch(() => ({ status: undefined }));
        if (!deviceStatus.has(device.deviceId) && status.status) {
          deviceStatus.set(device.deviceId, status.status === 'DEVICE_STATUS_ONLINE' ? 'online' : 'offline');
        }
      });
      paint();
    } catch (error) {
      // Without the compound (refused, or gone) nothing else on the page means anything.
      feed.close();
      mount(root, compoundPicker(compoundId, ctx, 'compound'), failure(error));
    }
  })();

  return () => {
    stopAlarms();
    stopDevices();
    feed.close();
  };
};
