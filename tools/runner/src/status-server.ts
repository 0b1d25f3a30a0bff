import { createServer, type Server } from 'node:http';

export interface ComponentStatus {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface PlatformStatus {
  readonly mode: 'embedded' | 'local';
  readonly startedAt: string;
  readonly infrastructure: readonly ComponentStatus[];
  readonly services: readonly ComponentStatus[];
}

/**
 * The runner's own small HTTP face: /healthz, /readyz (503 while starting, when a check fails,
 * and from the moment shutdown begins), /status as JSON, and / as a page for people.
 */
export function startStatusServer(options: {
  port: number;
  status: () => Promise<PlatformStatus>;
  isShuttingDown: () => boolean;
}): Promise<Server> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const send = (code: number, type: string, body: string): void => {
      response.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
      response.end(body);
    };
    if (path === '/healthz') return send(200, 'text/plain', 'ok\n');
    options.status().then(
      (status) => {
        const ready =
          !options.isShuttingDown() && [...status.infrastructure, ...status.services].every((c) => c.ok);
        if (path === '/readyz')
          return send(ready ? 200 : 503, 'text/plain', ready ? 'ready\n' : 'not ready\n');
        if (path === '/status') return send(200, 'application/json', JSON.stringify(status, null, 2));
        if (path === '/') return send(200, 'text/html; charset=utf-8', renderPage(status, ready));
        return send(404, 'text/plain', 'not found\n');
      },
      (error: unknown) => send(500, 'text/plain', `status failed: ${String(error)}\n`),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve(server));
  });
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function renderPage(status: PlatformStatus, ready: boolean): string {
  const rows = (items: readonly ComponentStatus[]): string =>
    items.length === 0
      ? '<tr><td colspan="3"><em>none yet</em></td></tr>'
      : items
          .map(
            (c) =>
              `<tr><td>${escapeHtml(c.name)}</td><td class="${c.ok ? 'ok' : 'bad'}">${c.ok ? 'up' : 'down'}</td><td>${escapeHtml(c.detail)}</td></tr>`,
          )
          .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>Anfang 安防 — ${status.mode}</title><style>
body{font:15px system-ui,sans-serif;margin:2rem;color:#1d2433}table{border-collapse:collapse;margin-bottom:1.5rem;min-width:40rem}
td,th{border-bottom:1px solid #dde;padding:.4rem .8rem;text-align:left}.ok{color:#17803d}.bad{color:#b42318;font-weight:600}
</style></head><body><h1>Anfang 安防</h1>
<p>Mode <b>${status.mode}</b>, started ${escapeHtml(status.startedAt)} — <b class="${ready ? 'ok' : 'bad'}">${ready ? 'ready' : 'not ready'}</b></p>
<h2>Infrastructure</h2><table><tr><th>component</th><th>state</th><th>detail</th></tr>${rows(status.infrastructure)}</table>
<h2>Services</h2><table><tr><th>service</th><th>state</th><th>detail</th></tr>${rows(status.services)}</table>
<p><a href="/status">/status</a> · <a href="/readyz">/readyz</a></p></body></html>`;
}
