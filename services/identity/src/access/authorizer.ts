/**
 * Authorize: resolves what a reader presented to its candidate holders (cached snapshots),
 * checks a PIN's digits, and takes the decision. Shared by the Authorize RPC and the device
 * event consumer so both decide alike.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { BlindIndex } from '@anfang/platform/crypto';
import {
  CredentialFormatError,
  lookupScope,
  kindLabel,
  lookupValue,
  maskedCredential,
  parsePin,
  verifyPin,
  type CredentialKind,
  type QrSigner,
} from '../domain/credentials.ts';
import { decide, type Decision } from '../domain/decision.ts';
import type { AccessSnapshots, CandidateSnapshot, DoorSnapshot } from '../store/access.ts';

export interface AuthorizeInput {
  readonly deviceId: string;
  readonly kind: CredentialKind;
  /** As presented; personal data: never logged. */
  readonly value: string;
  readonly spoof: boolean;
  readonly at: number;
}

/** A pass through an IN or OUT door of anti-passback groups: where the person is now. */
export interface PresenceChange {
  readonly personId: string;
  readonly doorGroupIds: readonly string[];
  readonly inside: boolean;
}

export interface Authorization {
  readonly decision: Decision;
  /** To record with the pass (only when allowed through an anti-passback door). */
  readonly presenceChange: PresenceChange | undefined;
  readonly door: DoorSnapshot | undefined;
  /** The credential as operators may see it. */
  readonly masked: string;
  /** The blind index of the presented value (watchlists match ID numbers by it). */
  readonly lookupIdx: string | undefined;
}

export interface Authorizer {
  authorize(input: AuthorizeInput): Promise<Authorization>;
}

export interface AuthorizerOptions {
  readonly snapshots: AccessSnapshots;
  readonly blindIndex: BlindIndex;
  readonly qr: QrSigner;
  readonly utcOffsetMinutes: number;
  /** Where persons are in anti-passback groups, from passes recorded at or after `notBefore`. */
  readonly presence: (
    personIds: readonly string[],
    doorGroupIds: readonly string[],
    notBefore: Date,
  ) => Promise<ReadonlyMap<string, boolean>>;
  /** A recorded pass older than this no longer counts for anti-passback. */
  readonly antiPassbackResetMs: number;
}

/** Verified PINs remembered per process, keyed by a keyed hash (never the digits themselves). */
const VERIFIED_PIN_ENTRIES = 10_000;

export function createAuthorizer(options: AuthorizerOptions): Authorizer {
  const { snapshots, blindIndex, qr, utcOffsetMinutes } = options;

  /** Only doors that take part in anti-passback pay for a presence read. */
  const passbackGroups = (door: DoorSnapshot | undefined): readonly string[] =>
    door && (door.direction ?? 'both') !== 'both' ? (door.antiPassbackGroupIds ?? []) : [];
  const pinMemoKey = randomBytes(32);
  const verifiedPins = new Map<string, boolean>();

  // scrypt is deliberately slow; a resident keying the same PIN daily should not pay it daily.
  async function pinMatches(candidate: CandidateSnapshot, digits: string): Promise<boolean> {
    const hash = candidate.credential.pinHash;
    if (!hash) return false;
    const memo = createHmac('sha256', pinMemoKey)
      .update(hash)
      .update('\0')
      .update(digits)
      .digest('base64url');
    const known = verifiedPins.get(memo);
    if (known !== undefined) return known;
    const ok = await verifyPin(digits, hash);
    if (verifiedPins.size >= VERIFIED_PIN_ENTRIES) verifiedPins.delete(verifiedPins.keys().next().value!);
    verifiedPins.set(memo, ok);
    return ok;
  }

  async function candidatesFor(
    input: AuthorizeInput,
    door: DoorSnapshot | undefined,
  ): Promise<{ candidates: CandidateSnapshot[]; masked: string; lookupIdx: string | undefined }> {
    if (input.kind === 'qr') {
      const credentialId = qr.verify(input.value.trim(), input.at);
      if (!credentialId) return { candidates: [], masked: maskedCredential('qr', ''), lookupIdx: undefined };
      return {
        candidates: await snapshots.byCredentialId(credentialId),
        masked: maskedCredential('qr', ''),
        lookupIdx: undefined,
      };
    }
    // A PIN reference means something only within the door's compound.
    if (!door && input.kind === 'pin')
      return { candidates: [], masked: kindLabel('pin'), lookupIdx: undefined };
    let lookupIdx: string;
    let masked: string;
    try {
      lookupIdx = blindIndex(
        lookupValue(input.kind, input.value, door?.compoundId ?? ''),
        lookupScope(input.kind),
      );
      masked = maskedCredential(input.kind, input.value);
    } catch (error) {
      if (error instanceof CredentialFormatError)
        return { candidates: [], masked: kindLabel(input.kind), lookupIdx: undefined };
      throw error;
    }
    let candidates = await snapshots.byLookup(lookupIdx);
    if (input.kind === 'pin') {
      const { digits } = parsePin(input.value);
      const checked = await Promise.all(candidates.map((c) => pinMatches(c, digits)));
      candidates = candidates.filter((_, i) => checked[i]);
    }
    return { candidates, masked, lookupIdx };
  }

  return {
    async authorize(input) {
      const door = await snapshots.door(input.deviceId);
      const { candidates, masked, lookupIdx } = await candidatesFor(input, door);
      const groups = passbackGroups(door);
      const personIds = candidates.flatMap((c) => (c.holder.kind === 'person' ? [c.holder.personId] : []));
      const presence =
        groups.length > 0 && personIds.length > 0
          ? await options.presence(personIds, groups, new Date(input.at - options.antiPassbackResetMs))
          : undefined;
      const decision = decide({
        door,
        candidates,
        spoof: input.spoof,
        at: input.at,
        utcOffsetMinutes,
        ...(presence ? { presence } : {}),
      });
      let presenceChange: PresenceChange | undefined;
      const holder = candidates.find(
        (c) => c.holder.kind === 'person' && c.holder.personId === decision.personId,
      )?.holder;
      if (decision.allowed && door && holder?.kind === 'person' && groups.length > 0) {
        const held = new Set(holder.grants.map((g) => g.doorGroupId));
        const doorGroupIds = groups.filter((g) => held.has(g));
        if (doorGroupIds.length > 0)
          presenceChange = { personId: holder.personId, doorGroupIds, inside: door.direction === 'in' };
      }
      return { decision, presenceChange, door, masked, lookupIdx };
    },
  };
}
