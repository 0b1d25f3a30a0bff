/**
 * The e2e files' infrastructure of their own (`startOwnInfra` of `@anfang/testing`): a Kafka
 * broker and a Postgres on the first three free ports from `ANFANG_E2E_PORT_BASE` + 1800, above
 * the platforms' blocks of 100 from the base, in the same range.
 */
import { startOwnInfra as start, type OwnInfra } from '@anfang/testing';
import { portBase } from './ports.ts';

export type { OwnInfra, OwnServer } from '@anfang/testing';

export const startOwnInfra = (): Promise<OwnInfra> => start({ portFrom: portBase() + 1_800 });
