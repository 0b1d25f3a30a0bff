/**
 * Pushes queued device commands to Hikvision ISAPI devices: the platform calls the device at its
 * registered address (HTTP Digest with the device's registry secret), right after the command is
 * queued and again every `retryIntervalMs` while it is open. The device's answer is the command's
 * result — `succeeded` or `failed` with the device's reason — recorded through the command store,
 * which publishes the status events as for every other transport (queued → delivered → final).
 *
 * An unreachable or busy device leaves a deferrable command (time sync, access list, reboot)
 * open for the next round until its deadline; a door or barrier opening fails at once instead,
 * as opening minutes later, when nobody is waiting, would be wrong.
 */
import { anfang } from '@anfang/contracts';
import { digestAuthorization } from '@anfang/gat1400';
import type { Logger } from '@anfang/platform/log';
import type { RegisteredDevice } from '../domain/device.ts';
import {
  isapiOutcome,
  isapiRequestsFor,
  type FaceImageRef,
  type IsapiRequest,
} from '../domain/isapi-commands.ts';
import type { CommandStore } from '../store/commands.ts';
import type { DeviceDirectory } from '../ingest/types.ts';
import type { FaceImageRead, FaceImages } from './face-images.ts';

const ISAPI = anfang.device.v1.DeviceProtocol.DEVICE_PROTOCOL_HIKVISION_ISAPI;
const IMMEDIATE = new Set(['openDoor', 'openBarrier']);

export interface IsapiCommandPushOptions {
  /** The devices' ISAPI port (they are registered by address only). Default 80. */
  readonly port?: number;
  readonly scheme?: 'http' | 'https';
  /** Digest user name on the devices; the password is the device's registry secret. */
  readonly username?: string;
  readonly timeoutMs?: number;
  readonly retryIntervalMs?: number;
}

export interface IsapiCommandPusherDeps {
  readonly commands: CommandStore;
  readonly directory: DeviceDirectory;
  readonly logger: Logger;
  readonly options?: IsapiCommandPushOptions;
  /** Where enrolment faces are read; without it an access list with faces fails. */
  readonly faceImages?: FaceImages;
  readonly now?: () => Date;
}

export interface IsapiCommandPusher {
  /** Pushes the device's open commands now, if it is an ISAPI device (serialised per device). */
  push(deviceId: string): Promise<void>;
  /** Pushes every ISAPI device's open commands. */
  sweep(): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

type Sent = { readonly status: number; readonly body: string } | { readonly error: string };

export function createIsapiCommandPusher(deps: IsapiCommandPusherDeps): IsapiCommandPusher {
  const log = deps.logger.child({ component: 'isapi-commands' });
  const options = deps.options ?? {};
  const port = options.port ?? 80;
  const scheme = options.scheme ?? 'http';
  const username = options.username ?? 'admin';
  const timeoutMs = options.timeoutMs ?? 5_000;
  const now = deps.now ?? (() => new Date());
  const running = new Map<string, Promise<void>>();
  let timer: NodeJS.Timeout | undefined;

  const send = async (
    device: RegisteredDevice,
    secret: string,
    request: IsapiRequest,
    image?: Buffer,
  ): Promise<Sent> => {
    const host = device.ipAddress.includes(':') ? `[${device.ipAddress}]` : device.ipAddress;
    const url = `${scheme}://${host}:${port}${request.path}`;
    const multipart = request.contentType === 'multipart/form-data';
    const body = (): string | FormData => {
      if (!multipart) return request.body;
      const form = new FormData();
      form.append('FaceDataRecord', request.body);
      if (image) form.append('img', new Blob([image], { type: 'image/jpeg' }), 'face.jpg');
      return form;
    };
    const call = async (authorization?: string) => {
      const res = await fetch(url, {
        method: request.method,
        headers: {
          // fetch writes a multipart's content type itself (with its boundary).
          ...(multipart ? {} : { 'content-type': request.contentType }),
          ...(authorization ? { authorization } : {}),
        },
        body: body(),
        signal: AbortSignal.timeout(timeoutMs),
      });
      return { res, body: await res.text() };
    };
    try {
      let { res, body } = await call();
      const challenge = res.headers.get('www-authenticate') ?? '';
      if (res.status === 401 && /^digest/i.test(challenge)) {
        ({ res, body } = await call(
          digestAuthorization({ username, secret, method: request.method, uri: request.path, challenge }),
        ));
      }
      return { status: res.status, body };
    } catch (err) {
      return { error: (err as Error).message };
    }
  };

  const readFace = (ref: FaceImageRef): Promise<FaceImageRead> =>
    deps.faceImages?.read(ref) ??
    Promise.resolve({ ok: false, final: true, detail: 'no enrolment face sources are granted' });

  const pushNow = async (deviceId: string): Promise<void> => {
    const device = deps.directory.byId(deviceId);
    if (!device || !device.active || device.protocol !== ISAPI || device.ipAddress === '') return;
    const pending = await deps.commands.deliver(deviceId, { now: now(), compoundId: device.compoundId });
    if (pending.length === 0) return;
    const secret = await deps.directory.secretOf(deviceId);
    for (const { commandId, command } of pending) {
      const kind = String(command['command']);
      const finish = (result: 'succeeded' | 'failed', detail: string) =>
        deps.commands.acknowledge(deviceId, commandId, result, detail, now());
      if (secret === undefined) {
        await finish('failed', 'the device has no credentials in the registry');
        continue;
      }
      const plan = isapiRequestsFor(command, now());
      if ('unsupported' in plan) {
        await finish('failed', plan.unsupported);
        continue;
      }
      let outcome: { result: 'succeeded' | 'failed'; detail: string } | undefined = {
        result: 'succeeded',
        detail: '',
      };
      for (const request of plan.requests) {
        const face = request.image ? await readFace(request.image) : undefined;
        const sent = face && !face.ok ? undefined : await send(device, secret, request, face?.bytes);
        const verdict = !sent
          ? face!
          : 'error' in sent
            ? { ok: false as const, final: false, detail: `unreachable: ${sent.error}` }
            : sent.status === 401
              ? { ok: false as const, final: true, detail: 'HTTP 401: the device refused the credentials' }
              : isapiOutcome(sent.status, sent.body);
        if (verdict.ok) continue;
        const where = `${request.method} ${request.path.split('?')[0]}: ${verdict.detail}`;
        outcome =
          verdict.final || IMMEDIATE.has(kind)
            ? { result: 'failed', detail: where.slice(0, 500) }
            : undefined;
        if (!outcome) log.debug({ deviceId, commandId, detail: where }, 'ISAPI command deferred');
        break;
      }
      if (outcome) {
        await finish(outcome.result, outcome.detail);
        log.info({ deviceId, commandId, kind, ...outcome }, 'ISAPI command pushed');
      }
    }
  };

  const push = (deviceId: string): Promise<void> => {
    const previous = running.get(deviceId) ?? Promise.resolve();
    const next = previous
      .then(() => pushNow(deviceId))
      .catch((err: unknown) => log.warn({ err, deviceId }, 'ISAPI command push failed'))
      .finally(() => {
        if (running.get(deviceId) === next) running.delete(deviceId);
      });
    running.set(deviceId, next);
    return next;
  };

  const sweep = async (): Promise<void> => {
    const ids = await deps.commands.openDeviceIds();
    await Promise.all(ids.filter((id) => deps.directory.byId(id)?.protocol === ISAPI).map(push));
  };

  return {
    push,
    sweep,
    start() {
      timer = setInterval(() => {
        sweep().catch((err: unknown) => log.warn({ err }, 'ISAPI command sweep failed'));
      }, options.retryIntervalMs ?? 15_000);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await Promise.all(running.values());
    },
  };
}
