/**
 * What the two vendor push protocols (Hikvision ISAPI, Dahua ITSAPI) share: telling which
 * registered device sent it (remote address, then what the payload claims),
 * optional HTTP Digest with the device's secret, and refusing with quarantine.
 *
 * Vendor pushes carry no signature, so the device is whoever the registry has at the request's
 * remote address; what the payload says about itself (serial, MAC, IP) must agree with that
 * device, and when the registry holds a secret for it, the request must also prove it by Digest.
 */
import type { Request, Response } from 'express';
import type { RegisteredDevice } from '../../domain/device.ts';
import type { ProtocolName } from '../../ingest/types.ts';
import { rejectRequest, type RejectReason } from '../reject.ts';
import type { ProtocolDeps } from './types.ts';
import {
  formatDigestChallenge,
  newDigestChallenge,
  parseDigestAuthorization,
  verifyDigest,
} from '@anfang/gat1400';

/** A refusal: the status and reason the device gets, and whether the payload is kept. */
export class PushRefusal extends Error {
  override readonly name = 'PushRefusal';
  readonly status: number;
  /** Counted reason (reject.ts RejectReason). */
  readonly reason: RejectReason;
  readonly quarantine: boolean;
  readonly headers: Readonly<Record<string, string>>;
  constructor(
    status: number,
    reason: RejectReason,
    detail: string,
    options: { quarantine?: boolean; headers?: Record<string, string> } = {},
  ) {
    super(detail);
    this.status = status;
    this.reason = reason;
    this.quarantine = options.quarantine ?? true;
    this.headers = options.headers ?? {};
  }
}

/** The peer address without the IPv4-mapped IPv6 prefix. */
export function remoteAddress(req: Request): string {
  const raw = req.ip ?? req.socket.remoteAddress ?? '';
  return raw.startsWith('::ffff:') ? raw.slice(7) : raw;
}

/** The request path as the device sent it (mount prefix included), without the query. */
export function fullPath(req: Request): string {
  return `${req.baseUrl}${req.path}`.replace(/\/+$/, '') || '/';
}

/**
 * The registered device that sent the request: the one at the request's address with the serial
 * (or MAC, for registries that record it as the serial) the payload names, else the only device
 * at that address. Refuses unknown and decommissioned ones.
 */
export function deviceAt(
  deps: ProtocolDeps,
  address: string,
  claimed: ClaimedIdentity = {},
): RegisteredDevice {
  let device: RegisteredDevice | undefined;
  for (const serial of [claimed.serialNumber, claimed.macAddress]) {
    if (serial !== undefined) device ??= deps.directory.byAddress(address, serial);
  }
  device ??= deps.directory.byAddress(address);
  if (device === undefined)
    throw new PushRefusal(403, 'unknown_device', `no registered device at ${address}`);
  if (!device.active)
    throw new PushRefusal(403, 'inactive_device', `device ${device.deviceId} is decommissioned`);
  return device;
}

export interface ClaimedIdentity {
  readonly ipAddress?: string;
  readonly macAddress?: string;
  readonly serialNumber?: string;
}

const MAC = /^[0-9a-f]{12}$/;
const macKey = (value: string): string => value.toLowerCase().replace(/[^0-9a-f]/g, '');

/** What the payload says about its sender must agree with the registered device. */
export function checkClaims(
  deps: ProtocolDeps,
  address: string,
  device: RegisteredDevice,
  claimed: ClaimedIdentity,
): void {
  if (claimed.serialNumber !== undefined) {
    const bySerial = deps.directory.byAddress(address, claimed.serialNumber);
    if (bySerial?.deviceId !== device.deviceId) {
      throw new PushRefusal(
        403,
        'unknown_device',
        `serial ${claimed.serialNumber} is not the device registered at ${address}`,
      );
    }
  }
  if (claimed.ipAddress !== undefined && claimed.ipAddress !== device.ipAddress) {
    throw new PushRefusal(
      403,
      'unknown_device',
      `payload ipAddress ${claimed.ipAddress} is not the registered ${device.ipAddress}`,
    );
  }
  // Registries record either the serial or the MAC as the device's serial number; compare when it is a MAC.
  const registeredMac = macKey(device.serialNumber);
  if (
    claimed.macAddress !== undefined &&
    MAC.test(registeredMac) &&
    macKey(claimed.macAddress) !== registeredMac
  ) {
    throw new PushRefusal(
      403,
      'unknown_device',
      `payload macAddress ${claimed.macAddress} is not the registered device's`,
    );
  }
}

const NONCE_TTL_MS = 5 * 60_000;
export const DIGEST_REALM = 'anfang-device';
const nonceKey = (nonce: string): string => `vendor-digest-nonce:${nonce}`;

/**
 * `required`: a device must prove its registry secret by HTTP Digest (the registry gives every
 * device one; the installer sets it as the device's push credentials). `off`: the address and
 * the payload's serial/MAC/IP alone identify it, for sites whose devices push without
 * authentication (a per-device choice needs a registry field; see the README).
 */
export type DigestMode = 'required' | 'off';

/**
 * HTTP Digest with the device's secret, unless the mode is `off` or the registry holds no secret
 * for the device. A request
 * without credentials gets the challenge (401, not quarantined: that is the handshake). Dahua
 * cameras answer with an empty realm, nonce and qop; that form is accepted (it proves the
 * secret, though not freshness — the address check still applies).
 */
export async function checkDigest(
  req: Request,
  deps: ProtocolDeps,
  device: RegisteredDevice,
  mode: DigestMode,
): Promise<void> {
  if (mode === 'off') return;
  const secret = await deps.directory.secretOf(device.deviceId);
  if (secret === undefined) return;
  const challenge = async (detail: string, quarantine: boolean): Promise<PushRefusal> => {
    const c = newDigestChallenge(DIGEST_REALM);
    await deps.cache.set(nonceKey(c.nonce), device.deviceId, NONCE_TTL_MS);
    return new PushRefusal(401, 'unauthorized', detail, {
      quarantine,
      headers: { 'WWW-Authenticate': formatDigestChallenge(c) },
    });
  };
  const credentials = parseDigestAuthorization(req.headers.authorization);
  if (credentials === undefined) throw await challenge('digest authentication required', false);
  const path = req.originalUrl;
  if (credentials.uri !== path && credentials.uri !== fullPath(req)) {
    throw await challenge(`digest uri ${credentials.uri} is not the request's`, true);
  }
  const emptyVariant = credentials.nonce === '' && credentials.realm === '';
  if (!emptyVariant) {
    if (credentials.realm !== DIGEST_REALM) throw await challenge('digest realm is not ours', true);
    const issuedTo = await deps.cache.get(nonceKey(credentials.nonce));
    if (issuedTo !== device.deviceId) throw await challenge('digest nonce unknown or expired', false);
  }
  if (!verifyDigest(credentials, req.method, secret))
    throw await challenge('digest response does not match', true);
}

/** Sends the refusal through the shared reject path (count, quarantine, answer); never throws. */
export async function refuse(
  deps: ProtocolDeps,
  req: Request,
  res: Response,
  input: {
    protocol: ProtocolName;
    refusal: PushRefusal;
    deviceId?: string;
    send: (res: Response, status: number, detail: string) => void;
  },
): Promise<void> {
  const { refusal } = input;
  for (const [name, value] of Object.entries(refusal.headers)) res.setHeader(name, value);
  await rejectRequest(deps, req, res, {
    protocol: input.protocol,
    status: refusal.status,
    reason: refusal.reason,
    detail: refusal.message,
    deviceId: input.deviceId,
    keep: refusal.quarantine,
    respond: (r) => input.send(r, refusal.status, `${refusal.reason}: ${refusal.message}`),
  });
}
