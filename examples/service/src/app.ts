import type { IncomingMessage, ServerResponse } from 'node:http';

/** What the build wrote into release.json. */
export interface ReleaseInfo {
  version: string;
  healthy: boolean;
}

/** The service's routes: /health for the platform, / for people. */
export function handler(release: ReleaseInfo, environment: string) {
  return (request: IncomingMessage, response: ServerResponse): void => {
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname === '/health') {
      send(release.healthy ? 200 : 503, { status: release.healthy ? 'ok' : 'unhealthy', version: release.version });
    } else if (url.pathname === '/') {
      send(200, { service: 'hello', version: release.version, environment, message: 'hello from a release shipped by ADOS' });
    } else {
      send(404, { error: `no route ${url.pathname}` });
    }
  };
}
