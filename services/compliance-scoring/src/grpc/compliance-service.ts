/**
 * anfang.compliance.v1.ComplianceService: check the caller, decode and validate, delegate to the
 * stores and the domain. Writes are the district office's; reads are open to the roles that
 * follow compliance, each limited to the compounds its token names.
 */
import { anfang, ComplianceService, timestampFromDate } from '@anfang/contracts';
import {
  compoundScope,
  requireCompound,
  requireRole,
  type Caller,
  type CallerVerifier,
  type Role,
} from '@anfang/platform/auth';
import {
  InvalidArgumentError,
  NotFoundError,
  grpcService,
  importResponse,
  parseCsvUpload,
  type CallContext,
  type GrpcService,
} from '@anfang/platform/grpc';
import type { Pool } from '@anfang/platform/pg';
import {
  acceptanceCsv,
  acceptanceHtml,
  acceptanceReport,
  languageOf,
  type AcceptanceReport,
  type Language,
} from '../domain/acceptance.ts';
import {
  COMPOUND_ID_PATTERN,
  TABLE_OF_CATEGORY,
  compoundViolations,
  isComplete,
  type Compound,
  type CompoundDraft,
  type CompoundInput,
} from '../domain/compound.ts';
import { computeCoverage, type CoverageFigures } from '../domain/coverage.ts';
import { parseCompoundCsv } from '../domain/csv.ts';
import {
  categoryFromProto,
  categoryToProto,
  constructionFromProto,
  constructionToProto,
  groupFromProto,
  groupToProto,
  levelFromProto,
  levelToProto,
  missingToProto,
  requirementToProto,
  tableToProto,
} from '../domain/proto-map.ts';
import { scoreCompound } from '../domain/scoring.ts';
import { addDays, dayIn, districtSummaryCsv, trendPoints } from '../domain/summary.ts';
import { TABLE_VERSIONS, type TableId, type TableRow, type TableVersion } from '../domain/tables.ts';
import type { CompoundStore } from '../store/compounds.ts';
import { importCompoundRows } from '../store/import.ts';
import { compoundSummaries, dailyStandings } from '../store/reports.ts';
import { readCompoundEvidence, type Scorer } from '../store/scores.ts';

const { ReportFormat } = anfang.compliance.v1;

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

/** The compound registry: the district everywhere, a town/street office in its own area. */
const WRITERS: readonly Role[] = ['district_admin', 'street_officer'];
/** A bulk import spans areas, so it stays the district's. */
const IMPORTERS: readonly Role[] = ['district_admin'];
const DISTRICT_READERS: readonly Role[] = [
  'district_admin',
  'street_officer',
  'police',
  'community_manager',
  'auditor',
  'platform_operator',
  'service',
];
const READERS: readonly Role[] = [...DISTRICT_READERS, 'property_staff'];

export interface ComplianceServiceDeps {
  readonly verifier: CallerVerifier;
  readonly compounds: CompoundStore;
  readonly scorer: Scorer;
  /** The table version scores use (reports are made against it too). */
  readonly version: TableVersion;
  /** The year GetCoverage shows when the request names none. */
  readonly targetYear: () => number;
  /** Reports and the trend read here. */
  readonly pool: Pool;
  /** The district's time zone: trend days are its calendar days. */
  readonly timeZone: string;
  readonly now?: () => Date;
}

/** Exported files go out in chunks of this size (well under gRPC's 4 MiB message limit). */
const EXPORT_CHUNK_BYTES = 64 * 1024;
/** The longest trend one request returns: ten years of days. */
const MAX_TREND_DAYS = 3660;

function* fileChunks(
  text: string,
  contentType: string,
  fileName: string,
): Generator<{ chunk: anfang.compliance.v1.ExportedFileChunk.$Properties }> {
  const bytes = Buffer.from(text, 'utf8');
  for (let at = 0; at === 0 || at < bytes.length; at += EXPORT_CHUNK_BYTES)
    yield { chunk: { contentType, fileName, data: bytes.subarray(at, at + EXPORT_CHUNK_BYTES) } };
}

function requireLanguage(value: string | null | undefined): Language {
  const language = languageOf(value);
  if (!language)
    throw new InvalidArgumentError('unknown language', [{ field: 'language', description: '"zh" or "en"' }]);
  return language;
}

/** A request's optional programme-group filter: undefined when unset, refused when unknown. */
function programmeGroupFilter(value: anfang.compliance.v1.ProgrammeGroup | null | undefined) {
  if (!value) return undefined;
  return (
    groupFromProto(value) ??
    (() => {
      throw new InvalidArgumentError('unknown programme_group', [
        { field: 'programme_group', description: 'unknown value' },
      ]);
    })()
  );
}

function requireYear(year: number | null | undefined, current: number): number {
  const chosen = year || current;
  if (chosen < 2000 || chosen > 2100)
    throw new InvalidArgumentError('invalid year', [
      { field: 'year', description: 'between 2000 and 2100, or 0 for the current year' },
    ]);
  return chosen;
}

function configurationRowToProto(row: TableRow): anfang.compliance.v1.ConfigurationRow.$Properties {
  return {
    module: row.module,
    location: row.location,
    locationZh: row.locationZh,
    demonstration: requirementToProto(row.levels.demonstration),
    quality: requirementToProto(row.levels.quality),
    compliant: requirementToProto(row.levels.compliant),
    perBuilding: row.perBuilding,
    evidence: row.evidence,
  };
}

function requireCompoundId(value: string | null | undefined, field = 'compound_id'): string {
  const id = (value ?? '').trim();
  if (!COMPOUND_ID_PATTERN.test(id))
    throw new InvalidArgumentError(`${field} is ${id ? 'not a compound id' : 'required'}`, [
      { field, description: id ? 'letters, digits, "-", "_", "." only, at most 64' : 'required' },
    ]);
  return id;
}

type DateProto = anfang.compliance.v1.CalendarDate.$Properties | null | undefined;

function dateFromProto(date: DateProto): string | undefined {
  if (!date || (!date.year && !date.month && !date.day)) return undefined;
  const pad = (n: number | null | undefined, width: number) => String(n ?? 0).padStart(width, '0');
  return `${pad(date.year, 4)}-${pad(date.month, 2)}-${pad(date.day, 2)}`;
}

/** A request's calendar date that must be a real day. */
function dayFromProto(date: DateProto, field: string): string | undefined {
  const day = dateFromProto(date);
  if (day === undefined) return undefined;
  const parsed = new Date(`${day}T00:00:00Z`);
  if (Number.isNaN(parsed.getTime()) || parsed.toISOString().slice(0, 10) !== day)
    throw new InvalidArgumentError(`invalid ${field}`, [{ field, description: 'not a calendar date' }]);
  return day;
}

function dateToProto(date: string | undefined): anfang.compliance.v1.CalendarDate.$Properties | null {
  if (!date) return null;
  const [year, month, day] = date.split('-').map(Number);
  return { year: year!, month: month!, day: day! };
}

/** The compound of a request, validated; every problem reported at once. */
export function compoundFromProto(
  message: anfang.compliance.v1.Compound.$Properties | null | undefined,
): CompoundInput {
  if (!message)
    throw new InvalidArgumentError('compound is required', [{ field: 'compound', description: 'required' }]);
  const draft: CompoundDraft = {
    compoundId: (message.compoundId ?? '').trim(),
    name: (message.name ?? '').trim(),
    townStreet: (message.townStreet ?? '').trim(),
    neighbourhoodCommittee: (message.neighbourhoodCommittee ?? '').trim(),
    standardAddress: (message.standardAddress ?? '').trim(),
    category: categoryFromProto(message.category),
    programmeGroup: groupFromProto(message.programmeGroup),
    buildingsCount: message.buildingsCount ?? 0,
    unitsCount: message.unitsCount ?? 0,
    buildingCodes: (message.buildingCodes ?? []).map((c) => c.trim()),
    targetLevel: message.targetLevel ? levelFromProto(message.targetLevel) : 'compliant',
    constructionStatus: message.constructionStatus
      ? constructionFromProto(message.constructionStatus)
      : 'planned',
    constructionStartedOn: dateFromProto(message.constructionStartedOn),
    constructionCompletedOn: dateFromProto(message.constructionCompletedOn),
    visualPlatformEnabled: message.visualPlatformEnabled === true,
  };
  const violations = compoundViolations(draft).map((v) => ({
    field: `compound.${v.field}`,
    description: v.description,
  }));
  // A missing or unknown code is among the violations, so a draft without one is complete.
  if (violations.length > 0 || !isComplete(draft))
    throw new InvalidArgumentError(
      `invalid compound: ${violations.map((v) => `${v.field} ${v.description}`).join('; ')}`,
      violations,
      { reason: 'COMPOUND_INVALID' },
    );
  return draft;
}

export function compoundToProto(compound: Compound): anfang.compliance.v1.Compound.$Properties {
  return {
    compoundId: compound.compoundId,
    name: compound.name,
    townStreet: compound.townStreet,
    neighbourhoodCommittee: compound.neighbourhoodCommittee,
    standardAddress: compound.standardAddress,
    category: categoryToProto(compound.category),
    programmeGroup: groupToProto(compound.programmeGroup),
    buildingsCount: compound.buildingsCount,
    unitsCount: compound.unitsCount,
    buildingCodes: [...compound.buildingCodes],
    targetLevel: levelToProto(compound.targetLevel),
    constructionStatus: constructionToProto(compound.constructionStatus),
    constructionStartedOn: dateToProto(compound.constructionStartedOn),
    constructionCompletedOn: dateToProto(compound.constructionCompletedOn),
    visualPlatformEnabled: compound.visualPlatformEnabled,
    table: tableToProto(TABLE_OF_CATEGORY[compound.category]),
    revision: compound.revision,
    updatedAt: timestampFromDate(compound.updatedAt),
  };
}

function pageSize(page: anfang.common.v1.PageRequest.$Properties | null | undefined): number {
  const size = page?.pageSize ?? 0;
  if (size < 0 || size > MAX_PAGE_SIZE)
    throw new InvalidArgumentError('invalid page size', [
      {
        field: 'page.page_size',
        description: `between 0 (default ${DEFAULT_PAGE_SIZE}) and ${MAX_PAGE_SIZE}`,
      },
    ]);
  return size || DEFAULT_PAGE_SIZE;
}

const encodeToken = (value: string) => Buffer.from(value, 'utf8').toString('base64url');
function decodeToken(token: string | null | undefined): string | undefined {
  if (!token) return undefined;
  const value = Buffer.from(token, 'base64url').toString('utf8');
  if (!value)
    throw new InvalidArgumentError('invalid page token', [
      { field: 'page.page_token', description: 'not a token of this list' },
    ]);
  return value;
}

function figuresToProto(f: CoverageFigures): anfang.compliance.v1.CoverageFigures.$Properties {
  return {
    scope: f.scope,
    compounds: f.compounds,
    compliant: f.compliant,
    networked: f.networked,
    coverageRate: f.coverageRate,
    networkingRate: f.networkingRate,
    ...(f.coverageTarget !== undefined ? { coverageTarget: f.coverageTarget } : {}),
    ...(f.networkingTarget !== undefined ? { networkingTarget: f.networkingTarget } : {}),
    byLevel: [
      f.byLevel.unscored,
      f.byLevel.not_compliant,
      f.byLevel.compliant,
      f.byLevel.quality,
      f.byLevel.demonstration,
    ],
  };
}

export function complianceGrpcService(
  deps: ComplianceServiceDeps,
): GrpcService<typeof ComplianceService.definition> {
  const { verifier, compounds, scorer } = deps;

  async function caller(ctx: CallContext, roles: readonly Role[]): Promise<Caller> {
    const who = await verifier.verify(ctx.metadata);
    requireRole(who, ...roles);
    return who;
  }

  async function readableCompound(ctx: CallContext, value: string | null | undefined): Promise<string> {
    const who = await caller(ctx, READERS);
    const id = requireCompoundId(value);
    requireCompound(who, id);
    return id;
  }

  const now = deps.now ?? (() => new Date());

  async function reportOf(id: string): Promise<AcceptanceReport> {
    const compound = await compounds.get(id);
    const evidence = await readCompoundEvidence(deps.pool, id, { lock: false });
    if (!compound || !evidence)
      throw new NotFoundError(`no compound ${id}`, { reason: 'COMPOUND_NOT_FOUND' });
    const score = scoreCompound(deps.version, evidence);
    return acceptanceReport(deps.version.tables[evidence.table], compound, evidence, score, now());
  }

  async function* importCompounds(
    request: anfang.compliance.v1.ImportCompoundsRequest,
    ctx: CallContext,
  ): AsyncGenerator<anfang.compliance.v1.ImportCompoundsResponse.$Properties> {
    await caller(ctx, IMPORTERS);
    const rows = parseCsvUpload(request.csv, parseCompoundCsv);
    for await (const step of importCompoundRows(compounds, rows, ctx.signal))
      yield importResponse(step, (row) => ({ compoundName: row.compoundName }));
  }

  return grpcService(ComplianceService.definition, {
    async createCompound(request, ctx) {
      const who = await caller(ctx, WRITERS);
      const input = compoundFromProto(request.compound);
      requireCompound(who, input.compoundId);
      return { compound: compoundToProto(await compounds.create(input)) };
    },

    async updateCompound(request, ctx) {
      const who = await caller(ctx, WRITERS);
      const input = compoundFromProto(request.compound);
      requireCompound(who, input.compoundId);
      const expected = Number(request.expectedRevision ?? 0);
      return { compound: compoundToProto(await compounds.replace(input, expected || undefined)) };
    },

    async deleteCompound(request, ctx) {
      const who = await caller(ctx, WRITERS);
      const id = requireCompoundId(request.compoundId);
      requireCompound(who, id);
      await compounds.delete(id);
      return {};
    },

    async getCompound(request, ctx) {
      const id = await readableCompound(ctx, request.compoundId);
      const compound = await compounds.get(id);
      if (!compound) throw new NotFoundError(`no compound ${id}`, { reason: 'COMPOUND_NOT_FOUND' });
      return { compound: compoundToProto(compound) };
    },

    async listCompounds(request, ctx) {
      const who = await caller(ctx, READERS);
      const limit = pageSize(request.page);
      const programmeGroup = programmeGroupFilter(request.programmeGroup);
      const only = compoundScope(who);
      const after = decodeToken(request.page?.pageToken);
      const page = await compounds.list({
        limit: limit + 1,
        ...(request.townStreet ? { townStreet: request.townStreet } : {}),
        ...(programmeGroup ? { programmeGroup } : {}),
        ...(only ? { only } : {}),
        ...(after ? { after } : {}),
      });
      const more = page.length > limit;
      const shown = page.slice(0, limit);
      return {
        compounds: shown.map(compoundToProto),
        page: { nextPageToken: more ? encodeToken(shown.at(-1)!.compoundId) : '' },
      };
    },

    importCompounds,

    async getCompoundLevel(request, ctx) {
      const id = await readableCompound(ctx, request.compoundId);
      const score = await scorer.get(id);
      if (!score) throw new NotFoundError(`no compound ${id}`, { reason: 'COMPOUND_NOT_FOUND' });
      return {
        compoundId: id,
        level: levelToProto(score.level),
        table: tableToProto(score.table),
        tableVersion: score.tableVersion,
        levels: score.levels.map((l) => ({
          level: levelToProto(l.level),
          reached: l.reached,
          missing: l.missing.map(missingToProto),
        })),
        missingForNextLevel: score.missingForNextLevel.map(missingToProto),
        recommendedPresent: score.recommendedPresent.map((p) => ({ module: p.module, location: p.location })),
        devicesRequired: score.devicesRequired,
        devicesOnline: score.devicesOnline,
        deviceNetworkingRate: score.deviceNetworkingRate,
        uploadingRealTime: score.uploadingRealTime,
        computedAt: timestampFromDate(score.computedAt),
      };
    },

    async listLevelHistory(request, ctx) {
      const id = await readableCompound(ctx, request.compoundId);
      const limit = pageSize(request.page);
      const token = decodeToken(request.page?.pageToken);
      const before = token === undefined ? undefined : Number(token);
      if (before !== undefined && !Number.isSafeInteger(before))
        throw new InvalidArgumentError('invalid page token', [
          { field: 'page.page_token', description: 'not a token of this list' },
        ]);
      const changes = await scorer.history(id, {
        limit: limit + 1,
        ...(before !== undefined ? { before } : {}),
      });
      const more = changes.length > limit;
      const shown = changes.slice(0, limit);
      return {
        changes: shown.map((c) => ({
          previousLevel: levelToProto(c.previousLevel),
          level: levelToProto(c.level),
          table: tableToProto(c.table),
          tableVersion: c.tableVersion,
          missingForNextLevel: c.missingForNextLevel.map(missingToProto),
          triggerEventId: c.triggerEventId,
          changedAt: timestampFromDate(c.changedAt),
        })),
        page: { nextPageToken: more ? encodeToken(String(shown.at(-1)!.id)) : '' },
      };
    },

    async getCoverage(request, ctx) {
      const who = await caller(ctx, DISTRICT_READERS);
      const year = requireYear(request.year, deps.targetYear());
      const coverage = computeCoverage(year, await scorer.standings(compoundScope(who)));
      return {
        year: coverage.year,
        district: figuresToProto(coverage.district),
        towns: coverage.towns.map(figuresToProto),
        programmeGroups: coverage.programmeGroups.map(figuresToProto),
      };
    },

    async listConfigurationTables(_request, ctx) {
      await verifier.verify(ctx.metadata);
      return {
        versions: TABLE_VERSIONS.map((v) => ({
          version: v.version,
          source: v.source,
          active: v.version === deps.version.version,
          tables: (Object.keys(v.tables) as TableId[]).map((table) => ({
            table: tableToProto(table),
            rows: v.tables[table].map(configurationRowToProto),
          })),
        })),
      };
    },

    async getAcceptanceReport(request, ctx) {
      const report = await reportOf(await readableCompound(ctx, request.compoundId));
      const { score } = report;
      return {
        compound: compoundToProto(report.compound),
        level: levelToProto(score.level),
        table: tableToProto(score.table),
        tableVersion: score.tableVersion,
        rows: report.rows.map((r) => ({
          row: configurationRowToProto(r.row),
          satisfied: r.satisfied,
          evidence: r.findings.map((f) => f.en),
          evidenceZh: r.findings.map((f) => f.zh),
          missing: r.missing.map(missingToProto),
        })),
        levels: score.levels.map((l) => ({
          level: levelToProto(l.level),
          reached: l.reached,
          missing: l.missing.map(missingToProto),
        })),
        devicesRequired: score.devicesRequired,
        devicesOnline: score.devicesOnline,
        uploadingRealTime: score.uploadingRealTime,
        generatedAt: timestampFromDate(report.generatedAt),
      };
    },

    async *exportAcceptanceReport(request, ctx) {
      const id = await readableCompound(ctx, request.compoundId);
      const language = requireLanguage(request.language);
      const html = request.format === ReportFormat.REPORT_FORMAT_HTML;
      if (request.format && request.format !== ReportFormat.REPORT_FORMAT_CSV && !html)
        throw new InvalidArgumentError('unknown format', [{ field: 'format', description: 'CSV or HTML' }]);
      const report = await reportOf(id);
      const base = `acceptance-${id}-${report.generatedAt.toISOString().slice(0, 10)}`;
      yield* html
        ? fileChunks(acceptanceHtml(report, language), 'text/html; charset=utf-8', `${base}.html`)
        : fileChunks(acceptanceCsv(report, language), 'text/csv; charset=utf-8', `${base}.csv`);
    },

    async *exportDistrictSummary(request, ctx) {
      const who = await caller(ctx, DISTRICT_READERS);
      const year = requireYear(request.year, deps.targetYear());
      const language = requireLanguage(request.language);
      const only = compoundScope(who);
      const coverage = computeCoverage(year, await scorer.standings(only));
      const csv = districtSummaryCsv(coverage, await compoundSummaries(deps.pool, only), language);
      yield* fileChunks(
        csv,
        'text/csv; charset=utf-8',
        `district-summary-${year}-${dayIn(deps.timeZone, now())}.csv`,
      );
    },

    async getCoverageTrend(request, ctx) {
      const who = await caller(ctx, DISTRICT_READERS);
      const to = dayFromProto(request.to, 'to') ?? dayIn(deps.timeZone, now());
      const from = dayFromProto(request.from, 'from') ?? addDays(to, -29);
      if (from > to || from < addDays(to, -MAX_TREND_DAYS))
        throw new InvalidArgumentError('invalid range', [
          { field: 'from', description: `on or before "to", at most ${MAX_TREND_DAYS} days before it` },
        ]);
      const programmeGroup = programmeGroupFilter(request.programmeGroup);
      const townStreet = (request.townStreet ?? '').trim() || undefined;
      const only = compoundScope(who);
      const days = await dailyStandings(deps.pool, {
        from,
        to,
        ...(townStreet ? { townStreet } : {}),
        ...(programmeGroup ? { programmeGroup } : {}),
        ...(only ? { only } : {}),
      });
      return {
        scope: townStreet ?? programmeGroup ?? 'district',
        points: trendPoints(days, programmeGroup).map((p) => ({
          date: dateToProto(p.day),
          compounds: p.compounds,
          compliant: p.compliant,
          networked: p.networked,
          coverageRate: p.coverageRate,
          networkingRate: p.networkingRate,
          ...(p.coverageTarget !== undefined ? { coverageTarget: p.coverageTarget } : {}),
          ...(p.networkingTarget !== undefined ? { networkingTarget: p.networkingTarget } : {}),
        })),
      };
    },
  });
}
