import { describe, expect, it } from 'vitest';
import { eventCodecs } from './generated/codecs.ts';
import { reflectionRoot } from './reflection.ts';
import {
  allTopics,
  COMMAND_RETENTION_MS,
  DLQ_RETENTION_MS,
  dlqTopic,
  EVENT_RETENTION_MS,
  resolveTopic,
  retryTopic,
  topicByName,
  topicDefinitions,
  topics,
} from './topics.ts';
import { TOPIC_NAME_PATTERN } from './ids.ts';
import { timestampNow } from './time.ts';

const definitions = topicDefinitions();
const KNOWN_SERVICES = new Set([
  'device-ingest',
  'identity',
  'vehicle-access',
  'perimeter-alarms',
  'patrol',
  'video-index',
  'compliance-scoring',
  'police-upload',
  'gateway',
]);

describe('topic catalogue', () => {
  it('names every topic anfang.<domain>.<event>.v<N>, uniquely', () => {
    expect(definitions.length).toBeGreaterThan(0);
    for (const d of definitions) expect(d.name).toMatch(TOPIC_NAME_PATTERN);
    const names = allTopics().map((t) => t.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it("uses the payload's proto domain and version in the topic name", () => {
    for (const d of definitions) {
      const [, domain, , version] = d.name.split('.');
      const [pkgRoot, pkgDomain, pkgVersion] = d.payload.typeName.split('.');
      expect(pkgRoot).toBe('anfang');
      expect(pkgDomain, d.name).toBe(domain);
      expect(pkgVersion, d.name).toBe(version);
    }
  });

  it('has payload types that exist, each with `anfang.common.v1.EventMeta meta = 1`', () => {
    const root = reflectionRoot();
    for (const d of definitions) {
      const type = root.lookupType(d.payload.typeName);
      const meta = type.fieldsById[1];
      expect(meta, `${d.payload.typeName} field 1`).toBeDefined();
      expect(meta!.name).toBe('meta');
      expect(meta!.repeated).toBe(false);
      expect(meta!.resolvedType?.fullName).toBe('.anfang.common.v1.EventMeta');
    }
  });

  it('puts every event payload on exactly one topic and every topic has its own payload', () => {
    const payloads = definitions.map((d) => d.payload.typeName);
    expect(new Set(payloads).size).toBe(payloads.length);
    expect([...payloads].sort()).toEqual(Object.keys(eventCodecs).sort());
  });

  it('names known services as producers and consumers', () => {
    for (const d of definitions) {
      expect(d.producers.length, d.name).toBeGreaterThan(0);
      for (const s of [...d.producers, ...d.consumers])
        expect(KNOWN_SERVICES.has(s), `${d.name}: ${s}`).toBe(true);
    }
  });

  it('has sane partitions and retention', () => {
    for (const d of definitions) {
      expect(Number.isInteger(d.partitions) && d.partitions >= 1 && d.partitions <= 48, d.name).toBe(true);
      if (d.compacted) expect(d.retentionMs).toBe(-1);
      else expect([EVENT_RETENTION_MS, COMMAND_RETENTION_MS]).toContain(d.retentionMs);
    }
    expect(topics.deviceCommand.retentionMs).toBe(COMMAND_RETENTION_MS);
    expect(topics.deviceRegistry.compacted).toBe(true);
  });

  it('lists .retry and .dlq companions in allTopics()', () => {
    const specs = new Map(allTopics().map((s) => [s.name, s]));
    let expected = 0;
    for (const d of definitions) {
      expected += d.companions ? 3 : 1;
      expect(specs.get(d.name)).toEqual({
        name: d.name,
        partitions: d.partitions,
        retentionMs: d.retentionMs,
        compacted: d.compacted,
      });
      if (!d.companions) continue;
      const retry = specs.get(retryTopic(d.name));
      const dlq = specs.get(dlqTopic(d.name));
      expect(retry?.compacted).toBe(false);
      expect(dlq?.compacted).toBe(false);
      expect(retry?.partitions).toBe(d.partitions);
      expect(retry!.retentionMs).toBeGreaterThan(0);
      expect(dlq?.retentionMs).toBe(DLQ_RETENTION_MS);
      expect(dlq?.name).toBe(`${d.name}.dlq`);
      expect(retry?.name).toBe(`${d.name}.retry`);
    }
    expect(specs.size).toBe(expected);
  });

  it('looks topics up by name, companions included', () => {
    expect(topicByName('anfang.device.plate-read.v1')).toBe(topics.devicePlateRead);
    expect(topicByName('anfang.device.plate-read.v1.dlq')).toBeUndefined();
    expect(resolveTopic('anfang.device.plate-read.v1.dlq')).toEqual({
      definition: topics.devicePlateRead,
      role: 'dlq',
    });
    expect(resolveTopic('anfang.device.plate-read.v1.retry')?.role).toBe('retry');
    expect(resolveTopic('anfang.device.plate-read.v1')?.role).toBe('main');
    expect(resolveTopic('anfang.nope.v1')).toBeUndefined();
  });

  it('derives message keys from payloads', () => {
    const device = { deviceId: 'dev-1' };
    expect(topics.devicePlateRead.keyOf({ device, plateNumber: '鲁C12345' })).toBe('dev-1');
    expect(topics.vehiclePassageRecorded.keyOf({ device, plateNumber: '鲁C12345' })).toBe('鲁C12345');
    expect(topics.vehiclePassageRecorded.keyOf({ device, plateNumber: '' })).toBe('dev-1');
    expect(topics.alarmLifecycle.keyOf({ alarmId: 'a-1' })).toBe('a-1');
    expect(
      topics.policeCommand.keyOf({ commandId: 'c', dispositionWithdrawn: { dispositionId: 'd-1' } }),
    ).toBe('d-1');
    expect(
      topics.policeUploadHealth.keyOf({ compoundId: '370303001001001', platformId: '37030000005030000001' }),
    ).toBe('370303001001001/37030000005030000001');
    expect(() => topics.devicePlateRead.keyOf({ plateNumber: 'x' })).toThrow(/no device key/);
  });

  it('encodes and decodes through a topic codec', () => {
    const t = topics.deviceFaceCaptured;
    const bytes = t.payload.encode({
      meta: {
        eventId: '0190d1b2-6c1e-7a00-8000-000000000001',
        eventType: t.payload.typeName,
        occurredAt: timestampNow(),
      },
      device: { deviceId: 'dev-1' },
      liveness: 2,
    });
    const decoded = t.payload.decode(bytes);
    expect(decoded.meta?.eventType).toBe('anfang.device.v1.FaceCaptured');
    expect(decoded.liveness).toBe(2);
  });
});
