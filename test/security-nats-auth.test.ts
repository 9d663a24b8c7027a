/**
 * Each way a service can authenticate to NATS (nkey seed, token, password,
 * operator-mode credentials, TLS client certificate), the secret given
 * through a `*_FILE` variable where one exists, with the real `walrus` command.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WALRUS_BIN } from '@walrus/cli/launch';
import { jetstreamManager } from '@nats-io/jetstream';
import * as jwt from '@nats-io/jwt';
import { connect, credsAuthenticator, nkeys } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, registerCleanup, startNats } from './harness/mod.js';
import { startWalrus, type WalrusProcess } from './harness/walrus-process.js';
import { defined } from './harness/defined.js';

let dir: string;
const procs: WalrusProcess[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'walrus-test-natsauth-'));
  registerCleanup(async () => rmSync(dir, { recursive: true, force: true }));
});
afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  await cleanupAll();
});

/** A decider needs only NATS: the quickest service to prove a connection works. */
async function deciderStarts(env: Record<string, string>, secret: string): Promise<void> {
  const p = startWalrus(['decider'], env);
  procs.push(p);
  await p.waitForLog((l) => l.msg === 'started', 'the decider started', 60_000);
  expect(p.stdout() + p.stderr()).not.toContain(secret);
}

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

// Independent servers and processes: run side by side.
describe.concurrent('security - NATS authentication methods', () => {
  it('connects with an nkey seed from NATS_NKEY_SEED_FILE', async () => {
    const user = nkeys.createUser();
    const seed = new TextDecoder().decode(user.getSeed());
    const nats = await startNats({ config: `authorization { users = [ { nkey: "${user.getPublicKey()}" } ] }` });
    writeFileSync(join(dir, 'seed'), `${seed}\n`, { mode: 0o600 });
    await deciderStarts({ NATS_URL: nats.url, NATS_NKEY_SEED_FILE: join(dir, 'seed') }, seed);
  });

  it('walrus nats-config --nkeys: the server keeps only public keys, a service connects with its seed', async () => {
    const out = join(dir, 'nkeys');
    execFileSync(process.execPath, [WALRUS_BIN, 'nats-config', '--nkeys', '--out', out], {
      env: { PATH: process.env.PATH ?? '', WALRUS_CLUSTERS: 'a=postgres://walrus@127.0.0.1:1/postgres' },
      stdio: 'pipe',
    });
    const conf = readFileSync(join(out, 'nats-auth.conf'), 'utf8');
    const env = Object.fromEntries(
      readFileSync(join(out, 'walrus-decider.env'), 'utf8')
        .split('\n')
        .filter((l) => /^[A-Z_]+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    ) as Record<string, string>;
    expect(env.NATS_NKEY_SEED).toMatch(/^SU/);
    expect(conf).not.toMatch(/password|SU[A-Z2-7]{56}/);
    const nats = await startNats({ config: conf });
    await deciderStarts({ NATS_URL: nats.url, ...env }, defined(env.NATS_NKEY_SEED));
  });

  it('connects with a token', async () => {
    const nats = await startNats({ config: 'authorization { token: "tok-Secret-42" }' });
    await deciderStarts({ NATS_URL: nats.url, NATS_TOKEN: 'tok-Secret-42' }, 'tok-Secret-42');
  });

  it('connects with a token from NATS_TOKEN_FILE', async () => {
    const nats = await startNats({ config: 'authorization { token: "tok-File-77" }' });
    writeFileSync(join(dir, 'token'), 'tok-File-77\n', { mode: 0o600 });
    await deciderStarts({ NATS_URL: nats.url, NATS_TOKEN_FILE: join(dir, 'token') }, 'tok-File-77');
  });

  it('connects with a user and a password from NATS_PASSWORD_FILE', async () => {
    const nats = await startNats({ config: 'authorization { users = [ { user: "walrus-decider", password: "pw-File-Secret-5" } ] }' });
    writeFileSync(join(dir, 'password'), 'pw-File-Secret-5\n', { mode: 0o600 });
    await deciderStarts({ NATS_URL: nats.url, NATS_USER: 'walrus-decider', NATS_PASSWORD_FILE: join(dir, 'password') }, 'pw-File-Secret-5');
  });

  it('connects to an operator-mode server with NATS_CREDS_FILE (user JWT and seed), and uses JetStream there', async () => {
    // Operator, system account, an account with JetStream and a user of it, signed as nsc would.
    const operator = jwt.createOperator();
    const system = jwt.createAccount();
    const account = jwt.createAccount();
    const user = jwt.createUser();
    const operatorJwt = await jwt.encodeOperator('walrus-test', operator, { system_account: system.getPublicKey() });
    const systemJwt = await jwt.encodeAccount('SYS', system, {}, { signer: operator });
    // Every limit spelled out: nats-server reads a missing one as 0 (no connection, no subscription).
    const unlimited = { subs: -1, conn: -1, leaf: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 };
    const accountJwt = await jwt.encodeAccount('WALRUS', account, { limits: unlimited }, { signer: operator });
    const userJwt = await jwt.encodeUser('walrus-decider', user, account);
    const credsFile = join(dir, 'walrus-decider.creds');
    writeFileSync(credsFile, jwt.fmtCreds(userJwt, user), { mode: 0o600 });
    const nats = await startNats({
      config: [
        `operator: ${operatorJwt}`,
        `system_account: ${system.getPublicKey()}`,
        'resolver: MEMORY',
        'resolver_preload: {',
        `  ${system.getPublicKey()}: ${systemJwt}`,
        `  ${account.getPublicKey()}: ${accountJwt}`,
        '}',
      ].join('\n'),
    });
    // Without the credentials the server refuses a client.
    await expect(connect({ servers: nats.url, timeout: 3000 })).rejects.toThrow(/Authorization/i);
    const seed = new TextDecoder().decode(user.getSeed());
    await deciderStarts({ NATS_URL: nats.url, NATS_CREDS_FILE: credsFile }, seed);
    // The decider provisioned the streams in the account of its user.
    const nc = await connect({ servers: nats.url, authenticator: credsAuthenticator(readFileSync(credsFile)) });
    try {
      const jsm = await jetstreamManager(nc);
      expect((await jsm.streams.info('WALRUS_SAMPLES')).config.name).toBe('WALRUS_SAMPLES');
    } finally {
      await nc.close();
    }
  });

  it('connects over TLS with a client certificate (NATS_TLS_CA, NATS_TLS_CERT, NATS_TLS_KEY)', async () => {
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=walrus-test-ca');
    // nats.js names an IP server "localhost" for SNI and checks the certificate against that.
    writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
    writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
    for (const who of ['server', 'client']) {
      openssl('req', ...ec, '-keyout', `${who}.key`, '-out', `${who}.csr`, '-subj', `/CN=walrus-${who}`);
      openssl('x509', '-req', '-in', `${who}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${who}.pem`, '-days', '1', '-extfile', `${who}.ext`);
    }
    const f = (n: string) => JSON.stringify(join(dir, n));
    const nats = await startNats({ config: `tls { cert_file: ${f('server.pem')}, key_file: ${f('server.key')}, ca_file: ${f('ca.pem')}, verify: true }` });
    await deciderStarts(
      { NATS_URL: nats.url, NATS_TLS_CA: join(dir, 'ca.pem'), NATS_TLS_CERT: join(dir, 'client.pem'), NATS_TLS_KEY: join(dir, 'client.key') },
      'PRIVATE KEY',
    );
  });

  it('refuses a malformed nkey seed at start-up, without printing it', async () => {
    const p = startWalrus(['decider'], { NATS_NKEY_SEED: 'SUnot-a-seed-XYZ' });
    procs.push(p);
    expect(await p.exited).toBe(2);
    expect(p.stderr()).toMatch(/NATS_NKEY_SEED: is not an nkey user seed/);
    expect(p.stderr()).not.toContain('SUnot-a-seed-XYZ');
  });
});
