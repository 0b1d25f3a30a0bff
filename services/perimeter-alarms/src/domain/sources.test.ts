import { describe, expect, it } from 'vitest';
import { anfang } from '@anfang/contracts';
import {
  accessAlarmTrigger,
  analyticsTrigger,
  clockDriftTrigger,
  deviceAlarmTrigger,
  patrolViolationTrigger,
  perimeterTrigger,
  personWatchlistTrigger,
  statusTrigger,
} from './sources.ts';

const { TriggerState, Priority } = anfang.common.v1;
const device = { deviceId: 'dev-1', zoneId: 'zone-e', name: '东墙红外' };

describe('sources', () => {
  it('reads a perimeter trigger with its category and snapshots, and ignores its clearing', () => {
    const trigger = perimeterTrigger({
      device,
      sensorKind: anfang.device.v1.PerimeterSensorKind.PERIMETER_SENSOR_KIND_INFRARED,
      state: TriggerState.TRIGGER_STATE_ACTIVE,
      images: [{ objectKey: 'snap/1.jpg', contentType: 'image/jpeg' }, { objectKey: '' }],
    });
    expect(trigger).toMatchObject({
      source: 'perimeter',
      category: 'perimeter.infrared',
      deviceId: 'dev-1',
      zoneId: 'zone-e',
      priority: 'high',
      images: [{ objectKey: 'snap/1.jpg', contentType: 'image/jpeg', kind: 0 }],
    });
    expect(perimeterTrigger({ device, state: TriggerState.TRIGGER_STATE_INACTIVE })).toBeUndefined();
  });

  it('makes high-altitude throwing critical and links the camera that saw it', () => {
    const trigger = analyticsTrigger({
      device,
      kind: anfang.device.v1.AnalyticsKind.ANALYTICS_KIND_HIGH_ALTITUDE_THROWING,
    });
    expect(trigger).toMatchObject({
      category: 'analytics.high_altitude_throwing',
      priority: 'critical',
      cameraIds: ['dev-1'],
    });
  });

  it('alarms an offline device only for zone devices, and clock drift only at ALARM severity', () => {
    const offline = statusTrigger({ device, status: anfang.device.v1.DeviceStatus.DEVICE_STATUS_OFFLINE });
    expect(offline).toMatchObject({ category: 'device.offline', onlyForZoneDevices: true });
    expect(
      statusTrigger({ device, status: anfang.device.v1.DeviceStatus.DEVICE_STATUS_ONLINE }),
    ).toBeUndefined();
    const { ClockDriftSeverity } = anfang.device.v1;
    expect(
      clockDriftTrigger({ device, severity: ClockDriftSeverity.CLOCK_DRIFT_SEVERITY_WARNING }),
    ).toBeUndefined();
    expect(
      clockDriftTrigger({ device, severity: ClockDriftSeverity.CLOCK_DRIFT_SEVERITY_ALARM, offsetMs: 7200 })
        ?.title,
    ).toContain('7200 ms');
  });

  it('tells door alarms, spoofing and device faults apart', () => {
    const { DeviceAlarmKind } = anfang.device.v1;
    expect(
      deviceAlarmTrigger({ device, kind: DeviceAlarmKind.DEVICE_ALARM_KIND_DOOR_FORCED_OPEN })?.source,
    ).toBe('access');
    expect(deviceAlarmTrigger({ device, kind: DeviceAlarmKind.DEVICE_ALARM_KIND_TAMPER })?.source).toBe(
      'device',
    );
    const spoof = accessAlarmTrigger({
      device,
      kind: anfang.identity.v1.AccessAlarmKind.ACCESS_ALARM_KIND_SPOOF_ATTEMPT,
    });
    expect(spoof).toMatchObject({ source: 'spoof', category: 'spoof.attempt' });
  });

  it('takes the watchlist priority and cameras from the hit', () => {
    const trigger = personWatchlistTrigger({
      device,
      entryId: 'entry-9',
      priority: Priority.PRIORITY_MEDIUM,
      video: [{ cameraDeviceId: 'cam-2' }],
    });
    expect(trigger).toMatchObject({
      priority: 'medium',
      cameraIds: ['cam-2'],
      category: 'watchlist.person',
      episode: 'entry-9',
    });
  });

  it('reads a raised patrol violation as an alarm per round and kind, and a withdrawal as nothing', () => {
    const { ViolationKind, ViolationStatus } = anfang.patrol.v1;
    const raised = patrolViolationTrigger({
      kind: ViolationKind.VIOLATION_KIND_MISSED_CHECKPOINT,
      status: ViolationStatus.VIOLATION_STATUS_RAISED,
      severity: Priority.PRIORITY_HIGH,
      roundId: 'round-7',
      detail: '东门 未巡',
    });
    expect(raised).toMatchObject({
      source: 'patrol',
      category: 'patrol.missed_checkpoint',
      episode: 'round-7',
      title: '巡更异常 (东门 未巡)',
      priority: 'high',
      deviceId: '',
      zoneId: '',
    });
    expect(
      patrolViolationTrigger({
        kind: ViolationKind.VIOLATION_KIND_UNKNOWN_TAG,
        status: ViolationStatus.VIOLATION_STATUS_RAISED,
      }),
    ).toMatchObject({ category: 'patrol.unknown_tag', priority: 'medium' });
    expect(
      patrolViolationTrigger({
        kind: ViolationKind.VIOLATION_KIND_MISSED_CHECKPOINT,
        status: ViolationStatus.VIOLATION_STATUS_WITHDRAWN,
        roundId: 'round-7',
      }),
    ).toBeUndefined();
  });
});
