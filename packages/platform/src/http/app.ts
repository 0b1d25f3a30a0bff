import { createServer, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import express, { type Express, type NextFunction, type Request, type Response, type Router } from 'express';
import {
  SpanKind,
  SpanStatusCode,
  context,
  metrics,
  trace,
  type Context,
  type Span,
} from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_PATH,
  METRIC_HTTP_SERVER_REQUEST_DURATION,
} from '@opentelemetry/semantic-conventions';
import type { Logger } from '../log/index.ts';
import type { Readiness, ReadinessReport } from '../lifecycle/index.ts';
import { DURATION_BUCKETS_SECONDS, TRACER_NAME } from '../telemetry/spans.ts';
import { extractTraceContext, getTelemetry, type MetricsHandler } from '../telemetry/telemetry.ts';
import { problemFromError, sendProblem } from './problem.ts';

export interface HttpAppOptions {
  readonly logger: Logger;
  /** `/readyz` follows it and runs its checks; without it the app is always ready. */
  readonly readiness?: Readiness;
  /** Prometheus handler for `/metrics`; default: the started telemetry's. `false` disables the route. */
  readonly metrics?: MetricsHandler | false;
  /** Largest accepted JSON body. Default `1mb`. */
  readonly bodyLimit?: string | number;
  /** Express `trust proxy` (set it behind the ingress so `req.ip` is the client's). Default false. */
  readonly trustProxy?: boolean | number | string;
  /** Registers the service's routes; they run after parsing, tracing and logging, before the error handler. */
  readonly routes?: (router: Router) => void;
}

const PROBES = new Set(['/healthz', '/readyz', '/metrics']);
const contexts = new WeakMap<Request, Context>();

/**
 * An express 5 app with `/healthz` (liveness: the process answers, nothing else), `/readyz`
 * (readiness: the flag, then every dependency check; 503 from the start of shutdown), `/metrics`,
 * JSON bodies with a limit, a SERVER span and an access-log line per request, and errors as
 * RFC 9457 problem+json without internals.
 */
export function createHttpApp(options: HttpAppOptions): Express {
  const logger = options.logger.child({ component: 'http' });
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', options.trustProxy ?? false);
  app.set('etag', false);

  app.use(observe(logger));

  app.get('/healthz', (_req, res) => {
    res.set('cache-control', 'no-store').json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    res.set('cache-control', 'no-store');
    const readiness = options.readiness;
    if (!readiness) return void res.json({ status: 'ready', checks: {} });
    if (readiness.state !== 'ready') {
      // Starting, or shutting down: no need to ask the dependencies.
      return void res.status(503).json({ status: readiness.state, checks: {} });
    }
    const report = await readiness.check();
    res.status(report.ready ? 200 : 503).json(readyzBody(report));
  });

  if (options.metrics !== false) {
    app.get('/metrics', (req, res) => {
      const handler = options.metrics ?? getTelemetry()?.metricsHandler;
      if (!handler)
        return void sendProblem(res, {
          type: 'about:blank',
          title: 'Not Found',
          status: 404,
          detail: 'metrics are disabled',
        });
      handler(req, res);
    });
  }

  app.use(
    express.json({ limit: options.bodyLimit ?? '1mb', type: ['application/json', 'application/*+json'] }),
    // Body parsing completes in a stream callback, outside the request's context: re-enter it.
    (req: Request, _res: Response, next: NextFunction) => {
      const ctx = contexts.get(req);
      if (ctx) context.with(ctx, next);
      else next();
    },
  );

  const router = express.Router();
  options.routes?.(router);
  app.use(router);

  app.use((req: Request, res: Response) => {
    sendProblem(res, {
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      detail: `no route for ${req.method} ${req.path}`,
    });
  });

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const { problem, internal } = problemFromError(err);
    if (internal) {
      const span = trace.getActiveSpan();
      if (span && err instanceof Error) span.recordException(err);
      logger.error({ err, method: req.method, path: req.path }, 'http handler failed');
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendProblem(res, { ...problem, instance: req.originalUrl.split('?')[0] });
  });

  return app;
}

function readyzBody(report: ReadinessReport): object {
  return {
    status: report.ready ? 'ready' : report.state === 'ready' ? 'not_ready' : report.state,
    checks: Object.fromEntries(
      report.checks.map((c) => [
        c.name,
        { status: c.ok ? 'ok' : 'fail', duration_ms: c.durationMs, ...(c.error ? { error: c.error } : {}) },
      ]),
    ),
    ...(report.ready ? {} : { failing: report.checks.filter((c) => !c.ok).map((c) => c.name) }),
  };
}

/** SERVER span (continuing the caller's trace), access log line and duration histogram. */
function observe(logger: Logger) {
  const tracer = trace.getTracer(TRACER_NAME);
  const duration = metrics.getMeter(TRACER_NAME).createHistogram(METRIC_HTTP_SERVER_REQUEST_DURATION, {
    description: 'Duration of HTTP requests served',
    unit: 's',
    advice: { explicitBucketBoundaries: [...DURATION_BUCKETS_SECONDS] },
  });
  return (req: Request, res: Response, next: NextFunction): void => {
    // Probes (every few seconds from every kubelet and scraper): neither traced, counted nor logged.
    if (PROBES.has(req.path)) return next();
    const started = performance.now();
    const parent = extractTraceContext(req.headers);
    const span: Span = tracer.startSpan(
      req.method,
      {
        kind: SpanKind.SERVER,
        attributes: { [ATTR_HTTP_REQUEST_METHOD]: req.method, [ATTR_URL_PATH]: req.path },
      },
      parent,
    );
    const ctx = trace.setSpan(parent, span);
    contexts.set(req, ctx);
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      const seconds = (performance.now() - started) / 1000;
      const route = req.route ? `${req.baseUrl}${String((req.route as { path: unknown }).path)}` : undefined;
      const aborted = !res.writableFinished;
      const statusCode = res.statusCode;
      span.updateName(route ? `${req.method} ${route}` : req.method);
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, statusCode);
      if (route) span.setAttribute(ATTR_HTTP_ROUTE, route);
      if (statusCode >= 500) {
        span.setAttribute(ATTR_ERROR_TYPE, String(statusCode));
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
      duration.record(seconds, {
        [ATTR_HTTP_REQUEST_METHOD]: req.method,
        [ATTR_HTTP_RESPONSE_STATUS_CODE]: statusCode,
        ...(route ? { [ATTR_HTTP_ROUTE]: route } : {}),
      });
      context.with(ctx, () => {
        const line = {
          method: req.method,
          path: req.path,
          ...(route ? { route } : {}),
          status: statusCode,
          duration_ms: Math.round(seconds * 10_000) / 10,
          remote: req.ip,
          ...(aborted ? { aborted: true } : {}),
        };
        if (statusCode >= 500) logger.error(line, 'http request');
        else logger.info(line, 'http request');
      });
    };
    res.once('finish', finish);
    res.once('close', finish);
    context.with(ctx, next);
  };
}

export interface HttpServer {
  readonly server: Server;
  readonly port: number;
  /**
   * Stops accepting, answers in-flight requests with `Connection: close`, closes idle keep-alive
   * connections, and after `graceMs` (default 10 000) drops what is left.
   */
  close(graceMs?: number): Promise<void>;
}

/** Listens on `port` (0: a free one) and resolves once bound. */
export async function listen(app: Express, port: number, host = '0.0.0.0'): Promise<HttpServer> {
  const server = createServer(app);
  // Behind a cloud or ingress load balancer that keeps upstream connections ~60 s.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  let closing = false;
  const inflight = new Set<ServerResponse>();
  server.prependListener('request', (_req, res) => {
    if (closing) res.setHeader('connection', 'close');
    inflight.add(res);
    res.once('close', () => inflight.delete(res));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  let stopping: Promise<void> | undefined;
  return {
    server,
    port: bound,
    close(graceMs = 10_000) {
      stopping ??= new Promise<void>((resolve) => {
        closing = true;
        // Responses still being prepared tell their client to go: the connection closes after them.
        for (const res of inflight) if (!res.headersSent) res.setHeader('connection', 'close');
        const timer = setTimeout(() => {
          server.closeAllConnections();
          for (const socket of sockets) socket.destroy();
        }, graceMs);
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      });
      return stopping;
    },
  };
}
