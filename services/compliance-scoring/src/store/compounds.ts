/**
 * The compound registry in Postgres. Every change rescores the compound in the same
 * transaction, so a compound's level always matches its attributes.
 */
import { AbortedError, AlreadyExistsError, NotFoundError } from '@anfang/platform/grpc';
import { scopeCondition, scopeParams, type CompoundScope } from '@anfang/platform/auth';
import { withTransaction, type ClientBase, type Pool } from '@anfang/platform/pg';
import type { Compound, CompoundInput, ProgrammeGroup } from '../domain/compound.ts';
import type { Scorer } from './scores.ts';

interface CompoundRow {
  compound_id: string;
  name: string;
  town_street: string;
  neighbourhood_committee: string;
  standard_address: string;
  category: Compound['category'];
  programme_group: Compound['programmeGroup'];
  buildings_count: number;
  units_count: number;
  building_codes: string[];
  target_level: Compound['targetLevel'];
  construction_status: Compound['constructionStatus'];
  construction_started_on: string | null;
  construction_completed_on: string | null;
  visual_platform_enabled: boolean;
  revision: string;
  updated_at: Date;
}

// Dates as text: a `date` column parsed by node-postgres becomes a local-midnight Date.
const COLUMNS = `compound_id, name, town_street, neighbourhood_committee, standard_address, category,
  programme_group, buildings_count, units_count, building_codes, target_level, construction_status,
  construction_started_on::text AS construction_started_on,
  construction_completed_on::text AS construction_completed_on, visual_platform_enabled, revision, updated_at`;

function fromRow(row: CompoundRow): Compound {
  return {
    compoundId: row.compound_id,
    name: row.name,
    townStreet: row.town_street,
    neighbourhoodCommittee: row.neighbourhood_committee,
    standardAddress: row.standard_address,
    category: row.category,
    programmeGroup: row.programme_group,
    buildingsCount: row.buildings_count,
    unitsCount: row.units_count,
    buildingCodes: row.building_codes,
    targetLevel: row.target_level,
    constructionStatus: row.construction_status,
    constructionStartedOn: row.construction_started_on ?? undefined,
    constructionCompletedOn: row.construction_completed_on ?? undefined,
    visualPlatformEnabled: row.visual_platform_enabled,
    revision: Number(row.revision),
    updatedAt: row.updated_at,
  };
}

function values(input: CompoundInput): unknown[] {
  return [
    input.compoundId,
    input.name,
    input.townStreet,
    input.neighbourhoodCommittee,
    input.standardAddress,
    input.category,
    input.programmeGroup,
    input.buildingsCount,
    input.unitsCount,
    input.buildingCodes,
    input.targetLevel,
    input.constructionStatus,
    input.constructionStartedOn ?? null,
    input.constructionCompletedOn ?? null,
    input.visualPlatformEnabled,
  ];
}

const INSERT = `INSERT INTO compounds (compound_id, name, town_street, neighbourhood_committee,
  standard_address, category, programme_group, buildings_count, units_count, building_codes,
  target_level, construction_status, construction_started_on, construction_completed_on,
  visual_platform_enabled) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`;
/** The attributes a caller sets (everything but the id and bookkeeping). */
const ATTRIBUTES = [
  'name',
  'town_street',
  'neighbourhood_committee',
  'standard_address',
  'category',
  'programme_group',
  'buildings_count',
  'units_count',
  'building_codes',
  'target_level',
  'construction_status',
  'construction_started_on',
  'construction_completed_on',
  'visual_platform_enabled',
] as const;
const SET = `name = $2, town_street = $3, neighbourhood_committee = $4, standard_address = $5,
  category = $6, programme_group = $7, buildings_count = $8, units_count = $9, building_codes = $10,
  target_level = $11, construction_status = $12, construction_started_on = $13,
  construction_completed_on = $14, visual_platform_enabled = $15`;

export interface CompoundFilter {
  readonly townStreet?: string;
  readonly programmeGroup?: ProgrammeGroup;
  /** Only these compounds (the caller's scope); all when undefined. */
  readonly only?: CompoundScope;
  /** Compounds after this id. */
  readonly after?: string;
  readonly limit: number;
}

export type UpsertOutcome = 'created' | 'updated' | 'unchanged';

export interface CompoundStore {
  create(input: CompoundInput): Promise<Compound>;
  replace(input: CompoundInput, expectedRevision?: number): Promise<Compound>;
  /** Creates or replaces (bulk import); a row equal to the stored compound changes nothing. */
  upsert(input: CompoundInput): Promise<UpsertOutcome>;
  delete(compoundId: string): Promise<void>;
  get(compoundId: string): Promise<Compound | undefined>;
  list(filter: CompoundFilter): Promise<Compound[]>;
  count(): Promise<number>;
}

export function createCompoundStore(pool: Pool, scorer: Scorer): CompoundStore {
  const selectOne = async (client: ClientBase | Pool, id: string) => {
    const { rows } = await client.query<CompoundRow>(
      `SELECT ${COLUMNS} FROM compounds WHERE compound_id = $1`,
      [id],
    );
    return rows[0] ? fromRow(rows[0]) : undefined;
  };

  return {
    create: (input) =>
      withTransaction(pool, async (tx) => {
        const inserted = await tx.query(`${INSERT} ON CONFLICT (compound_id) DO NOTHING`, values(input));
        if (inserted.rowCount === 0)
          throw new AlreadyExistsError(`compound ${input.compoundId} exists`, { reason: 'COMPOUND_EXISTS' });
        await scorer.rescore(tx, input.compoundId, '');
        return (await selectOne(tx, input.compoundId))!;
      }),

    replace: (input, expectedRevision) =>
      withTransaction(pool, async (tx) => {
        const { rows } = await tx.query<{ revision: string }>(
          'SELECT revision FROM compounds WHERE compound_id = $1 FOR UPDATE',
          [input.compoundId],
        );
        if (!rows[0])
          throw new NotFoundError(`no compound ${input.compoundId}`, { reason: 'COMPOUND_NOT_FOUND' });
        if (expectedRevision && Number(rows[0].revision) !== expectedRevision)
          throw new AbortedError(
            `compound ${input.compoundId} is at revision ${rows[0].revision}, not ${expectedRevision}`,
            {
              reason: 'REVISION_MISMATCH',
            },
          );
        await tx.query(
          `UPDATE compounds SET ${SET}, revision = revision + 1, updated_at = now() WHERE compound_id = $1`,
          values(input),
        );
        await scorer.rescore(tx, input.compoundId, '');
        return (await selectOne(tx, input.compoundId))!;
      }),

    upsert: (input) =>
      withTransaction(pool, async (tx) => {
        const { rows } = await tx.query<{ created: boolean }>(
          `${INSERT} ON CONFLICT (compound_id) DO UPDATE SET ${SET}, revision = compounds.revision + 1,
             updated_at = now()
           WHERE (${ATTRIBUTES.map((c) => `compounds.${c}`).join(', ')})
             IS DISTINCT FROM (${ATTRIBUTES.map((c) => `excluded.${c}`).join(', ')})
           RETURNING (xmax = 0) AS created`,
          values(input),
        );
        if (!rows[0]) return 'unchanged';
        await scorer.rescore(tx, input.compoundId, '');
        return rows[0].created ? 'created' : 'updated';
      }),

    async delete(compoundId) {
      const { rowCount } = await pool.query('DELETE FROM compounds WHERE compound_id = $1', [compoundId]);
      if (rowCount === 0)
        throw new NotFoundError(`no compound ${compoundId}`, { reason: 'COMPOUND_NOT_FOUND' });
    },

    get: (compoundId) => selectOne(pool, compoundId),

    async list(filter) {
      const where: string[] = [];
      const params: unknown[] = [];
      const add = (clause: string, value: unknown) => {
        params.push(value);
        where.push(clause.replace('?', `$${params.length}`));
      };
      if (filter.townStreet) add('town_street = ?', filter.townStreet);
      if (filter.programmeGroup) add('programme_group = ?', filter.programmeGroup);
      if (filter.only) {
        params.push(...scopeParams(filter.only));
        where.push(scopeCondition('compound_id', params.length - 1));
      }
      if (filter.after) add('compound_id > ?', filter.after);
      params.push(filter.limit);
      const { rows } = await pool.query<CompoundRow>(
        `SELECT ${COLUMNS} FROM compounds ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY compound_id LIMIT $${params.length}`,
        params,
      );
      return rows.map(fromRow);
    },

    async count() {
      const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM compounds');
      return Number(rows[0]!.n);
    },
  };
}
