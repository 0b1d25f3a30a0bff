/**
 * The police's upper platform (视图库) for a local platform: the GA/T 1400 conformance peer,
 * registered with police-upload through the gateway as the police would configure it. The
 * platform password is police-upload's `POLICE_UPLOAD_SECRETS` entry, so it is chosen before the
 * platform starts (`upperPlatformEnv`).
 */
import { newPassword, startGat1400Peer, type Gat1400Peer } from '@anfang/gat1400-peer';
import { waitFor } from '@anfang/testing';
import type { Rest } from './gateway.ts';
import type { LocalPlatform } from './platform.ts';

/** The runner's GA/T id of a local install as a lower platform (the chart's example). */
export const LOWER_ID = '37030300005040000001';
/** The peer's own id (region 370303, 503 = a video-image library). */
export const UPPER_ID = '37030300005030009001';
const PASSWORD_REF = 'e2e-upper';

export interface UpperPlatform {
  readonly peer: Gat1400Peer;
  readonly password: string;
  /** police-upload's /VIID, where the peer sends commands. */
  readonly lowerBase: string;
  readonly credentials: { username: string; password: string };
}

/** The secret police-upload reads the platform's password from. */
export function upperPlatformEnv(password: string): Record<string, string> {
  return { POLICE_UPLOAD_SECRETS: JSON.stringify({ [PASSWORD_REF]: password }) };
}

export const upperPlatformPassword = newPassword;

/** Starts the peer, configures it in police-upload for `compounds` and waits for registration. */
export async function connectUpperPlatform(
  platform: LocalPlatform,
  rest: Rest,
  password: string,
  compounds: readonly string[],
): Promise<UpperPlatform> {
  const peer = await startGat1400Peer({ platformId: UPPER_ID, users: { [LOWER_ID]: password } });
  try {
    await rest('PUT', `/v1/police/platforms/${UPPER_ID}`, {
      platformId: UPPER_ID,
      name: '市公安局视图库 (e2e peer)',
      baseUrl: peer.url,
      username: LOWER_ID,
      passwordRef: PASSWORD_REF,
      compounds,
      keepaliveIntervalS: 5,
      keepaliveMisses: 3,
      enabled: true,
    });
    await waitFor(() => (peer.isRegistered(LOWER_ID) ? true : undefined), {
      timeoutMs: 60_000,
      message: 'police-upload did not register with the peer',
    });
  } catch (error) {
    await peer.close();
    throw error;
  }
  return {
    peer,
    password,
    lowerBase: `${platform.httpUrl('police-upload')}/VIID`,
    credentials: { username: UPPER_ID, password },
  };
}
