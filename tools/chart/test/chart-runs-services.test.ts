/**
 * The chart and the code cannot drift apart: the chart is rendered for the local
 * infrastructure, and every workload it describes — the topic hook Job, then each enabled
 * service — runs as a local process with exactly the rendered environment and ports (secret
 * references resolved from test Secrets, mounted key files written where the mounts point),
 * until each answers SERVING on the health service its readiness probe names.
 *
 * Components run here: device-ingest, plus every service whose package registers itself with
 * the runner (`anfang.main`): a service that lands is covered without editing this test.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createTestBucket,
  createTestDatabase,
  freePort,
  infraEnv,
  type TestBucket,
  type TestDatabase,
} from '@anfang/testing';
import * as contracts from '@anfang/contracts';
import { mintCallerMetadata } from '@anfang/platform/auth';
import { credentials, Client as GrpcClient, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../src/bundle.ts';
import { chartDir, ofKind, parseManifests, parseYamlStream, render, type KubeObject } from './chart.ts';
import { componentOf, podSpecOf, type Container, type PodSpec } from './k8s.ts';
import { runNode, startNode, waitReady, type Started } from './processes.ts';

interface ChartValues {
  componentDefaults: { extraPorts: ExtraPort[] };
  components: Record<string, { extraPorts?: ExtraPort[] }>;
}
interface ExtraPort {
  name: string;
  containerPort: number;
  env?: string;
  servicePort?: number;
}

const chartValues = parseYamlStream(readFileSync(join(chartDir, 'values.yaml'), 'utf8'))[0] as ChartValues;

/** Where the image's WORKDIR points for a component (deploy/docker/Dockerfile). */
function workdirOf(component: string): string {
  return join(repoRoot, 'services', component);
}

function runnable(component: string): boolean {
  const manifest = join(workdirOf(component), 'package.json');
  if (!existsSync(manifest)) return false;
  const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { anfang?: { main?: string } };
  return component === 'device-ingest' || pkg.anfang?.main !== undefined;
}

const components = Object.keys(chartValues.components).filter(runnable);
const RELEASE = 'chart-test';
const secretNames = { databases: 'test-databases', redis: 'test-redis', s3: 'test-s3' };

/** The test's Secrets, as the cluster would hold them: name → key → value. */
type Secrets = Map<string, Record<string, string>>;

function resolveEnv(
  container: Container,
  pod: PodSpec,
  secrets: Secrets,
  scratch: string,
): Record<string, string> {
  // Mounted Secret volumes become files under `scratch`; variables naming the mount path follow.
  const mounts = new Map<string, string>();
  for (const mount of container.volumeMounts ?? []) {
    const volume = pod.volumes?.find((v) => v.name === mount.name);
    if (volume?.emptyDir) {
      mounts.set(mount.mountPath, mkdtempSync(join(scratch, `${mount.name}-`)));
      continue;
    }
    if (!volume?.secret) continue;
    const data = secrets.get(volume.secret.secretName);
    if (!data) throw new Error(`volume ${volume.name}: no test Secret ${volume.secret.secretName}`);
    const dir = mkdtempSync(join(scratch, `${mount.name}-`));
    for (const item of volume.secret.items ?? []) {
      const value = data[item.key];
      if (value === undefined) throw new Error(`Secret ${volume.secret.secretName} has no key ${item.key}`);
      writeFileSync(join(dir, item.path), value);
    }
    mounts.set(mount.mountPath, dir);
  }
  const env: Record<string, string> = {};
  for (const variable of container.env ?? []) {
    const ref = variable.valueFrom?.secretKeyRef;
    if (ref) {
      const value = secrets.get(ref.name)?.[ref.key];
      if (value === undefined)
        throw new Error(`${variable.name}: no key ${ref.key} in test Secret ${ref.name}`);
      env[variable.name] = value;
      continue;
    }
    let value = variable.value ?? '';
    for (const [mountPath, dir] of mounts)
      if (value.startsWith(`${mountPath}/`)) value = dir + value.slice(mountPath.length);
    env[variable.name] = value;
  }
  return env;
}

interface GeneratedService {
  readonly name: string;
  readonly definition: Record<
    string,
    {
      path: string;
      requestStream: boolean;
      responseStream: boolean;
      requestSerialize: (value: object) => Buffer;
    }
  >;
}

/** The generated gRPC service of that full name (the readiness probe's health-service name). */
function generatedService(name: string): GeneratedService | undefined {
  return (Object.values(contracts) as unknown[]).find(
    (value): value is GeneratedService =>
      typeof value === 'object' &&
      value !== null &&
      'definition' in value &&
      (value as { name?: unknown }).name === name,
  );
}

/** One call of the service's first unary method with an empty request: the status code. */
async function callFirstMethod(
  address: string,
  service: GeneratedService,
  metadata: Metadata,
): Promise<status> {
  const method = Object.values(service.definition).find((m) => !m.requestStream && !m.responseStream)!;
  const client = new GrpcClient(address, credentials.createInsecure());
  try {
    return await new Promise<status>((resolve) => {
      client.makeUnaryRequest(
        method.path,
        (value: object) => method.requestSerialize(value),
        (bytes: Buffer) => bytes,
        {},
        metadata,
        { deadline: Date.now() + 10_000 },
        (error: ServiceError | null) => resolve(error ? error.code : status.OK),
      );
    });
  } finally {
    client.close();
  }
}

function secretData(object: KubeObject): Record<string, string> {
  const data = object['data'] as Record<string, string>;
  return Object.fromEntries(
    Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
  );
}

describe(`the chart's workloads, run as local processes (${components.join(', ')})`, () => {
  const scratch = mkdtempSync(join(tmpdir(), 'anfang-chart-run-'));
  const databases = new Map<string, TestDatabase>();
  const started: Started[] = [];
  let bucket: TestBucket;
  let objects: KubeObject[];
  let secrets: Secrets;

  beforeAll(async () => {
    const infra = infraEnv();
    bucket = await createTestBucket('chart-run');
    for (const name of components)
      databases.set(name, await createTestDatabase(`chart_${name.replaceAll('-', '_')}`));

    // Every port is a free one, given to the chart as values: the rendered env carries them.
    const componentValues: Record<string, object> = {};
    for (const name of components) {
      const extraPorts = chartValues.components[name]?.extraPorts ?? chartValues.componentDefaults.extraPorts;
      const remapped: ExtraPort[] = [];
      for (const port of extraPorts) remapped.push({ ...port, containerPort: await freePort() });
      componentValues[name] = {
        enabled: true,
        ports: { grpc: await freePort(), http: await freePort() },
        extraPorts: remapped,
        env: { LOG_LEVEL: 'warn' },
      };
    }
    const s3 = new URL(infra.s3.endpoint);
    objects = parseManifests(
      render({
        release: RELEASE,
        values: {
          kafka: { brokers: infra.kafkaBrokers.join(','), replicationFactor: 1 },
          postgres: { existingSecret: secretNames.databases },
          redis: { existingSecret: secretNames.redis },
          s3: {
            endpoint: s3.origin,
            region: infra.s3.region,
            bucket: bucket.bucket,
            existingSecret: secretNames.s3,
          },
          components: componentValues,
        },
      }),
    );

    secrets = new Map([
      [
        secretNames.databases,
        Object.fromEntries(components.map((name) => [`${name}-database-url`, databases.get(name)!.url])),
      ],
      [secretNames.redis, { 'redis-url': infra.redisUrl }],
      [secretNames.s3, { 'access-key': infra.s3.accessKey, 'secret-key': infra.s3.secretKey }],
    ]);
    // The key material is the chart's own: the Secret it generates on first install.
    for (const secret of ofKind(objects, 'Secret')) secrets.set(secret.metadata.name, secretData(secret));
  });

  afterAll(async () => {
    await Promise.all(started.map((s) => s.stop()));
    for (const database of databases.values()) await database.drop();
    await bucket?.drop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('renders one Deployment per component to run', () => {
    expect(ofKind(objects, 'Deployment').map(componentOf).sort()).toEqual([...components].sort());
  });

  /**
   * Read by the runtime, not by a service's config: Node's flags (heap sizing), the dynamic loader's
   * preload (jemalloc) and the mallocs' settings (glibc's arenas, jemalloc's MALLOC_CONF).
   */
  const RUNTIME_VARIABLES = new Set(['NODE_OPTIONS', 'LD_PRELOAD', 'MALLOC_ARENA_MAX', 'MALLOC_CONF']);

  it('sets only variables each service reads (its config.ts schema or the runtime), and every one it requires', async () => {
    for (const deployment of ofKind(objects, 'Deployment')) {
      const name = componentOf(deployment);
      const module = (await import(join(workdirOf(name), 'src', 'config.ts'))) as {
        configSchema: { shape: Record<string, { safeParse(value: undefined): { success: boolean } }> };
      };
      const shape = module.configSchema.shape;
      const set = (podSpecOf(deployment).containers[0]!.env ?? []).map((v) => v.name);
      const read = (variable: string) =>
        RUNTIME_VARIABLES.has(variable) || variable in shape || variable.replace(/_FILE$/, '') in shape;
      expect(
        set.filter((variable) => !read(variable)),
        `${name} is given variables it never reads`,
      ).toEqual([]);
      const required = Object.keys(shape).filter((key) => !shape[key]!.safeParse(undefined).success);
      const given = new Set(set.map((variable) => variable.replace(/_FILE$/, '')));
      expect(
        required.filter((key) => !given.has(key)),
        `${name} requires variables the chart does not set`,
      ).toEqual([]);
    }
  });

  const jobOf = (component: string) =>
    ofKind(objects, 'Job').filter(
      (job) => job.metadata.labels?.['app.kubernetes.io/component'] === component,
    );

  it('runs the topic hook Job to completion', async () => {
    const [job] = jobOf('topics');
    const pod = podSpecOf(job!);
    const container = pod.containers[0]!;
    const [command, ...args] = container.args ?? [];
    expect(command).toBe('node');
    const run = await runNode(
      args,
      join(repoRoot, 'tools', 'chart'),
      resolveEnv(container, pod, secrets, scratch),
    );
    expect(run.code, run.output).toBe(0);
  });

  it("runs each component's migration hook Job to completion, and again with nothing to do", async () => {
    const jobs = jobOf('migrations');
    expect(jobs.map((job) => job.metadata.labels?.['app.kubernetes.io/name']).sort()).toEqual(
      components.map((name) => `${name}-migrate`).sort(),
    );
    for (const job of jobs) {
      const pod = podSpecOf(job);
      const container = pod.containers[0]!;
      const [command, ...args] = container.args ?? [];
      expect(command).toBe('node');
      const component = job.metadata.labels!['app.kubernetes.io/name']!.replace(/-migrate$/, '');
      const migrate = () => runNode(args, workdirOf(component), resolveEnv(container, pod, secrets, scratch));
      const first = await migrate();
      expect(first.code, first.output).toBe(0);
      expect(first.output).toMatch(
        new RegExp(`${component}: migrations applied \\(platform [1-9]\\d*, ${component} [1-9]`),
      );
      const again = await migrate();
      expect(again.code, again.output).toBe(0);
      expect(again.output).toContain(`${component}: migrations applied (platform 0, ${component} 0)`);
    }
    // Two node processes per component, one after the other: seven components outgrow the default.
  }, 180_000);

  it('starts every service with the rendered configuration until its readiness probe passes', async () => {
    const deployments = ofKind(objects, 'Deployment');
    const runs = deployments.map((deployment) => {
      const pod = podSpecOf(deployment);
      const container = pod.containers[0]!;
      const dir = join(scratch, componentOf(deployment));
      mkdirSync(dir);
      const proc = startNode(['src/main.ts'], workdirOf(componentOf(deployment)), {
        ...resolveEnv(container, pod, secrets, dir),
      });
      started.push(proc);
      return { deployment, container, process: proc };
    });
    for (const { container, process } of runs) {
      const readiness = container.readinessProbe!.grpc!;
      await waitReady(
        process,
        { address: `127.0.0.1:${readiness.port}`, service: readiness.service ?? '' },
        120_000,
      );
      const liveness = container.livenessProbe!.grpc!;
      await waitReady(
        process,
        { address: `127.0.0.1:${liveness.port}`, service: liveness.service ?? '' },
        5_000,
      );
      const http = container.ports!.find((p) => p.name === 'http')!.containerPort;
      expect((await fetch(`http://127.0.0.1:${http}/readyz`)).status).toBe(200);
      const metrics = await fetch(`http://127.0.0.1:${http}/metrics`);
      expect(metrics.status).toBe(200);
      // The dashboard lists components from target_info (the scrape adds the container label).
      expect(await metrics.text()).toMatch(/^target_info\{service_name="[a-z-]+"/m);
    }

    // A component whose chart environment preloads a malloc runs on it (device-ingest: jemalloc)
    // wherever the library is installed: the image installs it; here Debian's redis-server, which
    // the infrastructure launcher installs, brings it.
    const libraries = installedLibraries();
    for (const { deployment, container, process } of runs) {
      const preload = container.env?.find((variable) => variable.name === 'LD_PRELOAD')?.value;
      if (!preload || !libraries.has(preload)) continue;
      const maps = readFileSync(`/proc/${process.child.pid}/maps`, 'utf8');
      expect(maps, `${componentOf(deployment)} runs on its preloaded ${preload}`).toContain(`/${preload}`);
    }

    // Every service verifies callers with the one key the chart distributes: a token signed with
    // it passes authentication everywhere, and every anonymous call is UNAUTHENTICATED (the
    // platform authenticates a call before its handler validates the request).
    const keysSecret = ofKind(objects, 'Secret')[0]!;
    const callerKey = secrets.get(keysSecret.metadata.name)!['caller-token-key']!;
    const signed = await mintCallerMetadata(
      { subject: 'chart-test', role: 'district_admin', compounds: 'all' },
      callerKey,
    );
    for (const { deployment, container } of runs) {
      const readiness = container.readinessProbe!.grpc!;
      const service = generatedService(readiness.service ?? '');
      if (!service) continue;
      const address = `127.0.0.1:${readiness.port}`;
      const name = componentOf(deployment);
      const anonymous = await callFirstMethod(address, service, new Metadata());
      expect(status[anonymous], `${name} to an anonymous call`).toBe('UNAUTHENTICATED');
      const code = await callFirstMethod(address, service, signed);
      expect(
        [status.UNAUTHENTICATED, status.UNAVAILABLE, status.UNIMPLEMENTED],
        `${name} with a token signed by the chart's key: ${status[code]}`,
      ).not.toContain(code);
    }

    // The `helm test` Pod's command, with each Service name resolved to this machine (the
    // Service's port is the container's gRPC port).
    const testPod = ofKind(objects, 'Pod')[0]!;
    const [node, ...testArgs] = podSpecOf(testPod).containers[0]!.args ?? [];
    expect(node).toBe('node');
    const local = testArgs.map((arg) => arg.replace(new RegExp(`^${RELEASE}-[a-z-]+:`), '127.0.0.1:'));
    const helmTest = await runNode(local, join(repoRoot, 'tools', 'chart'), {});
    expect(helmTest.code, helmTest.output).toBe(0);
    expect(helmTest.output.match(/^SERVING /gm)).toHaveLength(runs.length);

    for (const { deployment, process } of runs)
      expect(await process.stop(), `${componentOf(deployment)} exit code after SIGTERM`).toBe(0);
  }, 240_000);
});

/** Shared libraries the dynamic loader finds by soname on this machine (its `ldconfig -p` cache). */
function installedLibraries(): Set<string> {
  let listing = '';
  try {
    listing = execFileSync('/sbin/ldconfig', ['-p'], { encoding: 'utf8' });
  } catch {
    // No ldconfig (not glibc): nothing is known to be installed, nothing is asserted.
  }
  return new Set([...listing.matchAll(/^\s+(\S+) \(/gm)].map((m) => m[1]!));
}
