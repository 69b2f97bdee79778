import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { handler, type ReleaseInfo } from './app';

const release = JSON.parse(readFileSync(join(__dirname, 'release.json'), 'utf8')) as ReleaseInfo;
const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';
const server = createServer(handler(release, process.env.SERVICE_ENVIRONMENT ?? 'local'));
server.listen(port, host, () => process.stdout.write(`hello ${release.version} listening on ${host}:${port}\n`));

// A stopped release finishes the requests it has accepted, then exits (the platform switched traffic away first).
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
});
