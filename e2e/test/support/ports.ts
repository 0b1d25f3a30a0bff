import { portBaseFrom } from '@anfang/testing';

/** Where the e2e files look for free ports: `ANFANG_E2E_PORT_BASE`, default 21100. */
export const portBase = (): number => portBaseFrom('ANFANG_E2E_PORT_BASE', 21_100);
