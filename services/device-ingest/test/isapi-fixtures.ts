/**
 * Payloads of the real shapes (see ../shared/protocols/VENDOR-PUSH.md), shared by the unit tests
 * in src/ and the integration tests here: Hikvision alerts (XML, JSON), multipart bodies built the
 * way the devices build them, tiny real JPEGs, and a Dahua TollgateInfo with a base64 NormalPic.
 */
import { readFileSync } from 'node:fs';

const dir = new URL('./fixtures/', import.meta.url);

export function fixture(name: string): Buffer {
  return readFileSync(new URL(name, dir));
}

export const fixtureText = (name: string): string => fixture(name).toString('utf8');

export interface Part {
  readonly name: string;
  readonly filename?: string;
  readonly contentType: string;
  readonly body: Buffer;
}

/**
 * multipart/form-data as Hikvision firmware writes it: `--MIME_boundary`, a Content-Disposition
 * with name (and filename for files), Content-Type and Content-Length per part.
 */
export function multipart(
  parts: readonly Part[],
  boundary = 'MIME_boundary',
): { body: Buffer; contentType: string } {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.filename === undefined ? '' : `; filename="${part.filename}"`}`;
    chunks.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: ${disposition}\r\nContent-Type: ${part.contentType}\r\nContent-Length: ${part.body.length}\r\n\r\n`,
      ),
      part.body,
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

const jpeg = (name: string): Part => ({
  name,
  filename: name,
  contentType: 'image/jpeg',
  body: fixture(`isapi/${name}`),
});

/** An ANPR camera's push: the alert XML and the three pictures named in its pictureInfoList. */
export function anprMultipart(xml = fixtureText('isapi/anpr.xml')): { body: Buffer; contentType: string } {
  return multipart([
    {
      name: 'anpr.xml',
      filename: 'anpr.xml',
      contentType: 'application/xml; charset="UTF-8"',
      body: Buffer.from(xml),
    },
    jpeg('licensePlatePicture.jpg'),
    jpeg('vehiclePicture.jpg'),
    jpeg('detectionPicture.jpg'),
  ]);
}

/** A face capture camera's push: the alert XML, the face crop and the background picture. */
export function faceCaptureMultipart(): { body: Buffer; contentType: string } {
  return multipart([
    {
      name: 'faceCapture',
      filename: 'faceCapture.xml',
      contentType: 'application/xml',
      body: fixture('isapi/face-capture.xml'),
    },
    jpeg('faceImage.jpg'),
    jpeg('backgroundImage.jpg'),
  ]);
}

/** An access terminal's push: the JSON as the `event_log` field and the face as `Picture`. */
export function accessEventMultipart(name = 'isapi/access-face-passed.json'): {
  body: Buffer;
  contentType: string;
} {
  return multipart([
    { name: 'event_log', contentType: 'application/json', body: fixture(name) },
    {
      name: 'Picture',
      filename: 'Picture.jpg',
      contentType: 'image/jpeg',
      body: fixture('isapi/faceImage.jpg'),
    },
  ]);
}

/** Replaces the alert's UUID (and dateTime) so a test can push a fresh event. */
export function withUuid(xml: string, uuid: string, dateTime?: string): string {
  let out = xml.replace(/<UUID>[^<]*<\/UUID>/, `<UUID>${uuid}</UUID>`);
  if (dateTime !== undefined)
    out = out.replace(/<dateTime>[^<]*<\/dateTime>/, `<dateTime>${dateTime}</dateTime>`);
  return out;
}

export function withIp(text: string, ip: string): string {
  return text
    .replace(/<ipAddress>[^<]*<\/ipAddress>/, `<ipAddress>${ip}</ipAddress>`)
    .replace(/"ipAddress": "[^"]*"/, `"ipAddress": "${ip}"`);
}

export function tollgateJson(): Record<string, unknown> {
  return JSON.parse(fixtureText('itsapi/tollgate.json')) as Record<string, unknown>;
}
