/**
 * multipart/form-data as Hikvision devices send it: the alert document first (XML, or JSON on
 * access terminals, as a field or as a file part), then the pictures as file parts named after
 * `pictureInfoList` (`licensePlatePicture.jpg`, …) or `Picture` on terminals. Parsed by busboy
 * with limits on parts, part size and header size, so a hostile body is refused, not buffered.
 */
import busboy from 'busboy';
import { PushRefusal } from './isapi-push.ts';

export interface MultipartPart {
  /** Form field name. */
  readonly name: string;
  /** File name, when the part is a file. */
  readonly filename?: string;
  readonly contentType: string;
  readonly bytes: Buffer;
}

export interface MultipartLimits {
  readonly maxParts: number;
  readonly maxPartBytes: number;
}

export const DEFAULT_MULTIPART_LIMITS: MultipartLimits = { maxParts: 16, maxPartBytes: 8 * 1024 * 1024 };

export function parseMultipart(
  body: Buffer,
  contentType: string,
  limits: MultipartLimits,
): Promise<MultipartPart[]> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: { 'content-type': contentType },
        limits: {
          parts: limits.maxParts,
          files: limits.maxParts,
          fields: limits.maxParts,
          fileSize: limits.maxPartBytes,
          fieldSize: limits.maxPartBytes,
          headerPairs: 32,
        },
      });
    } catch (err) {
      reject(new PushRefusal(400, 'malformed', `malformed multipart: ${(err as Error).message}`));
      return;
    }
    // Slots in arrival order: a file part completes after later fields may have been seen.
    const parts: MultipartPart[] = [];
    let failed: PushRefusal | undefined;
    let pending = 0;
    let closed = false;
    const settle = (): void => {
      if (!closed || pending > 0) return;
      if (failed) reject(failed);
      else if (parts.length === 0) reject(new PushRefusal(400, 'malformed', 'multipart body has no parts'));
      else resolve(parts);
    };
    const fail = (reason: string): void => {
      failed ??= new PushRefusal(400, 'malformed', reason);
    };
    parser.on('file', (name, stream, info) => {
      const chunks: Buffer[] = [];
      const slot = parts.length;
      pending += 1;
      parts.push({ name, contentType: info.mimeType, bytes: Buffer.alloc(0) });
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('limit', () => fail(`multipart part ${name} exceeds ${limits.maxPartBytes} bytes`));
      stream.on('close', () => {
        parts[slot] = {
          name,
          ...(info.filename === undefined ? {} : { filename: info.filename }),
          contentType: info.mimeType,
          bytes: Buffer.concat(chunks),
        };
        pending -= 1;
        settle();
      });
    });
    parser.on('field', (name, value, info) => {
      if (info.valueTruncated) fail(`multipart field ${name} exceeds ${limits.maxPartBytes} bytes`);
      parts.push({ name, contentType: info.mimeType, bytes: Buffer.from(value, 'utf8') });
    });
    parser.on('partsLimit', () => fail(`more than ${limits.maxParts} multipart parts`));
    parser.on('filesLimit', () => fail(`more than ${limits.maxParts} multipart files`));
    parser.on('fieldsLimit', () => fail(`more than ${limits.maxParts} multipart fields`));
    parser.on('error', (err: Error) => {
      fail(`malformed multipart: ${err.message}`);
      reject(failed);
    });
    parser.on('close', () => {
      closed = true;
      settle();
    });
    parser.end(body);
  });
}
