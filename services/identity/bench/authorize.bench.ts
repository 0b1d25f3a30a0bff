/**
 * identity benchmark (a command, not a test): Authorize throughput and p50/p99 latency with a
 * registry of 50,000 persons and 150,000 credentials, warm (the credentials asked for are in the
 * caches) and cache-miss (every call asks for a credential nobody asked for before, so the
 * decision is loaded from Postgres and written to Redis), beside an Echo RPC served by the same
 * process on the same gRPC stack (platform server, interceptors, caller-token check) in the same
 * run, on the local infrastructure (`./anfang infra up`).
 *
 *   node services/identity/bench/authorize.bench.ts [--persons 50000] [--duration-s 10]
 *        [--concurrency 32] [--warm-set 5000] [--records 300000]
 *
 * The service runs as a child process (src/service.ts with its production defaults, LOG_LEVEL
 * warn) in a fresh database; the registry is written straight into that database in bulk (the
 * same encryption and blind index as the service), since 150,000 RPCs would only measure the
 * seeding. Each scenario is a closed loop at `--concurrency` calls in flight for `--duration-s`.
 * Goals (issue 4): warm p99 ≤ 2 × echo p99 + 5 ms, cache-miss p99 ≤ 20 ms, warm throughput
 * ≥ 0.5 × echo. Figures are printed against them; the command never fails on speed. Then the
 * access-record search over `--records` stored records (newest page, a deep page by token, one
 * person's), beside the same echo figures.
 */
import { fork } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { anfang, EchoService, IdentityService, timestampNow } from '@anfang/contracts';
import { createCallerVerifier, mintCallerMetadata } from '@anfang/platform/auth';
import { createBlindIndex, createFieldCipher, parseDataKeys } from '@anfang/platform/crypto';
import { createGrpcClient, createGrpcServer, encodeToken, grpcService } from '@anfang/platform/grpc';
import { createLogger } from '@anfang/platform/log';
import { createPool } from '@anfang/platform/pg';
import type { RunningService } from '@anfang/platform/service';
import { createTestDatabase, reportGoals, serviceTestEnv } from '@anfang/testing';
import { ID_NUMBER_SCOPE, lookupScope } from '../src/domain/credentials.ts';
import identityService from '../src/service.ts';

const { CredentialType } = anfang.common.v1;
const COMPOUND = '370303001001007';
const UNIT_DOORS = 100;

function options() {
  const { values } = parseArgs({
    options: {
      child: { type: 'boolean', default: false },
      persons: { type: 'string', default: '50000' },
      'duration-s': { type: 'string', default: '10' },
      concurrency: { type: 'string', default: '32' },
      'warm-set': { type: 'string', default: '5000' },
      records: { type: 'string', default: '300000' },
    },
  });
  return {
    child: values.child,
    persons: Number(values.persons),
    durationMs: Number(values['duration-s']) * 1000,
    concurrency: Number(values.concurrency),
    warmSet: Number(values['warm-set']),
    records: Number(values.records),
  };
}

// ---- child: the service and the echo server, one process -------------------------------------

async function runChild(): Promise<void> {
  // eslint-disable-next-line no-restricted-properties -- the bench child is handed its environment
  const env = process.env;
  const logger = createLogger({ service: 'identity-bench', level: 'warn' });
  const service: RunningService = await identityService.start(env, { ownsProcess: false });
  const verifier = createCallerVerifier({ key: env.CALLER_TOKEN_KEY! });
  const echo = await createGrpcServer({
    port: 0,
    logger,
    services: [
      grpcService(EchoService.definition, {
        async echo(request, ctx) {
          // The same caller check every identity RPC makes, so the two differ only in the work.
          await verifier.verify(ctx.metadata);
          return { message: request.message, payload: request.payload, serverTime: timestampNow() };
        },
      }),
    ],
  });
  process.send!({ identity: service.ports.grpc, echo: echo.port });
  process.on('message', () => {
    void echo
      .shutdown()
      .then(() => service.stop('bench done'))
      .then(() => process.exit(0));
  });
}

// ---- parent: seed, drive, report -----------------------------------------------------------------

interface Result {
  readonly calls: number;
  readonly seconds: number;
  readonly rate: number;
  readonly p50: number;
  readonly p99: number;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function closedLoop(
  concurrency: number,
  durationMs: number,
  call: (i: number) => Promise<unknown>,
): Promise<Result> {
  const latencies: number[] = [];
  let next = 0;
  const start = performance.now();
  const end = start + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const i = next++;
        const t = performance.now();
        await call(i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    calls: latencies.length,
    seconds,
    rate: latencies.length / seconds,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
  };
}

async function seed(databaseUrl: string, persons: number, dataKeys: string, blindIndexKey: Buffer) {
  const cipher = createFieldCipher(parseDataKeys(dataKeys));
  const blindIndex = createBlindIndex(blindIndexKey);
  const pool = createPool({ url: databaseUrl, applicationName: 'identity-bench-seed' });
  try {
    await pool.query(
      `INSERT INTO addresses (code, level, name, parent_code, compound_id, full_name) VALUES
         ('370303', 1, '张店区', NULL, NULL, '张店区'),
         ('370303001', 2, '车站街道', '370303', NULL, '张店区车站街道'),
         ('370303001001', 3, '安乐街社区', '370303001', NULL, '张店区车站街道安乐街社区'),
         ($1, 4, '天晓小区', '370303001001', $1, '张店区车站街道安乐街社区天晓小区')`,
      [COMPOUND],
    );
    const gate = randomUUID();
    const gateDevice = randomUUID();
    await pool.query(`INSERT INTO doors VALUES ($1, $2, $2, 'compound_gate', '东门', now())`, [
      gate,
      COMPOUND,
    ]);
    await pool.query('INSERT INTO door_devices VALUES ($1, $2)', [gateDevice, gate]);
    const groups: string[] = [];
    const unitDevices: string[] = [];
    for (let u = 0; u < UNIT_DOORS; u++) {
      const door = randomUUID();
      const group = randomUUID();
      const device = randomUUID();
      await pool.query(`INSERT INTO doors VALUES ($1, $2, $2, 'unit_door', $3, now())`, [
        door,
        COMPOUND,
        `单元门 ${u}`,
      ]);
      await pool.query('INSERT INTO door_devices VALUES ($1, $2)', [device, door]);
      await pool.query('INSERT INTO door_groups VALUES ($1, $2, $3)', [group, COMPOUND, `单元 ${u}`]);
      await pool.query('INSERT INTO door_group_doors VALUES ($1, $2), ($1, $3)', [group, gate, door]);
      groups.push(group);
      unitDevices.push(device);
    }
    const cards: string[] = [];
    const chunk = 5000;
    for (let from = 0; from < persons; from += chunk) {
      const ids: string[] = [];
      const names: string[] = [];
      const idNumbers: string[] = [];
      const idIdx: string[] = [];
      const credIds: string[] = [];
      const credPersons: string[] = [];
      const credKinds: string[] = [];
      const credIdx: string[] = [];
      const grantIds: string[] = [];
      const grantGroups: string[] = [];
      for (let i = from; i < Math.min(persons, from + chunk); i++) {
        const id = randomUUID();
        const idNumber = `370303199001${String(i).padStart(6, '0')}`;
        const card = `C${String(i).padStart(9, '0')}`;
        ids.push(id);
        names.push(cipher.encrypt(`住户${i}`, id));
        idNumbers.push(cipher.encrypt(idNumber, id));
        idIdx.push(blindIndex(idNumber, ID_NUMBER_SCOPE));
        cards.push(card);
        for (const [kind, value] of [
          ['card', card],
          ['nfc', `N${String(i).padStart(9, '0')}`],
          ['id_card', idNumber],
        ] as const) {
          credIds.push(randomUUID());
          credPersons.push(id);
          credKinds.push(kind);
          credIdx.push(blindIndex(value, lookupScope(kind)));
        }
        grantIds.push(randomUUID());
        grantGroups.push(groups[i % UNIT_DOORS]!);
      }
      await pool.query(
        `INSERT INTO persons (person_id, compound_id, name_enc, id_number_enc, id_number_idx, kind)
         SELECT unnest($1::uuid[]), $2, unnest($3::text[]), unnest($4::text[]), unnest($5::text[]), 'owner'`,
        [ids, COMPOUND, names, idNumbers, idIdx],
      );
      await pool.query(
        `INSERT INTO credentials (credential_id, person_id, kind, lookup_idx, masked)
         SELECT unnest($1::uuid[]), unnest($2::uuid[]), unnest($3::text[]), unnest($4::text[]), '卡'`,
        [credIds, credPersons, credKinds, credIdx],
      );
      await pool.query(
        `INSERT INTO grants (grant_id, person_id, door_group_id, role, valid_from)
         SELECT unnest($1::uuid[]), unnest($2::uuid[]), unnest($3::uuid[]), 'resident', now() - interval '1 day'`,
        [grantIds, ids, grantGroups],
      );
    }
    await pool.query('ANALYZE');
    return { gateDevice, unitDevices, cards };
  } finally {
    await pool.end();
  }
}

/**
 * Stored access records, 30 s apart going back from now, over the seeded persons and the unit
 * doors (one in ten refused), as the service's recorder writes them. Returns a deep page token
 * (the keyset position of the middle record) and some person ids.
 */
async function seedRecords(databaseUrl: string, count: number) {
  const pool = createPool({ url: databaseUrl, applicationName: 'identity-bench-records' });
  try {
    const { rows } = await pool.query<{ persons: string[]; doors: string[] }>(
      `SELECT (SELECT array_agg(person_id) FROM (SELECT person_id FROM persons LIMIT 10000) p) AS persons,
              (SELECT array_agg(door_id) FROM doors) AS doors`,
    );
    const { persons, doors } = rows[0]!;
    await pool.query(
      `INSERT INTO access_records (record_id, occurred_at, compound_id, door_id, device_id, device, person_id,
         role, credential_type, credential_masked, allowed, reason, direction, snapshot_key, path)
       SELECT gen_random_uuid(), now() - g * interval '30 seconds', $1,
              ($3::uuid[])[1 + g % cardinality($3::uuid[])], 'bench', '\\x'::bytea,
              ($2::uuid[])[1 + g % cardinality($2::uuid[])], 1, 1, '卡 ****0001', g % 10 <> 0,
              CASE WHEN g % 10 <> 0 THEN 'granted' ELSE 'no_grant' END, 0,
              'device-ingest/captures/' || g || '.jpg', 2
         FROM generate_series(1, $4) g`,
      [COMPOUND, persons, doors, count],
    );
    await pool.query('ANALYZE access_records');
    const middle = await pool.query<{ occurred_at: Date; record_id: string }>(
      `SELECT occurred_at, record_id FROM access_records WHERE compound_id = $1
        ORDER BY occurred_at DESC, record_id DESC OFFSET $2 LIMIT 1`,
      [COMPOUND, Math.floor(count / 2)],
    );
    const at = middle.rows[0]!;
    return {
      deepToken: encodeToken([at.occurred_at.getTime(), at.record_id]),
      persons,
    };
  } finally {
    await pool.end();
  }
}

async function runParent(): Promise<void> {
  const o = options();
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const db = await createTestDatabase('identity_bench');
  const dataKeys = `k1:${randomBytes(32).toString('base64')}`;
  const blindIndexKey = randomBytes(32);
  const callerKey = randomBytes(32).toString('base64url');
  const env = serviceTestEnv({
    service: 'identity',
    databaseUrl: db.url,
    bucket: 'unused',
    extra: {
      OTEL_SERVICE_NAME: `identity-bench-${randomUUID().slice(0, 8)}`,
      DATA_KEYS: dataKeys,
      BLIND_INDEX_KEY: blindIndexKey.toString('base64'),
      CALLER_TOKEN_KEY: callerKey,
    },
  });
  const child = fork(import.meta.filename, ['--child'], {
    env: { ...env, PATH: env.PATH ?? '' },
    stdio: 'inherit',
  });
  try {
    const ports = await new Promise<{ identity: number; echo: number }>((resolve, reject) => {
      child.once('message', (m) => resolve(m as { identity: number; echo: number }));
      child.once('exit', (code) => reject(new Error(`service child exited with ${code}`)));
    });
    log(`seeding ${o.persons} persons, ${o.persons * 3} credentials, ${UNIT_DOORS + 1} doors …`);
    const site = await seed(db.url, o.persons, dataKeys, blindIndexKey);
    log(`seeding ${o.records} access records …`);
    const stored = await seedRecords(db.url, o.records);

    const metadata = await mintCallerMetadata(
      { subject: 'svc:bench', role: 'service', compounds: 'all' },
      callerKey,
      {
        ttlSeconds: 3600,
      },
    );
    const identity = createGrpcClient(IdentityService.definition, `127.0.0.1:${ports.identity}`, {
      deadlineMs: 10_000,
    });
    const echo = createGrpcClient(EchoService.definition, `127.0.0.1:${ports.echo}`, { deadlineMs: 10_000 });
    const deviceFor = (i: number) => site.unitDevices[i % UNIT_DOORS]!;
    const authorize = (card: number) =>
      identity.authorize(
        {
          deviceId: deviceFor(card),
          credentialType: CredentialType.CREDENTIAL_TYPE_CARD,
          credentialValue: site.cards[card]!,
        },
        { metadata },
      );

    // Warm-up: connections, JIT, and the warm working set in every cache layer.
    for (let i = 0; i < o.warmSet; i += o.concurrency)
      await Promise.all(
        Array.from({ length: Math.min(o.concurrency, o.warmSet - i) }, (_, k) => authorize(i + k)),
      );
    const check = await authorize(0);
    if (check.decision !== anfang.identity.v1.AccessDecision.ACCESS_DECISION_ALLOWED)
      throw new Error(`bench setup: a seeded resident was refused (reason ${check.reason})`);
    await closedLoop(o.concurrency, 1000, () => echo.echo({ message: 'warm-up' }, { metadata }));

    log(`echo: ${o.durationMs / 1000} s at ${o.concurrency} in flight …`);
    const echoResult = await closedLoop(o.concurrency, o.durationMs, () =>
      echo.echo({ message: 'ping' }, { metadata }),
    );
    log('Authorize warm …');
    const warm = await closedLoop(o.concurrency, o.durationMs, (i) => authorize(i % o.warmSet));
    log('Authorize cache-miss …');
    let unseen = o.warmSet;
    const missDurationMs = Math.min(o.durationMs, 60_000);
    const miss = await closedLoop(o.concurrency, missDurationMs, () => {
      if (unseen >= site.cards.length) unseen = o.warmSet; // wrapped: later calls may hit
      return authorize(unseen++);
    });
    log('Authorize cache-miss, one call in flight …');
    const missAlone = await closedLoop(1, Math.min(o.durationMs, 5000), () => {
      if (unseen >= site.cards.length) unseen = o.warmSet;
      return authorize(unseen++);
    });
    const missExhausted = unseen - o.warmSet >= site.cards.length - o.warmSet;

    // Record search as the compound's property staff reads it (masked, 50 a page).
    const reader = await mintCallerMetadata(
      { subject: 'bench-staff', role: 'property_staff', compounds: [COMPOUND] },
      callerKey,
      { ttlSeconds: 3600 },
    );
    const search = (request: Partial<anfang.identity.v1.ListAccessRecordsRequest.$Properties>) =>
      identity.listAccessRecords(
        { compoundId: COMPOUND, page: { pageSize: 50 }, ...request },
        { metadata: reader },
      );
    const searchMs = Math.min(o.durationMs, 5000);
    log('ListAccessRecords newest page …');
    const newest = await closedLoop(o.concurrency, searchMs, () => search({}));
    log('ListAccessRecords deep page …');
    const deep = await closedLoop(o.concurrency, searchMs, () =>
      search({ page: { pageSize: 50, pageToken: stored.deepToken } }),
    );
    log('ListAccessRecords by person …');
    const byPerson = await closedLoop(o.concurrency, searchMs, (i) =>
      search({ personId: stored.persons[i % stored.persons.length]! }),
    );

    const fmt = (n: number, digits = 0) =>
      n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
    const row = (name: string, r: Result) =>
      `${name.padEnd(22)} ${fmt(r.calls).padStart(9)} ${fmt(r.rate).padStart(10)} ${fmt(r.p50, 2).padStart(9)} ${fmt(r.p99, 2).padStart(9)}`;
    const lines = [
      '',
      `identity Authorize — ${fmt(o.persons)} persons, ${fmt(o.persons * 3)} credentials, concurrency ${o.concurrency}, ${o.durationMs / 1000} s each`,
      `${'scenario'.padEnd(22)} ${'calls'.padStart(9)} ${'calls/s'.padStart(10)} ${'p50 ms'.padStart(9)} ${'p99 ms'.padStart(9)}`,
      row('echo (same stack)', echoResult),
      row('Authorize warm', warm),
      row('Authorize cache-miss', miss),
      row('  … one in flight', missAlone),
      `ListAccessRecords (50 a page, names decrypted and masked) over ${fmt(o.records)} stored records, ${searchMs / 1000} s each`,
      row('  newest page', newest),
      row('  deep page (token)', deep),
      row('  by person', byPerson),
      '',
    ];
    process.stdout.write(lines.join('\n'));
    const echoBaseline = { label: 'Echo on the same stack', value: echoResult.p99 };
    reportGoals('authorize', [
      {
        figure: `Authorize warm p99, ${o.concurrency} in flight`,
        value: warm.p99,
        unit: 'ms',
        baseline: echoBaseline,
        goal: '≤ 2 × echo p99 + 5 ms',
        met: warm.p99 <= 2 * echoResult.p99 + 5,
      },
      {
        figure: 'Authorize warm throughput',
        value: warm.rate,
        unit: 'calls/s',
        baseline: { label: 'Echo', value: echoResult.rate },
        goal: '≥ 0.5 × echo',
        met: warm.rate >= 0.5 * echoResult.rate,
      },
      {
        figure: `Authorize cache-miss p99, ${o.concurrency} in flight${missExhausted ? ' (unseen credentials ran out)' : ''}`,
        value: miss.p99,
        unit: 'ms',
        baseline: echoBaseline,
        goal: '≤ 20 ms',
        met: miss.p99 <= 20,
      },
      {
        figure: 'Authorize cache-miss p99, one in flight',
        value: missAlone.p99,
        unit: 'ms',
        baseline: echoBaseline,
        goal: '≤ 20 ms',
        met: missAlone.p99 <= 20,
      },
    ]);
    identity.close();
    echo.close();
  } finally {
    child.send('stop');
    await new Promise((resolve) => {
      child.once('exit', resolve);
      setTimeout(() => {
        child.kill();
        resolve(undefined);
      }, 30_000).unref();
    });
    await db.drop();
  }
}

if (options().child) await runChild();
else await runParent();
