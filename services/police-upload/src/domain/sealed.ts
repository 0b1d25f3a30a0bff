/**
 * Personal data sealed in an outbox body until the moment of sending. A field holds
 * `{"$sealed": <ciphertext>, "$aad": <record id>}` — the producer's own ciphertext under the
 * platform's DATA_KEYS — so the upload outbox and its dead letters never hold a name or an ID
 * number in clear; the link opens the fields right before the POST.
 */
import type { Obj } from '@anfang/gat1400';

interface Sealed {
  readonly $sealed: string;
  readonly $aad: string;
}

export const sealedField = (ciphertext: string, aad: string): Sealed => ({ $sealed: ciphertext, $aad: aad });

const isSealed = (v: unknown): v is Sealed =>
  typeof v === 'object' && v !== null && typeof (v as Sealed).$sealed === 'string';

/**
 * The body with every sealed top-level field opened. A field that does not open (`open` returns
 * undefined: a key missing from DATA_KEYS) is left out, so the platform refuses the object and it
 * lands in the dead letters with the platform's reason instead of blocking the outbox.
 */
export function openSealed(body: Obj, open: (ciphertext: string, aad: string) => string | undefined): Obj {
  if (!Object.values(body).some(isSealed)) return body;
  const opened: Obj = {};
  for (const [k, v] of Object.entries(body)) {
    const value = isSealed(v) ? open(v.$sealed, v.$aad) : v;
    if (value !== undefined) opened[k] = value;
  }
  return opened;
}
