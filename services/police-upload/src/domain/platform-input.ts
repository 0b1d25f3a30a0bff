/**
 * Validation of an upper platform as an operator submits it (pure): every problem named with its
 * field, so UpdatePlatform answers INVALID_ARGUMENT with all of them at once.
 */
import { isGat1400Id } from '@anfang/gat1400';
import type { Platform } from '../store/platforms.ts';

export const OBJECT_KINDS = ['faces', 'motorVehicles', 'persons', 'apes'] as const;
/** The regional community extensions built here (the city document decides which it wants). */
export const EXTENSIONS = ['doorDevices', 'personInfos', 'houseInfos', 'carInfos'] as const;

export interface PlatformInput {
  platformId?: string | null;
  name?: string | null;
  baseUrl?: string | null;
  username?: string | null;
  passwordRef?: string | null;
  tlsCaPem?: string | null;
  objectKinds?: string[] | null;
  compounds?: string[] | null;
  includeIdNumbers?: boolean | null;
  extensions?: string[] | null;
  keepaliveIntervalS?: number | null;
  keepaliveMisses?: number | null;
  enabled?: boolean | null;
}

export interface Violation {
  readonly field: string;
  readonly description: string;
}

export function validatePlatform(input: PlatformInput): { platform: Platform } | { violations: Violation[] } {
  const v: Violation[] = [];
  const add = (field: string, description: string) => v.push({ field, description });
  const platformId = input.platformId ?? '';
  if (!isGat1400Id(platformId)) add('platform.platform_id', 'must be the 20-digit GA/T 1400 id');
  const baseUrl = input.baseUrl ?? '';
  try {
    const url = new URL(baseUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      add('platform.base_url', 'must be http or https');
    if (url.username || url.password)
      add('platform.base_url', 'must not carry credentials (use password_ref)');
  } catch {
    add('platform.base_url', 'must be an absolute URL');
  }
  const username = input.username ?? '';
  if (!username || username.length > 64) add('platform.username', 'required, at most 64 characters');
  const passwordRef = input.passwordRef ?? '';
  if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/.test(passwordRef))
    add('platform.password_ref', 'the name of a secret: letters, digits, . _ -');
  const tlsCaPem = input.tlsCaPem ?? '';
  if (tlsCaPem && !tlsCaPem.includes('-----BEGIN CERTIFICATE-----'))
    add('platform.tls_ca_pem', 'must be a PEM certificate');
  const objectKinds = input.objectKinds?.length ? input.objectKinds : ['faces', 'motorVehicles'];
  for (const k of objectKinds)
    if (!(OBJECT_KINDS as readonly string[]).includes(k))
      add('platform.object_kinds', `${k} is not one of ${OBJECT_KINDS.join(', ')}`);
  const extensions = input.extensions ?? [];
  for (const e of extensions)
    if (!(EXTENSIONS as readonly string[]).includes(e))
      add('platform.extensions', `${e} is not one of ${EXTENSIONS.join(', ')}`);
  const compounds = input.compounds ?? [];
  for (const c of compounds)
    if (!/^[0-9A-Za-z-]{1,64}$/.test(c)) add('platform.compounds', `${c} is not a compound id`);
  const keepaliveIntervalS = input.keepaliveIntervalS || 60;
  if (keepaliveIntervalS < 1 || keepaliveIntervalS > 3600)
    add('platform.keepalive_interval_s', 'from 1 to 3600');
  const keepaliveMisses = input.keepaliveMisses || 3;
  if (keepaliveMisses < 1 || keepaliveMisses > 100) add('platform.keepalive_misses', 'from 1 to 100');
  if (v.length > 0) return { violations: v };
  return {
    platform: {
      platformId,
      name: (input.name ?? '').slice(0, 200),
      baseUrl,
      username,
      passwordRef,
      tlsCaPem,
      objectKinds: [...new Set(objectKinds)],
      compounds: [...new Set(compounds)],
      includeIdNumbers: input.includeIdNumbers ?? false,
      extensions: [...new Set(extensions)],
      keepaliveIntervalS,
      keepaliveMisses,
      enabled: input.enabled ?? false,
    },
  };
}
