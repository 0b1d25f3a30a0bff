/**
 * A device as the ingest path sees it: what the registry knows, in the shape the protocol edges
 * need to authenticate a request and to stamp its events. Decided here, stored in store/.
 */
import type { anfang } from '@anfang/contracts';

export type DeviceType = anfang.common.v1.DeviceType;
export type Module = anfang.common.v1.Module;
export type Direction = anfang.common.v1.Direction;
export type DeviceProtocol = anfang.device.v1.DeviceProtocol;

export interface RegisteredDevice {
  /** Platform id (stable, assigned at registration). */
  readonly deviceId: string;
  /** GA/T 1400 / GB/T 28181 20-digit id; empty when the device has none. */
  readonly gat1400Id: string;
  readonly name: string;
  readonly deviceType: DeviceType;
  readonly module: Module;
  /** Standard-address code of the compound. */
  readonly compoundId: string;
  readonly zoneId: string;
  readonly direction: Direction;
  readonly vendor: string;
  readonly model: string;
  readonly serialNumber: string;
  readonly protocol: DeviceProtocol;
  /** Where the device pushes from (vendor protocols identify devices by address and serial). */
  readonly ipAddress: string;
  readonly active: boolean;
}

/** How a request proved which device it came from. */
export type DeviceAuthentication =
  | { readonly kind: 'hmac' }
  | { readonly kind: 'digest' }
  | { readonly kind: 'gat1400-session' }
  | { readonly kind: 'address-and-serial' };
