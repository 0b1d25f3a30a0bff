/** The examples in deploy/ stay in step with the code they describe. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { allTopics } from '@anfang/contracts/topics';
import { describe, expect, it } from 'vitest';
import { strimziTopics } from '../src/kafka-topics.ts';
import { deployDir, KUBERNETES_VERSIONS, parseYamlStream, validate } from './chart.ts';

describe('deploy/', () => {
  it('strimzi/topics.yaml is the catalogue (regenerate: pnpm --filter @anfang/chart run strimzi-topics)', () => {
    expect(readFileSync(join(deployDir, 'strimzi', 'topics.yaml'), 'utf8')).toBe(strimziTopics());
    const resources = parseYamlStream(strimziTopics()) as {
      spec: { topicName: string; partitions: number };
    }[];
    expect(resources.map((r) => [r.spec.topicName, r.spec.partitions])).toEqual(
      allTopics().map((t) => [t.name, t.partitions]),
    );
  });

  it('the alert rules and the dashboard are well-formed and cover the issue’s alerts', () => {
    const [rules] = parseYamlStream(
      readFileSync(join(deployDir, 'observability', 'prometheus-rules.yaml'), 'utf8'),
    ) as {
      spec: { groups: { rules: { alert: string; expr: string }[] }[] };
    }[];
    const alerts = rules!.spec.groups.flatMap((g) => g.rules.map((r) => r.alert));
    expect(alerts).toEqual(
      expect.arrayContaining([
        'AnfangConsumerLagHigh',
        'AnfangPoliceUploadBacklog',
        'AnfangPoliceUploadStale',
        'AnfangDevicesOffline',
        'AnfangAlarmsUnacknowledged',
      ]),
    );
    const dashboard = JSON.parse(
      readFileSync(join(deployDir, 'observability', 'grafana-dashboard.json'), 'utf8'),
    ) as {
      panels: { targets: { expr: string }[] }[];
    };
    expect(dashboard.panels.flatMap((p) => p.targets).length).toBeGreaterThan(0);
  });

  it('the collector example is valid against the Kubernetes schemas (strict)', () => {
    const result = validate(
      readFileSync(join(deployDir, 'observability', 'otel-collector.yaml'), 'utf8'),
      KUBERNETES_VERSIONS[0],
    );
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('the operator examples are well-formed resources of their operators', () => {
    const kinds = (file: string) =>
      (
        parseYamlStream(readFileSync(join(deployDir, file), 'utf8')) as { apiVersion: string; kind: string }[]
      ).map((r) => `${r.apiVersion.split('/')[0]}/${r.kind}`);
    expect(new Set(kinds('strimzi/kafka.yaml'))).toEqual(
      new Set(['kafka.strimzi.io/KafkaNodePool', 'kafka.strimzi.io/Kafka', 'kafka.strimzi.io/KafkaUser']),
    );
    expect(new Set(kinds('cloudnative-pg/cluster.yaml'))).toEqual(
      new Set([
        'postgresql.cnpg.io/Cluster',
        'postgresql.cnpg.io/ScheduledBackup',
        'postgresql.cnpg.io/Database',
      ]),
    );
    expect(kinds('cloudnative-pg/cluster.yaml').filter((k) => k.endsWith('/Database'))).toHaveLength(9);
  });
});
