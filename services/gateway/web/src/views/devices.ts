import { api, mapLimit, seg } from '../api.ts';
import { h, mount } from '../dom.ts';
import { dateTime, enumLabel, offset } from '../format.ts';
import { t } from '../i18n.ts';
import { compoundFrom, compoundPicker, failure, notice, panel, table, type View } from './common.ts';

interface Device {
  deviceId: string;
  name?: string;
  deviceType?: string;
  module?: string;
  lifecycle?: string;
  ipAddress?: string;
}

interface DeviceStatus {
  status?: string;
  lastSeenAt?: string;
  clockOffsetKnown?: boolean;
  clockOffsetMs?: string | number;
  clockDriftSeverity?: string;
}

/** Online/offline and clock drift of every active device of a compound, offline and drifting first. */
export const devicesPage: View = (root, params, ctx) => {
  const compoundId = compoundFrom(params, ctx);
  if (!compoundId)
    return void mount(root, compoundPicker('', ctx, 'devices'), notice(t('common.pickCompound')));
  const summary = h('p', { class: 'figures' });
  const results = h('div', null, notice(t('common.loading')));
  mount(root, compoundPicker(compoundId, ctx, 'devices'), panel(t('devices.title'), summary, results));

  const statuses = new Map<string, DeviceStatus>();
  let devices: Device[] = [];
  const render = (): void => {
    const online = devices.filter((d) => statuses.get(d.deviceId)?.status === 'DEVICE_STATUS_ONLINE').length;
    const drifting = devices.filter((d) =>
      ['CLOCK_DRIFT_SEVERITY_WARNING', 'CLOCK_DRIFT_SEVERITY_ALARM'].includes(
        statuses.get(d.deviceId)?.clockDriftSeverity ?? '',
      ),
    ).length;
    summary.textContent = t('devices.summary', {
      total: devices.length,
      online,
      offline: devices.length - online,
      drifting,
    });
    const rank = (d: Device): number => {
      const st = statuses.get(d.deviceId);
      if (st?.status !== 'DEVICE_STATUS_ONLINE') return 0;
      return st.clockDriftSeverity === 'CLOCK_DRIFT_SEVERITY_OK' ? 2 : 1;
    };
    const sorted = [...devices].sort(
      (a, b) => rank(a) - rank(b) || (a.name ?? '').localeCompare(b.name ?? ''),
    );
    mount(
      results,
      table(
        [
          t('devices.name'),
          t('devices.type'),
          t('devices.status'),
          t('devices.lastSeen'),
          t('devices.clock'),
        ],
        sorted.map((d) => {
          const st = statuses.get(d.deviceId);
          const online = st?.status === 'DEVICE_STATUS_ONLINE';
          return [
            d.name || d.deviceId,
            enumLabel(d.deviceType),
            h(
              'span',
              { class: `pill ${online ? 'st-online' : st ? 'st-offline' : 'st-unknown'}` },
              enumLabel(st?.status),
            ),
            dateTime(st?.lastSeenAt),
            st?.clockOffsetKnown
              ? h(
                  'span',
                  {
                    class: `pill drift-${(st.clockDriftSeverity ?? '').replace('CLOCK_DRIFT_SEVERITY_', '').toLowerCase()}`,
                  },
                  `${offset(Number(st.clockOffsetMs ?? 0))} · ${enumLabel(st.clockDriftSeverity)}`,
                )
              : '—',
          ];
        }),
        t('devices.none'),
      ),
    );
  };

  const stop = ctx.live.on('device-status', (event) => {
    if (event.compoundId !== compoundId) return;
    const ref = (event.payload.device ?? {}) as { deviceId?: string };
    if (!ref.deviceId || !statuses.has(ref.deviceId)) return;
    statuses.set(ref.deviceId, {
      ...statuses.get(ref.deviceId),
      status: String(event.payload.status),
      lastSeenAt: String(event.payload.lastSeenAt ?? ''),
    });
    render();
  });

  void (async () => {
    try {
      let token = '';
      do {
        const page = await api.get<{ devices?: Device[]; page?: { nextPageToken?: string } }>('/v1/devices', {
          compound_id: compoundId,
          'page.pageSize': 1000,
          'page.pageToken': token,
        });
        devices.push(...(page.devices ?? []));
        token = page.page?.nextPageToken ?? '';
      } while (token);
      devices = devices.filter((d) => d.lifecycle !== 'DEVICE_LIFECYCLE_DECOMMISSIONED');
      render();
      await mapLimit(devices, 6, async (d) => {
        try {
          statuses.set(d.deviceId, await api.get<DeviceStatus>(`/v1/devices/${seg(d.deviceId)}/status`));
        } catch {
          // One device's status failing leaves it "unknown"; the others still show.
        }
      });
      render();
    } catch (error) {
      mount(results, failure(error));
    }
  })();
  return stop;
};
