/**
 * Decides on the device events (group `identity`): every face capture at an access reader and
 * every credential presented becomes an access record with its capture images; a failed
 * liveness is a spoof (never a pass) and an access alarm; an ID number or face matching an
 * active watchlist entry is a watchlist hit. A redelivered event is recorded once (its id is
 * marked in the record's transaction).
 */
import { anfang, type topics, type TopicMessage } from '@anfang/contracts';
import { fromTimestamp } from '@anfang/platform/bus';
import type { Authorizer } from '../access/authorizer.ts';
import type { CredentialKind } from '../domain/credentials.ts';
import { credentialKinds, isSpoof } from '../domain/enums.ts';
import type { AccessRecorder, DecisionPathName } from '../store/records.ts';

const { LocalDecision } = anfang.device.v1;
const { DeviceType } = anfang.common.v1;

export type FaceCaptured = TopicMessage<typeof topics.deviceFaceCaptured>;
export type CredentialPresented = TopicMessage<typeof topics.deviceCredentialPresented>;

/**
 * Capture cameras watch, they do not open doors: their faces are checked against watchlists only,
 * by the template the camera matched in its own face library (watchlist templates are loaded
 * onto it); a face it could not match has nothing to compare here.
 */
const isCaptureCamera = (device: anfang.common.v1.IDeviceRef | null | undefined) =>
  device?.deviceType === DeviceType.DEVICE_TYPE_FACE_CAPTURE_CAMERA;

function presented(event: CredentialPresented): { kind: CredentialKind; value: string } | undefined {
  if (event.card) return { kind: 'card', value: event.card.cardNumber ?? '' };
  if (event.idCard) return { kind: 'id_card', value: event.idCard.idNumber ?? '' };
  if (event.pin) return { kind: 'pin', value: event.pin.pin ?? '' };
  if (event.qr) return { kind: 'qr', value: event.qr.token ?? '' };
  if (event.nfc) return { kind: 'nfc', value: event.nfc.token ?? '' };
  return undefined;
}

/** Decided at the moment of the capture: a revocation after it does not rewrite history. */
const occurredAt = (event: FaceCaptured | CredentialPresented): number =>
  fromTimestamp(event.meta?.occurredAt) ?? Date.now();

const pathOf = (local: number | null | undefined): DecisionPathName =>
  local === LocalDecision.LOCAL_DECISION_ALLOWED || local === LocalDecision.LOCAL_DECISION_DENIED
    ? 'device_local'
    : 'event';

export interface DeviceEventHandlers {
  face(event: FaceCaptured, eventId: string): Promise<void>;
  credential(event: CredentialPresented, eventId: string): Promise<void>;
}

export function deviceEventHandlers(options: {
  readonly group: string;
  readonly authorizer: Authorizer;
  readonly recorder: AccessRecorder;
}): DeviceEventHandlers {
  const { group, authorizer, recorder } = options;

  async function onSighting(event: FaceCaptured, eventId: string) {
    const template = event.devicePersonRef?.trim() ?? '';
    if (!template) return;
    await recorder.watch(
      {
        device: event.device ?? {},
        compoundId: event.meta?.compoundId ?? undefined,
        images: event.images ?? [],
        at: occurredAt(event),
        sourceEventId: eventId,
        faceTemplateId: template,
        similarity: event.deviceMatchScore ?? 0,
      },
      { group, eventId },
    );
  }

  async function onFace(event: FaceCaptured, eventId: string) {
    if (isCaptureCamera(event.device)) return onSighting(event, eventId);
    const spoof = isSpoof(event.liveness);
    // The terminal's own match names the enrolled template; without one the face is unknown.
    const template = event.devicePersonRef?.trim() ?? '';
    const deviceId = event.device?.deviceId ?? '';
    const at = occurredAt(event);
    const { decision, door, masked, presenceChange } = await authorizer.authorize({
      deviceId,
      kind: 'face',
      value: template,
      spoof,
      at,
    });
    await recorder.record(
      {
        device: event.device ?? { deviceId },
        doorId: door?.doorId ?? '',
        compoundId: door?.compoundId ?? event.meta?.compoundId ?? undefined,
        credentialType: credentialKinds.toProto('face'),
        masked,
        decision,
        direction: event.direction ?? 0,
        images: event.images ?? [],
        liveness: event.liveness ?? 0,
        path: pathOf(event.localDecision),
        at,
        sourceEventId: eventId,
        ...(presenceChange ? { presence: presenceChange } : {}),
        watch: template ? { faceTemplateId: template, similarity: event.deviceMatchScore ?? 0 } : {},
      },
      { group, eventId },
    );
  }

  async function onCredential(event: CredentialPresented, eventId: string) {
    const what = presented(event);
    const deviceId = event.device?.deviceId ?? '';
    const at = occurredAt(event);
    // Nothing presented decodes as an unknown card: still a refusal worth recording.
    const { decision, door, masked, lookupIdx, presenceChange } = await authorizer.authorize({
      deviceId,
      kind: what?.kind ?? 'card',
      value: what?.value ?? '',
      spoof: false,
      at,
    });
    await recorder.record(
      {
        device: event.device ?? { deviceId },
        doorId: door?.doorId ?? '',
        compoundId: door?.compoundId ?? event.meta?.compoundId ?? undefined,
        credentialType: what ? credentialKinds.toProto(what.kind) : 0,
        masked,
        decision,
        direction: event.direction ?? 0,
        images: event.images ?? [],
        path: pathOf(event.localDecision),
        at,
        sourceEventId: eventId,
        ...(presenceChange ? { presence: presenceChange } : {}),
        watch: what?.kind === 'id_card' && lookupIdx ? { idNumberIdx: lookupIdx } : {},
      },
      { group, eventId },
    );
  }

  return { face: onFace, credential: onCredential };
}
