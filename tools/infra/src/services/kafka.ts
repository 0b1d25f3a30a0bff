import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { ensureCommand } from '../apt.ts';
import { cacheDir, ports, versions } from '../config.ts';
import { commandMatcher } from '../proc.ts';
import { InfraError, type Reporter, runLogged, seconds } from '../progress.ts';
import { installLog, type LaunchSpec, type Service, stateDir, withTimeout } from '../service.ts';

const home = join(cacheDir, 'kafka');
const libsDir = join(home, 'libs');
const stampFile = join(libsDir, '.anfang-stamp');
const dir = stateDir('kafka');
const dataDir = join(dir, 'data');
const propsFile = join(dir, 'server.properties');
const clusterIdFile = join(dir, 'cluster-id');

const jvm = ['-Xmx512m', '-XX:+UseSerialGC', '-XX:+ExitOnOutOfMemoryError', '-Djava.awt.headless=true'];

function pom(): string {
  const dep = (g: string, a: string, v: string) =>
    `    <dependency><groupId>${g}</groupId><artifactId>${a}</artifactId><version>${v}</version></dependency>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by tools/infra: the runtime classpath of a Kafka broker, from Maven Central. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.anfang.infra</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
${dep('org.apache.kafka', `kafka_${versions.scala}`, versions.kafka)}
${dep('org.slf4j', 'slf4j-api', versions.slf4j)}
${dep('org.slf4j', 'slf4j-simple', versions.slf4j)}
  </dependencies>
</project>
`;
}

function stamp(): string {
  return `kafka_${versions.scala}:${versions.kafka} slf4j:${versions.slf4j}\n`;
}

function javaMajor(java: string): number {
  const r = spawnSync(java, ['-version'], { encoding: 'utf8' });
  const m = /version "(\d+)(?:\.(\d+))?/.exec(`${r.stderr}${r.stdout}`);
  if (!m) return 0;
  const major = Number(m[1]);
  return major === 1 ? Number(m[2]) : major;
}

function serverProperties(): string {
  return [
    '# Written by tools/infra on every start; edits are lost.',
    '# Single node KRaft: this process is both broker and controller.',
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${ports.kafkaController}`,
    `listeners=PLAINTEXT://127.0.0.1:${ports.kafka},CONTROLLER://127.0.0.1:${ports.kafkaController}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${ports.kafka}`,
    'inter.broker.listener.name=PLAINTEXT',
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    `log.dirs=${dataDir}`,
    '# Topics are created up front by the code, as in production.',
    'auto.create.topics.enable=false',
    'delete.topic.enable=true',
    'num.partitions=1',
    'default.replication.factor=1',
    'min.insync.replicas=1',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=16',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=16',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    'log.retention.hours=24',
    '',
  ].join('\n');
}

async function fetchJars(report: Reporter): Promise<void> {
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp()) return;
  const log = installLog('kafka');
  await ensureCommand('java', 'openjdk-17-jre-headless', report, log);
  const mvn = await ensureCommand('mvn', 'maven', report, log);
  mkdirSync(home, { recursive: true });
  const pomFile = join(home, 'pom.xml');
  writeFileSync(pomFile, pom());
  // Leftovers of interrupted fetches (we hold the infra lock: nobody else is fetching).
  for (const entry of readdirSync(home))
    if (entry.startsWith('libs.tmp-')) rmSync(join(home, entry), { recursive: true, force: true });
  const tmp = `${libsDir}.tmp-${process.pid}`;
  report.info(`fetching Kafka ${versions.kafka} jars from Maven Central (log: ${log})`);
  let downloads = 0;
  const t0 = Date.now();
  await runLogged({
    cmd: mvn,
    args: [
      '-B',
      '-f',
      pomFile,
      `org.apache.maven.plugins:maven-dependency-plugin:${versions.mavenDependencyPlugin}:copy-dependencies`,
      '-DincludeScope=runtime',
      `-DoutputDirectory=${tmp}`,
    ],
    cwd: home,
    logFile: log,
    onLine: (line) => {
      if (line.includes('Downloaded from')) downloads++;
    },
    heartbeat: {
      report,
      everyMs: 10_000,
      describe: (ms) => `maven: ${downloads} files downloaded so far (${seconds(ms)})`,
    },
    what: `fetching Kafka ${versions.kafka} with maven`,
  });
  rmSync(libsDir, { recursive: true, force: true });
  renameSync(tmp, libsDir);
  writeFileSync(stampFile, stamp());
  report.info(`Kafka jars ready in ${libsDir} (${downloads} downloads, ${seconds(Date.now() - t0)})`);
}

export function kafkaService(): Service {
  return {
    name: 'kafka',
    title: `Kafka ${versions.kafka} (KRaft)`,
    port: ports.kafka,
    extraPorts: [ports.kafkaController],
    stopSignal: 'SIGTERM',
    stopTimeoutMs: 30_000,
    startTimeoutMs: 120_000,
    match: commandMatcher('java', propsFile),
    async install(report) {
      mkdirSync(dir, { recursive: true });
      await fetchJars(report);
      const java = await ensureCommand('java', 'openjdk-17-jre-headless', report, installLog('kafka'));
      const major = javaMajor(java);
      if (major < 17)
        throw new InfraError(`Kafka ${versions.kafka} needs Java 17 or newer; ${java} is ${major}`);
    },
    async prepare(report): Promise<LaunchSpec> {
      mkdirSync(dataDir, { recursive: true });
      writeFileSync(propsFile, serverProperties());
      if (!existsSync(clusterIdFile)) {
        // As Kafka's own Uuid.randomUuid: an id starting with '-' would read as an option to the
        // storage tool (`-t -x…`: "expected one argument"), one fresh state folder in 64.
        let id: string;
        do id = randomBytes(16).toString('base64url');
        while (id.startsWith('-'));
        writeFileSync(clusterIdFile, `${id}\n`);
      }
      const clusterId = readFileSync(clusterIdFile, 'utf8').trim();
      const java = await ensureCommand('java', 'openjdk-17-jre-headless', report, installLog('kafka'));
      const classpath = `${libsDir}/*`;
      if (!existsSync(join(dataDir, 'meta.properties'))) {
        report.info(`formatting KRaft storage (cluster id ${clusterId})`);
        await runLogged({
          cmd: java,
          args: [
            ...jvm,
            '-cp',
            classpath,
            'kafka.tools.StorageTool',
            'format',
            '-t',
            clusterId,
            '-c',
            propsFile,
            '--ignore-formatted',
          ],
          cwd: dir,
          logFile: installLog('kafka'),
          what: 'kafka storage format',
        });
      }
      return {
        cmd: java,
        args: [
          ...jvm,
          '-Dorg.slf4j.simpleLogger.showDateTime=true',
          "-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSS",
          '-cp',
          classpath,
          'kafka.Kafka',
          propsFile,
        ],
        cwd: dir,
      };
    },
    async probe(timeoutMs) {
      const admin = new Kafka({
        clientId: 'anfang-infra',
        brokers: [`127.0.0.1:${ports.kafka}`],
        logLevel: logLevel.NOTHING,
        connectionTimeout: Math.min(timeoutMs, 2000),
        requestTimeout: timeoutMs,
        retry: { retries: 0 },
      }).admin();
      try {
        await withTimeout(
          (async () => {
            await admin.connect();
            const cluster = await admin.describeCluster();
            if (cluster.brokers.length === 0) throw new Error('no broker registered yet');
            // Ready for consumers too: the first group request creates __consumer_offsets, whose
            // coordinators take a while on a fresh broker; tests must not be the ones to wait.
            await admin.describeGroups(['anfang-infra-probe']);
          })(),
          timeoutMs,
          'kafka probe',
        );
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    },
  };
}
