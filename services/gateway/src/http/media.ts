/**
 * `GET /v1/media/{key}`: the dashboard's snapshots (alarm console, event feed, passages).
 * video-index knows each image's compound and checks the caller's scope (another compound's
 * image is 404); the gateway streams the bytes from the short-lived URL it gives, so the browser
 * needs no route to the object store and the page's CSP stays `img-src 'self'`. Face images are
 * personal data: every read of one is audited.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Router } from 'express';
import { anfang, VideoIndexService } from '@anfang/contracts';
import type { CallerTokens } from '@anfang/platform/auth';
import {
  createGrpcClient,
  PermissionDeniedError,
  UnavailableError,
  type GrpcClient,
} from '@anfang/platform/grpc';
import { requireCurrentPassword } from '../auth/sign-in.ts';
import type { AuditEntry } from '../domain/audit-chain.ts';
import { rolesFor } from '../domain/policy.ts';
import { callerOf } from '../domain/principal.ts';
import { auditBase, principalOf } from './context.ts';
import { PURPOSE_HEADER, purposeOf } from './transcode.ts';

export interface MediaDeps {
  /** video-index's gRPC address; undefined when it is not deployed here. */
  readonly address: string | undefined;
  /** The caller tokens of signed-in users (minted once per user and purpose, then reused). */
  readonly callerTokens: CallerTokens;
  readonly deadlineMs: number;
  readonly audit: (entry: AuditEntry) => Promise<unknown>;
}

export function mediaRoutes(router: Router, deps: MediaDeps): { close(): void } {
  const client: GrpcClient<typeof VideoIndexService.definition> | undefined = deps.address
    ? createGrpcClient(VideoIndexService.definition, deps.address, { deadlineMs: deps.deadlineMs })
    : undefined;

  router.get('/v1/media/*key', async (req, res) => {
    const principal = principalOf(res);
    requireCurrentPassword(principal);
    if (!rolesFor('anfang.video.v1.VideoIndexService', 'GetImage', 'GET').includes(principal.role))
      throw new PermissionDeniedError(`role ${principal.role} may not see images`, {
        reason: 'ROLE_NOT_ALLOWED',
      });
    if (!client)
      throw new UnavailableError('video-index is not deployed here', { reason: 'SERVICE_UNAVAILABLE' });
    const objectKey = (req.params as { key: string[] }).key.join('/');
    const purpose = purposeOf(req.get(PURPOSE_HEADER));
    const { image } = await client.getImage(
      { objectKey },
      {
        metadata: await deps.callerTokens.metadata(callerOf(principal, purpose || undefined)),
      },
    );
    const stored = await fetch(image!.url!, { signal: AbortSignal.timeout(deps.deadlineMs) });
    if (!stored.ok || !stored.body)
      throw new UnavailableError('the image store did not answer', { reason: 'MEDIA_UNAVAILABLE' });
    if (image!.imageClass === anfang.video.v1.ImageClass.IMAGE_CLASS_FACES)
      await deps.audit({
        ...auditBase(req, principal),
        action: 'personal-data.read',
        target: `media ${objectKey}`,
        outcome: 'ok',
        purpose,
        details: { compoundId: image!.compoundId ?? '', imageClass: 'faces' },
      });
    res
      .status(200)
      .type(image!.contentType || 'application/octet-stream')
      .set('cache-control', 'private, max-age=300')
      .set('x-content-type-options', 'nosniff');
    Readable.fromWeb(stored.body as WebReadableStream<Uint8Array>).pipe(res);
  });

  return { close: () => client?.close() };
}
