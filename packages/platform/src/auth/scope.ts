/**
 * The caller's compound scope as a list-query filter. List queries cannot use
 * {@link hasCompound} row by row, so the scope becomes two SQL parameters: the listed compounds
 * and the caller's areas as LIKE prefixes (area codes are digits only, so nothing needs escaping).
 */
import type { Caller } from './caller.ts';

export interface CompoundScope {
  /** Compound ids the caller may see. */
  readonly compounds: readonly string[];
  /** Standard-address code prefixes: every compound whose id starts with one is in scope. */
  readonly areas: readonly string[];
}

/** The caller's scope; undefined when the caller sees every compound (no filter needed). */
export function compoundScope(caller: Caller): CompoundScope | undefined {
  if (caller.compounds === 'all') return undefined;
  return { compounds: caller.compounds, areas: caller.areas ?? [] };
}

/** True when the compound is in the scope (undefined scope: every compound). */
export function inCompoundScope(scope: CompoundScope | undefined, compoundId: string): boolean {
  return (
    scope === undefined ||
    scope.compounds.includes(compoundId) ||
    scope.areas.some((area) => compoundId.startsWith(area))
  );
}

/**
 * A SQL condition true when `column` is in the scope held by parameters `$first` (compound ids,
 * NULL for every compound) and `$first + 1` (LIKE patterns); pass {@link scopeParams} there.
 */
export function scopeCondition(column: string, first: number): string {
  const ids = `$${first}::text[]`;
  return `(${ids} IS NULL OR ${column} = ANY(${ids}) OR ${column} LIKE ANY($${first + 1}::text[]))`;
}

/** The two parameters of {@link scopeCondition}, in order. */
export function scopeParams(scope: CompoundScope | undefined): [string[] | null, string[]] {
  if (scope === undefined) return [null, []];
  return [[...scope.compounds], scope.areas.map((area) => `${area}%`)];
}
