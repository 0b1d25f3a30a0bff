/**
 * Device command delivery states and their transitions. A command is queued when it arrives,
 * delivered (possibly again) in the device's heartbeat responses until the device acknowledges
 * it (succeeded or failed), and expires when its deadline passes first.
 */
export type CommandState = 'queued' | 'delivered' | 'succeeded' | 'failed' | 'expired' | 'rejected';

export const OPEN_STATES: readonly CommandState[] = ['queued', 'delivered'];

export function isOpen(state: CommandState): boolean {
  return state === 'queued' || state === 'delivered';
}

/** The result a device reports in its acknowledgement. */
export type CommandResult = 'succeeded' | 'failed';

/** Whether an acknowledgement applies: only to open commands (an acked command stays as it is). */
export function canAcknowledge(state: CommandState): boolean {
  return isOpen(state);
}

export function isExpired(expiresAt: Date | null | undefined, now: Date): boolean {
  return !!expiresAt && expiresAt.getTime() <= now.getTime();
}

/** anfang.device.v1.CommandStatus values by state. */
export const COMMAND_STATUS_VALUE: Record<CommandState, number> = {
  queued: 1,
  delivered: 2,
  succeeded: 3,
  failed: 4,
  expired: 5,
  rejected: 6,
};

/** The oneof case of a DeviceCommand (open_door, open_barrier, time_sync, access_list_update, reboot). */
export type CommandKind = 'openDoor' | 'openBarrier' | 'timeSync' | 'accessListUpdate' | 'reboot';

export const COMMAND_KINDS: readonly CommandKind[] = [
  'openDoor',
  'openBarrier',
  'timeSync',
  'accessListUpdate',
  'reboot',
];

/** Default lifetime of a command without its own deadline. */
export const DEFAULT_COMMAND_TTL_MS = 24 * 3600 * 1000;
