/**
 * The chart as a platform engineer meets it: lint, render under every example value set,
 * strict offline validation of every object, hardened pods, secrets only by reference, and
 * clear failures on incomplete or misspelt configuration.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeKey, parseDataKeys } from '@anfang/platform/crypto';
import { afterAll, describe, expect, it } from 'vitest';
import {
  chartDir,
  deployDir,
  helmLint,
  helmTemplate,
  KUBERNETES_VERSIONS,
  ofKind,
  parseManifests,
  parseYamlStream,
  render,
  validate,
  type KubeObject,
} from './chart.ts';
import { componentOf, podSpecOf, type EnvVar } from './k8s.ts';

/** ARCHITECTURE §1, in order. */
const SERVICES = [
  'device-ingest',
  'identity',
  'vehicle-access',
  'perimeter-alarms',
  'patrol',
  'video-index',
  'compliance-scoring',
  'police-upload',
  'gateway',
];
/** The services built so far, enabled by default; the others wait for their issues. */
const BUILT = [
  'device-ingest',
  'identity',
  'vehicle-access',
  'perimeter-alarms',
  'patrol',
  'compliance-scoring',
  'video-index',
  'gateway',
  'police-upload',
];
const VALUE_SETS = ['values-single-site.yaml', 'values-district.yaml', 'values-production.yaml'];
const SECRET_VARIABLES = [
  'DATABASE_URL',
  'REDIS_URL',
  'S3_ACCESS_KEY',
  'S3_SECRET_KEY',
  'KAFKA_SASL_USERNAME',
  'KAFKA_SASL_PASSWORD',
  'DATA_KEYS',
  'BLIND_INDEX_KEY',
  'CALLER_TOKEN_KEY',
];
const allEnabled = SERVICES.map((name) => `components.${name}.enabled=true`);
const district = join(deployDir, 'values-district.yaml');

function envOf(object: KubeObject): EnvVar[] {
  return podSpecOf(object).containers.flatMap((c) => [...(c.env ?? [])]);
}

describe('values', () => {
  const values = parseYamlStream(readFileSync(join(chartDir, 'values.yaml'), 'utf8'))[0] as {
    components: Record<string, { enabled: boolean }>;
  };

  it('has one entry per service of the architecture, only the built ones enabled', () => {
    expect(Object.keys(values.components).sort()).toEqual([...SERVICES].sort());
    const enabled = Object.entries(values.components)
      .filter(([, entry]) => entry.enabled)
      .map(([name]) => name);
    expect(enabled.sort()).toEqual([...BUILT].sort());
  });
});

describe.each(VALUE_SETS)('deploy/%s', (file) => {
  const valuesFile = join(deployDir, file);

  it('passes helm lint --strict', () => {
    const result = helmLint({ valuesFiles: [valuesFile] });
    expect(result.stderr + result.stdout).toContain('0 chart(s) failed');
    expect(result.status).toBe(0);
  });

  it.each(KUBERNETES_VERSIONS)(
    'renders objects valid against the Kubernetes %s schemas (strict)',
    (version) => {
      const manifests = render({ valuesFiles: [valuesFile] });
      expect(ofKind(parseManifests(manifests), 'Deployment').length).toBeGreaterThan(0);
      const result = validate(manifests, version);
      expect(result.stdout + result.stderr).toBe('');
      expect(result.status).toBe(0);
    },
  );
});

describe('every component enabled', () => {
  const manifests = render({ valuesFiles: [district], set: allEnabled });
  const objects = parseManifests(manifests);
  const deployments = ofKind(objects, 'Deployment');

  it('renders a Deployment, Service, ServiceAccount, PDB and NetworkPolicy per component', () => {
    for (const kind of ['Deployment', 'Service', 'ServiceAccount', 'PodDisruptionBudget', 'NetworkPolicy'])
      expect(ofKind(objects, kind).map(componentOf).sort(), kind).toEqual([...SERVICES].sort());
  });

  it.each(KUBERNETES_VERSIONS)('validates against the Kubernetes %s schemas (strict)', (version) => {
    const result = validate(manifests, version);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('hardens every pod', () => {
    const pods = [...deployments, ...ofKind(objects, 'Job'), ...ofKind(objects, 'Pod')];
    // A Deployment and a migration Job per service (each has a database), the topics Job, the test Pod.
    expect(pods.length).toBe(SERVICES.length * 2 + 2);
    for (const object of pods) {
      const pod = podSpecOf(object);
      const what = `${object.kind}/${object.metadata.name}`;
      expect(pod.securityContext?.runAsNonRoot, what).toBe(true);
      expect(pod.securityContext?.seccompProfile?.type, what).toBe('RuntimeDefault');
      expect(pod.automountServiceAccountToken, what).toBe(false);
      for (const container of pod.containers) {
        expect(container.securityContext, what).toMatchObject({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          runAsNonRoot: true,
          capabilities: { drop: ['ALL'] },
        });
        expect(Object.keys(container.resources?.requests ?? {}).sort(), what).toEqual(['cpu', 'memory']);
        expect(Object.keys(container.resources?.limits ?? {}).sort(), what).toEqual(['cpu', 'memory']);
      }
    }
  });

  it('gives services a writable /tmp only, their own ServiceAccount and native gRPC probes', () => {
    for (const deployment of deployments) {
      const pod = podSpecOf(deployment);
      const [container] = pod.containers;
      const name = componentOf(deployment);
      expect(pod.serviceAccountName).toBe(`anfang-${name}`);
      expect(container!.volumeMounts?.find((m) => m.mountPath === '/tmp')?.name).toBe('tmp');
      expect(pod.volumes?.find((v) => v.name === 'tmp')?.emptyDir?.sizeLimit).toBeDefined();
      const grpcPort = container!.ports?.find((p) => p.name === 'grpc')?.containerPort;
      expect(container!.livenessProbe?.grpc).toEqual({ port: grpcPort, service: 'liveness' });
      expect(container!.startupProbe?.grpc).toEqual({ port: grpcPort, service: 'liveness' });
      expect(container!.readinessProbe?.grpc?.port).toBe(grpcPort);
    }
    const readiness = (name: string) =>
      podSpecOf(deployments.find((d) => componentOf(d) === name)!).containers[0]!.readinessProbe?.grpc
        ?.service;
    expect(readiness('device-ingest')).toBe('anfang.device.v1.DeviceRegistryService');
    expect(readiness('identity')).toBe('anfang.identity.v1.IdentityService');
  });

  it('takes every secret from a Secret, never from a literal value', () => {
    for (const object of [...deployments, ...ofKind(objects, 'Job')]) {
      for (const variable of envOf(object)) {
        if (!SECRET_VARIABLES.includes(variable.name)) continue;
        expect(variable.value, `${object.metadata.name} ${variable.name}`).toBeUndefined();
        expect(
          variable.valueFrom?.secretKeyRef?.name,
          `${object.metadata.name} ${variable.name}`,
        ).toBeTruthy();
      }
      for (const variable of envOf(object).filter((v) => v.name.endsWith('_FILE')))
        expect(variable.value).toMatch(/^\/var\/run\/anfang\/keys\//);
    }
  });

  it('lets the helm test Pod check every component on its readiness service', () => {
    const [test] = ofKind(objects, 'Pod');
    expect(test!.metadata.annotations?.['helm.sh/hook']).toBe('test');
    const args = podSpecOf(test!).containers[0]!.args ?? [];
    expect(args.slice(0, 2)).toEqual(['node', 'src/check-health.ts']);
    expect(args).toContain('anfang-device-ingest:50051/anfang.device.v1.DeviceRegistryService');
    expect(args.length - 2).toBe(SERVICES.length);
  });

  it('creates the topics in a pre-install/pre-upgrade hook Job with the services’ Kafka settings', () => {
    const [job] = ofKind(objects, 'Job').filter((j) => componentOf(j) === 'topics');
    expect(job!.metadata.annotations?.['helm.sh/hook']).toBe('pre-install,pre-upgrade');
    const names = envOf(job!).map((v) => v.name);
    expect(names).toEqual(expect.arrayContaining(['BUS_KIND', 'KAFKA_BROKERS', 'KAFKA_REPLICATION_FACTOR']));
  });
});

describe('migrations', () => {
  const jobs = (set: string[] = []) =>
    ofKind(
      parseManifests(render({ valuesFiles: [join(deployDir, 'values-district.yaml')], set })),
      'Job',
    ).filter((job) => job.metadata.labels?.['app.kubernetes.io/component'] === 'migrations');

  it('migrates every enabled component with a database in a hook Job after the topics, before the pods', () => {
    const rendered = jobs();
    expect(rendered.map(componentOf).sort()).toEqual(BUILT.map((name) => `${name}-migrate`).sort());
    for (const job of rendered) {
      expect(job.metadata.annotations).toMatchObject({
        'helm.sh/hook': 'pre-install,pre-upgrade',
        'helm.sh/hook-weight': '-4',
      });
      const container = podSpecOf(job).containers[0]!;
      expect(container.args).toEqual(['node', 'src/main.ts', 'migrate']);
      expect(envOf(job).find((v) => v.name === 'DATABASE_URL')?.valueFrom?.secretKeyRef).toBeDefined();
      expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, runAsNonRoot: true });
    }
  });

  it('renders no migration Job when turned off', () => {
    expect(jobs(['migrations.job=false'])).toEqual([]);
  });
});

describe('network policies', () => {
  const objects = parseManifests(
    render({
      valuesFiles: [join(deployDir, 'values-production.yaml')],
      set: ['components.gateway.enabled=true'],
    }),
  );
  const policy = (name: string) =>
    ofKind(objects, 'NetworkPolicy').find((p) => componentOf(p) === name)!['spec'] as {
      ingress: {
        from?: { podSelector?: { matchLabels: Record<string, string> } }[];
        ports: { port: string }[];
      }[];
      egress: {
        to?: { podSelector?: { matchLabels: Record<string, string> } }[];
        ports: { port: unknown }[];
      }[];
    };

  it('admits gRPC only from the gateway and the test Pod, the device port from anywhere', () => {
    const ingress = policy('device-ingest').ingress;
    const grpc = ingress.find((rule) => rule.ports.some((p) => p.port === 'grpc'))!;
    expect(grpc.from?.map((f) => f.podSelector?.matchLabels)).toEqual([
      { 'app.kubernetes.io/name': 'gateway', 'app.kubernetes.io/instance': 'anfang' },
      { 'app.kubernetes.io/instance': 'anfang', 'app.kubernetes.io/component': 'test' },
    ]);
    const open = ingress.filter((rule) => rule.from === undefined);
    expect(open.flatMap((rule) => rule.ports.map((p) => p.port))).toEqual(['device']);
  });

  it('lets the gateway reach the gRPC port of the services it calls when egress is restricted', () => {
    const egress = policy('gateway').egress;
    const toDeviceIngest = egress.find((rule) =>
      rule.to?.some((t) => t.podSelector?.matchLabels['app.kubernetes.io/name'] === 'device-ingest'),
    );
    expect(toDeviceIngest?.ports).toEqual([{ port: 50051, protocol: 'TCP' }]);
    const callsAComponent = (rule: (typeof egress)[number]) =>
      rule.to?.some((t) => t.podSelector?.matchLabels['app.kubernetes.io/name'] !== undefined) ?? false;
    expect(policy('device-ingest').egress.some(callsAComponent)).toBe(false);
  });

  it('tells the gateway, and only its allowed callers, where each enabled service serves gRPC', () => {
    const envOfComponent = (name: string) =>
      envOf(ofKind(objects, 'Deployment').find((d) => componentOf(d) === name)!);
    expect(envOfComponent('gateway')).toEqual(
      expect.arrayContaining([
        { name: 'SERVICE_GRPC_ADDR_DEVICE_INGEST', value: 'anfang-device-ingest:50051' },
        { name: 'SERVICE_GRPC_ADDR_PERIMETER_ALARMS', value: 'anfang-perimeter-alarms:50051' },
      ]),
    );
    expect(envOfComponent('gateway').some((e) => e.name === 'SERVICE_GRPC_ADDR_GATEWAY')).toBe(false);
    expect(envOfComponent('device-ingest').some((e) => e.name.startsWith('SERVICE_GRPC_ADDR_'))).toBe(false);
  });
});

describe('generated key material', () => {
  const objects = parseManifests(render({ valuesFiles: [district] }));

  it('is generated once in the formats the services parse, and kept on uninstall', () => {
    const secret = ofKind(objects, 'Secret').find((s) => s.metadata.name === 'anfang-anfang-keys')!;
    expect(secret.metadata.annotations?.['helm.sh/resource-policy']).toBe('keep');
    const data = secret['data'] as Record<string, string>;
    const text = (key: string) => Buffer.from(data[key]!, 'base64').toString('utf8');
    expect(parseDataKeys(text('data-keys'))).toHaveLength(1);
    expect(decodeKey(text('blind-index-key'))).toHaveLength(32);
    expect(Buffer.byteLength(text('caller-token-key'))).toBeGreaterThanOrEqual(32);
  });

  it('is not rendered when the keys come from an existing Secret', () => {
    const production = parseManifests(render({ valuesFiles: [join(deployDir, 'values-production.yaml')] }));
    expect(ofKind(production, 'Secret')).toEqual([]);
  });
});

describe('bad configuration fails before it reaches a cluster', () => {
  it('names every missing piece of infrastructure', () => {
    const result = helmTemplate();
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/incomplete configuration: postgres\.existingSecret/);
  });

  it.each([
    ['s3.bucket=', 's3.bucket is required'],
    ['redis.existingSecret=', 'redis.existingSecret is required'],
    ['kafka.sasl.mechanism=plain', 'kafka.sasl.existingSecret is required'],
    ['telemetry.otlpEndpoint=', 'telemetry.otlpEndpoint is required'],
    ['postgres.existingSecret=', 'postgres.existingSecret (or components.'],
  ])('names the missing key of an otherwise complete install (%s)', (setting, message) => {
    const result = helmTemplate({ valuesFiles: [district], set: [setting] });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(message);
  });

  it("accepts a component's own database Secret in place of the shared one", () => {
    const objects = parseManifests(
      render({
        valuesFiles: [district],
        set: [
          'postgres.existingSecret=',
          ...BUILT.flatMap((name) => [
            `components.${name}.database.existingSecret=${name}-db`,
            `components.${name}.database.key=url`,
          ]),
        ],
      }),
    );
    const deployments = ofKind(objects, 'Deployment');
    expect(deployments).toHaveLength(BUILT.length);
    for (const deployment of deployments) {
      const url = envOf(deployment).find((v) => v.name === 'DATABASE_URL');
      const service = deployment.metadata.labels?.['app.kubernetes.io/name'];
      expect(url?.valueFrom?.secretKeyRef).toEqual({ name: `${service}-db`, key: 'url' });
    }
  });

  it.each([
    ['a misspelt top-level key', 'kafka.brokrs=k:9092', 'brokrs'],
    ['a misspelt component key', 'components.device-ingest.replica=3', 'replica'],
    ['an unknown component', 'components.ingest.enabled=true', 'ingest'],
    [
      'a secret as a plain setting',
      'components.device-ingest.env.DATABASE_URL=postgres://u:p@h/db',
      'DATABASE_URL',
    ],
    ['a malformed broker list', 'kafka.brokers=kafka', 'brokers'],
  ])('rejects %s through the values schema', (_what, setting, mention) => {
    const result = helmTemplate({ valuesFiles: [district], set: [setting] });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("values don't meet the specifications of the schema");
    expect(result.stderr).toContain(mention);
  });
});

describe('NOTES.txt', () => {
  const copies: string[] = [];
  afterAll(() => {
    for (const dir of copies) rmSync(dir, { recursive: true, force: true });
  });

  /** helm renders NOTES only against a cluster: a copy of the chart renders it into a ConfigMap. */
  function notes(set: string[]): string {
    const dir = mkdtempSync(join(tmpdir(), 'anfang-notes-'));
    copies.push(dir);
    cpSync(chartDir, dir, { recursive: true });
    const text = readFileSync(join(dir, 'templates', 'NOTES.txt'), 'utf8');
    rmSync(join(dir, 'templates', 'NOTES.txt'));
    writeFileSync(join(dir, 'templates', '_notes.tpl'), `{{- define "notes" -}}\n${text}{{- end -}}\n`);
    writeFileSync(
      join(dir, 'templates', 'notes.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: {{ include "notes" . | quote }}\n',
    );
    const objects = parseManifests(render({ chart: dir, valuesFiles: [district], set }));
    return (objects.find((o) => o.metadata.name === 'notes')!['data'] as { notes: string }).notes;
  }

  it('tells what was installed, how to check it and where the dashboard is', () => {
    const text = notes(['components.gateway.enabled=true']);
    expect(text).toContain('device-ingest: anfang-device-ingest.anfang (gRPC 50051, HTTP 8080, device 8088)');
    expect(text).toContain('helm test anfang -n anfang');
    expect(text).toContain('port-forward svc/anfang-gateway 8080:8080');
    expect(text).toContain('Back it up now');
    // Every component is released now: none is listed as not enabled unless switched off.
    expect(text).not.toContain('Not enabled');
    expect(notes(['components.video-index.enabled=false'])).toMatch(/Not enabled: .*video-index/);
  });

  it('says the dashboard needs the gateway while it is disabled', () => {
    expect(notes(['components.gateway.enabled=false'])).toContain('gateway, which is not enabled');
  });
});

describe('a broken copy of the chart', () => {
  const copies: string[] = [];
  afterAll(() => {
    for (const dir of copies) rmSync(dir, { recursive: true, force: true });
  });

  function brokenCopy(file: string, from: string, to: string): string {
    const dir = mkdtempSync(join(tmpdir(), 'anfang-broken-chart-'));
    copies.push(dir);
    cpSync(chartDir, dir, { recursive: true });
    const path = join(dir, file);
    const text = readFileSync(path, 'utf8');
    expect(text).toContain(from);
    writeFileSync(path, text.replace(from, to));
    return dir;
  }

  it('fails strict validation when a template writes a field Kubernetes does not know', () => {
    const chart = brokenCopy(
      'templates/component.yaml',
      'terminationGracePeriodSeconds: {{ $c.terminationGracePeriodSeconds }}',
      'terminationGracePeriod: {{ $c.terminationGracePeriodSeconds }}',
    );
    const manifests = render({ chart, valuesFiles: [district] });
    const result = validate(manifests, KUBERNETES_VERSIONS[0]);
    expect(result.status).not.toBe(0);
    expect(result.stdout + result.stderr).toContain("'terminationGracePeriod' was unexpected");
  });

  it('fails strict validation when a probe carries a field gRPC probes do not have', () => {
    const chart = brokenCopy(
      'templates/component.yaml',
      'service: liveness\n',
      'service: liveness\n              bogus: 1\n',
    );
    const result = validate(render({ chart, valuesFiles: [district] }), KUBERNETES_VERSIONS[1]);
    expect(result.status).not.toBe(0);
  });

  it('fails helm lint --strict when the defaults break the schema', () => {
    const chart = brokenCopy('values.yaml', '    maxReplicas: 6\n', '    maxReplicas: six\n');
    const result = helmLint({ chart, valuesFiles: [district] });
    expect(result.status).not.toBe(0);
    expect(result.stdout + result.stderr).toContain('maxReplicas');
  });
});
