/**
 * Connecting to a secured Temporal (shared/node/temporal-connection.ts, config keys TEMPORAL_TLS*, TEMPORAL_API_KEY):
 * what each setup turns into, the half-made setups refused with the variable to fix, and a real TLS handshake against
 * a local HTTP/2 server with its own CA that demands a client certificate (mTLS), through both the client's Connection
 * and the workers' NativeConnection.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { ConfigError, loadTemporalSecurityConfig } from '../../shared/node/config';
import { describeTemporalSecurity, temporalConnectionOptions } from '../../shared/node/temporal-connection';
import { cleanEnv, runAdosCli } from '../helpers/processes';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ados-tls-'));
const file = (name: string) => path.join(dir, name);
const ADDRESS = { temporalAddress: 'temporal.example.com:7233' };

function openssl(args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
}

/** A CA, a server certificate for temporal.test and a client certificate, both signed by the CA. */
function makeCertificates(): void {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=ADOS test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
  for (const [name, cn, ext] of [
    ['server', 'temporal.test', 'subjectAltName=DNS:temporal.test\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE'],
    ['client', 'ados-worker', 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE'],
  ]) {
    fs.writeFileSync(file(`${name}.ext`), `${ext}\n`);
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`]);
  }
  fs.writeFileSync(file('not-pem.txt'), 'hello\n');
}

beforeAll(makeCertificates);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('loadTemporalSecurityConfig + temporalConnectionOptions', () => {
  it('is plaintext with nothing set: the address alone', () => {
    const security = loadTemporalSecurityConfig({});
    expect(security.tls).toBe(false);
    expect(temporalConnectionOptions(ADDRESS, security)).toEqual({ address: ADDRESS.temporalAddress });
    expect(describeTemporalSecurity(security)).toBe('plaintext');
  });

  it('TEMPORAL_TLS=1 alone: TLS with the system roots', () => {
    expect(temporalConnectionOptions(ADDRESS, loadTemporalSecurityConfig({ TEMPORAL_TLS: '1' }))).toEqual({ address: ADDRESS.temporalAddress, tls: {} });
  });

  it('an API key turns TLS on and is passed on', () => {
    const security = loadTemporalSecurityConfig({ TEMPORAL_API_KEY: 'key-123' });
    expect(temporalConnectionOptions(ADDRESS, security)).toEqual({ address: ADDRESS.temporalAddress, tls: {}, apiKey: 'key-123' });
    expect(describeTemporalSecurity(security)).toBe('TLS, API key');
  });

  it('mTLS: the CA, the client pair and the server name, read from their PEM files', () => {
    const security = loadTemporalSecurityConfig({
      TEMPORAL_TLS_CERT: file('client.pem'),
      TEMPORAL_TLS_KEY: file('client.key'),
      TEMPORAL_TLS_CA: file('ca.pem'),
      TEMPORAL_TLS_SERVER_NAME: 'temporal.test',
    });
    const options = temporalConnectionOptions(ADDRESS, security);
    expect(options.tls?.serverNameOverride).toBe('temporal.test');
    expect(Buffer.from(options.tls!.serverRootCACertificate!).equals(fs.readFileSync(file('ca.pem')))).toBe(true);
    expect(Buffer.from(options.tls!.clientCertPair!.crt).equals(fs.readFileSync(file('client.pem')))).toBe(true);
    expect(Buffer.from(options.tls!.clientCertPair!.key).equals(fs.readFileSync(file('client.key')))).toBe(true);
    expect(describeTemporalSecurity(security)).toBe(`mTLS, CA ${file('ca.pem')}, server name temporal.test`);
  });

  it('refuses a certificate without its key, and a key without its certificate, naming the missing variable', () => {
    expect(() => loadTemporalSecurityConfig({ TEMPORAL_TLS_CERT: file('client.pem') })).toThrow(ConfigError);
    expect(() => loadTemporalSecurityConfig({ TEMPORAL_TLS_CERT: file('client.pem') })).toThrow(/TEMPORAL_TLS_KEY="": must be set when TEMPORAL_TLS_CERT is/);
    expect(() => loadTemporalSecurityConfig({ TEMPORAL_TLS_KEY: file('client.key') })).toThrow(/TEMPORAL_TLS_CERT="": must be set when TEMPORAL_TLS_KEY is/);
  });

  it('refuses TEMPORAL_TLS=0 together with settings that need TLS', () => {
    expect(() => loadTemporalSecurityConfig({ TEMPORAL_TLS: '0', TEMPORAL_TLS_CA: file('ca.pem'), TEMPORAL_API_KEY: 'k' })).toThrow(
      /TEMPORAL_TLS="0": contradicts TEMPORAL_TLS_CA, TEMPORAL_API_KEY/,
    );
  });

  it('refuses bad values: a TLS switch other than 0/1, a server name with a port, an API key with spaces', () => {
    expect(() => loadTemporalSecurityConfig({ TEMPORAL_TLS: 'yes' })).toThrow(/TEMPORAL_TLS="yes": must be 1 \(TLS\) or 0/);
    expect(() => loadTemporalSecurityConfig({ TEMPORAL_TLS_SERVER_NAME: 'temporal.test:7233' })).toThrow(/TEMPORAL_TLS_SERVER_NAME="temporal.test:7233": must be a host name/);
    expect(() => loadTemporalSecurityConfig({ TEMPORAL_API_KEY: 'two words' })).toThrow(/TEMPORAL_API_KEY="two words": must be the API key itself/);
  });

  it('names the variable of a file it cannot read, or of one that is not PEM', () => {
    expect(() => temporalConnectionOptions(ADDRESS, loadTemporalSecurityConfig({ TEMPORAL_TLS_CA: file('missing.pem') }))).toThrow(
      new RegExp(`TEMPORAL_TLS_CA="${file('missing.pem')}": cannot read the file \\(ENOENT\\)`),
    );
    expect(() => temporalConnectionOptions(ADDRESS, loadTemporalSecurityConfig({ TEMPORAL_TLS_CA: file('not-pem.txt') }))).toThrow(/TEMPORAL_TLS_CA=.*not a PEM file/);
  });
});

describe('the ados CLI with a half-made TLS setup', () => {
  it('exits 2 before connecting, naming the variable to set', async () => {
    const result = await runAdosCli(['run', 'status', 'delivery-acme-x', '--tenant', 'acme'], cleanEnv({ TEMPORAL_ADDRESS: '127.0.0.1:1', TEMPORAL_TLS_CERT: file('client.pem') }));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('TEMPORAL_TLS_KEY="": must be set when TEMPORAL_TLS_CERT is');
    expect(result.stderr).not.toContain('Temporal unreachable');
  });
});

describe('a real mTLS handshake (a local HTTP/2 server with its own CA, demanding a client certificate)', () => {
  let server: http2.Http2SecureServer;
  let address: string;
  const seen: Array<{ path: string; clientCn: string | undefined; authorization: string | undefined }> = [];

  beforeAll(async () => {
    server = http2.createSecureServer({
      key: fs.readFileSync(file('server.key')),
      cert: fs.readFileSync(file('server.pem')),
      ca: fs.readFileSync(file('ca.pem')),
      requestCert: true,
      rejectUnauthorized: true,
    });
    // Every gRPC call gets an empty message and status OK: enough for the connection's GetSystemInfo check.
    server.on('stream', (stream, headers) => {
      const peer = (stream.session?.socket as TLSSocket | undefined)?.getPeerCertificate();
      seen.push({ path: String(headers[':path']), clientCn: peer?.subject ? String(peer.subject.CN) : undefined, authorization: headers.authorization === undefined ? undefined : String(headers.authorization) });
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.from([0, 0, 0, 0, 0]));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const mtls = () =>
    loadTemporalSecurityConfig({
      TEMPORAL_TLS_CERT: file('client.pem'),
      TEMPORAL_TLS_KEY: file('client.key'),
      TEMPORAL_TLS_CA: file('ca.pem'),
      TEMPORAL_TLS_SERVER_NAME: 'temporal.test',
      TEMPORAL_API_KEY: 'key-123',
    });

  it("the client's Connection presents the client certificate and the API key", async () => {
    seen.length = 0;
    const connection = await Connection.connect({ ...temporalConnectionOptions({ temporalAddress: address }, mtls()), connectTimeout: '5s' });
    await connection.close();
    expect(seen[0]).toEqual({ path: '/temporal.api.workflowservice.v1.WorkflowService/GetSystemInfo', clientCn: 'ados-worker', authorization: 'Bearer key-123' });
  });

  it("the workers' NativeConnection does the same", async () => {
    seen.length = 0;
    const connection = await NativeConnection.connect(temporalConnectionOptions({ temporalAddress: address }, mtls()));
    await connection.close();
    expect(seen[0]).toMatchObject({ path: '/temporal.api.workflowservice.v1.WorkflowService/GetSystemInfo', clientCn: 'ados-worker', authorization: 'Bearer key-123' });
  });

  it('without the client certificate the server refuses the handshake', async () => {
    seen.length = 0;
    const withoutClientCert = loadTemporalSecurityConfig({ TEMPORAL_TLS_CA: file('ca.pem'), TEMPORAL_TLS_SERVER_NAME: 'temporal.test' });
    await expect(Connection.connect({ ...temporalConnectionOptions({ temporalAddress: address }, withoutClientCert), connectTimeout: '3s' })).rejects.toThrow();
    expect(seen).toEqual([]);
  });

  it('with the wrong server name the client refuses the server', async () => {
    seen.length = 0;
    const wrongName = loadTemporalSecurityConfig({ TEMPORAL_TLS_CERT: file('client.pem'), TEMPORAL_TLS_KEY: file('client.key'), TEMPORAL_TLS_CA: file('ca.pem'), TEMPORAL_TLS_SERVER_NAME: 'other.test' });
    await expect(Connection.connect({ ...temporalConnectionOptions({ temporalAddress: address }, wrongName), connectTimeout: '3s' })).rejects.toThrow();
    expect(seen).toEqual([]);
  });
});
