/**
 * anfang.compliance.v1.ComplianceService: check the caller, decode and validate, delegate to the
 * stores and the domain. Writes are the district office's; reads are open to the roles that
 * follow compliance, each limited to the compounds its token names.
 */
import { ComplianceService, timestampFromDate, type anfang } from '@anfang/contracts';
import {
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
  parseCsvUpload,
  type CallContext,
  type GrpcService,
} from '@anfang/platform/grpc';
import type { Logger } from '@anfang/platform/log';
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
import { TABLE_VERSIONS, type TableId } from '../domain/tables.ts';
import type { CompoundStore } from '../store/compounds.ts';
import { importCompoundRows } from '../store/import.ts';
import type { Scorer } from '../store/scores.ts';

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

const WRITERS: readonly Role[] = ['district_admin'];
const READERS: readonly Role[] = [
  'district_admin',
  'police',
  'community_manager',
  'property_staff',
  'service',
];
const DISTRICT_READERS: readonly Role[] = ['district_admin', 'police', 'community_manager', 'service'];

export interface ComplianceServiceDeps {
  readonly verifier: CallerVerifier;
  readonly compounds: CompoundStore;
  readonly scorer: Scorer;
  readonly activeVersion: string;
  /** The year GetCoverage shows when the request names none. */
  readonly targetYear: () => number;
  readonly logger: Logger;
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
  const log = deps.logger.child({ component: 'compliance-grpc' });

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

  const scopeOf = (who: Caller) => (who.compounds === 'all' ? undefined : who.compounds);

  async function* importCompounds(
    request: anfang.compliance.v1.ImportCompoundsRequest,
    ctx: CallContext,
  ): AsyncGenerator<anfang.compliance.v1.ImportCompoundsResponse.$Properties> {
    await caller(ctx, WRITERS);
    const rows = parseCsvUpload(request.csv, parseCompoundCsv);
    for await (const progress of importCompoundRows(compounds, rows, {
      signal: ctx.signal,
      onRowError: (line, err) => log.error({ err, line }, 'compound import row failed'),
    }))
      yield {
        processed: progress.processed,
        total: progress.total,
        created: progress.created,
        updated: progress.updated,
        unchanged: progress.unchanged,
        failed: progress.failed,
        done: progress.done,
        errors: progress.errors.map((e) => ({
          line: e.line,
          compoundName: e.compoundName,
          violations: [...e.violations],
        })),
      };
  }

  return grpcService(ComplianceService.definition, {
    async createCompound(request, ctx) {
      await caller(ctx, WRITERS);
      return { compound: compoundToProto(await compounds.create(compoundFromProto(request.compound))) };
    },

    async updateCompound(request, ctx) {
      await caller(ctx, WRITERS);
      const input = compoundFromProto(request.compound);
      const expected = Number(request.expectedRevision ?? 0);
      return { compound: compoundToProto(await compounds.replace(input, expected || undefined)) };
    },

    async deleteCompound(request, ctx) {
      await caller(ctx, WRITERS);
      await compounds.delete(requireCompoundId(request.compoundId));
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
      let programmeGroup;
      if (request.programmeGroup) {
        programmeGroup = groupFromProto(request.programmeGroup);
        if (!programmeGroup)
          throw new InvalidArgumentError('unknown programme_group', [
            { field: 'programme_group', description: 'unknown value' },
          ]);
      }
      const only = scopeOf(who);
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
      const year = request.year || deps.targetYear();
      if (year < 2000 || year > 2100)
        throw new InvalidArgumentError('invalid year', [
          { field: 'year', description: 'between 2000 and 2100, or 0 for the current year' },
        ]);
      const coverage = computeCoverage(year, await scorer.standings(scopeOf(who)));
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
          active: v.version === deps.activeVersion,
          tables: (Object.keys(v.tables) as TableId[]).map((table) => ({
            table: tableToProto(table),
            rows: v.tables[table].map((row) => ({
              module: row.module,
              location: row.location,
              locationZh: row.locationZh,
              demonstration: requirementToProto(row.levels.demonstration),
              quality: requirementToProto(row.levels.quality),
              compliant: requirementToProto(row.levels.compliant),
              perBuilding: row.perBuilding,
              evidence: row.evidence,
            })),
          })),
        })),
      };
    },
  });
}
