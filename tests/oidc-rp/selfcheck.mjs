#!/usr/bin/env node
// Proves rp.mjs correct independently of Latch: runs it against
// node-oidc-provider (panva's certified OpenID Provider) in this process, on
// random loopback ports, with our own small login + consent pages, and checks
// that it passes where it should and fails where it should.
import * as jose from 'jose';
import { createHash } from 'node:crypto';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeEntities, parseCli, parseForm, run, tokenHash } from './rp.mjs';

import { CLIENT_ID, CLIENT_SECRET, POST_LOGOUT_URI, REDIRECT_URI, RESOURCE, startProvider } from './provider.mjs';

/** A throwaway CA and a 127.0.0.1 leaf certificate, made with the openssl CLI. */
function makeTlsFiles() {
  const dir = mkdtempSync(join(tmpdir(), 'oidc-rp-selfcheck-'));
  const ossl = (args, input) => execFileSync('openssl', args, { cwd: dir, input, stdio: ['pipe', 'ignore', 'pipe'] });
  ossl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem',
    '-days', '1', '-subj', '/CN=oidc-rp selfcheck CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  ossl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=127.0.0.1']);
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  ossl(['x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'leaf.pem', '-days', '1', '-extfile', 'ext.cnf']);
  return dir;
}

// ---------------------------------------------------------------------------

let passed = 0;
let failed = 0;
const result = (ok, name, detail = '') => {
  ok ? passed++ : failed++;
  console.log(`${ok ? 'PASS' : 'FAIL'} ${name}${detail ? '  ' + detail : ''}`);
};

function unitChecks() {
  result(decodeEntities('a&amp;b&quot;&#39;&lt;&gt;&#x41;&#66;&apos;&bogus;') === 'a&b"\'<>AB\'&bogus;', 'unit: HTML entity decoding');
  const form = parseForm(`<form method="get"><input name="x"></form><FORM METHOD=POST><input type=hidden name=r value="1&amp;2"><input name='username'>
    <button name="decision" value="deny">No</button><button name="decision" value="approve">Yes</button></FORM>`, new URL('http://127.0.0.1/authorize?a=1'));
  result(form?.action.href === 'http://127.0.0.1/authorize?a=1' && form.inputs[0].value === '1&2' && form.buttons.length === 2,
    'unit: form parsing (first POST form, default action = page URL, unquoted attributes)');
  let usage = false;
  try { parseCli(['--bogus']); } catch { usage = true; }
  result(usage, 'unit: unknown flag is a usage error');
  const env = parseCli([], { OIDC_RP_ISSUER: 'http://127.0.0.1:1', OIDC_RP_JWT_ACCESS_TOKEN: '1', OIDC_RP_EXPECT_CLAIM: 'name=A,email=b' });
  result(env.issuer === 'http://127.0.0.1:1' && env.jwtAccessToken && env.expectClaims.email === 'b', 'unit: options from OIDC_RP_* environment');
}

async function atHashChecks() {
  // Independent computation with node:crypto (the RP uses WebCrypto).
  const token = 'jHkWEdUXMU1BwAsC4vtUsZwnNcgmqwZ8dzNTj7tPlvw';
  const half = (alg) => createHash(alg).update(token).digest().subarray(0, alg === 'sha256' ? 16 : 32).toString('base64url');
  result(await tokenHash('RS256', token) === half('sha256') && await tokenHash('ES256', token) === half('sha256')
    && await tokenHash('EdDSA', token) === half('sha512'), 'unit: at_hash for RS256, ES256 (SHA-256) and EdDSA (SHA-512)');
}

async function flow(name, provider, overrides, expect) {
  const options = {
    ...parseCli([]), issuer: provider.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET,
    redirectUri: REDIRECT_URI, username: 'alice', password: 'wonderland', atHash: 'optional', allowRefreshNonce: true, timeout: 30, ...overrides,
  };
  const lines = [];
  const summary = await run(options, (line) => lines.push(line));
  const ok = expect(summary);
  result(ok, name, summary.ok ? `steps=${summary.steps.join(',')}` : `failed_step=${summary.failed_step}: ${summary.error}`);
  if (!ok || process.env.SELFCHECK_VERBOSE) for (const l of lines) console.log(`       ${l}`);
  return summary;
}

/** rp.mjs as a child process, the way run.sh calls it: exit status and stdout lines. */
function cli(args, env = {}) {
  return new Promise((resolve) => {
    execFile(process.execPath, [new URL('./rp.mjs', import.meta.url).pathname, ...args],
      { env: { ...process.env, ...env }, timeout: 60000 }, (err, stdout, stderr) => {
        resolve({ code: err ? err.code : 0, lines: stdout.trim().split('\n'), stderr });
      });
  });
}

async function cliChecks(provider) {
  const base = ['--issuer', provider.issuer, '--client-id', CLIENT_ID, '--redirect-uri', REDIRECT_URI, '--username', 'alice', '--at-hash', 'optional', '--allow-refresh-nonce'];
  const env = { OIDC_RP_CLIENT_SECRET: CLIENT_SECRET, OIDC_RP_PASSWORD: 'wonderland' };
  let r = await cli([...base, '--prompt-none-check', '--post-logout-redirect-uri', POST_LOGOUT_URI, '--expect-alg', 'RS256', '--expect-claim', 'email=alice@example.test'], env);
  let summary = JSON.parse(r.lines.at(-1));
  result(r.code === 0 && summary.ok && r.lines.slice(0, -1).every((l) => l.startsWith('ok   ')) && r.lines.length === 9,
    'cli: exit 0, one "ok" line per step, JSON summary last', `exit=${r.code} lines=${r.lines.length}`);
  if (r.code !== 0 || process.env.SELFCHECK_VERBOSE) console.log(r.lines.join('\n'), r.stderr);
  r = await cli([...base, '--password', 'wrong'], { OIDC_RP_CLIENT_SECRET: CLIENT_SECRET });
  summary = JSON.parse(r.lines.at(-1));
  result(r.code === 1 && !summary.ok && summary.failed_step === 'login' && r.lines.at(-2).startsWith('FAIL login'), 'cli: a failed check exits 1 with a FAIL line', `exit=${r.code}`);
  r = await cli(['--issuer', provider.issuer]);
  result(r.code === 2 && /missing --client-id/.test(r.stderr) && r.lines.join('') === '', 'cli: missing flag exits 2, usage on stderr', `exit=${r.code}`);
}

const succeeded = (s) => s.ok;
const failedAt = (step, re) => (s) => !s.ok && s.failed_step === step && re.test(s.error);

unitChecks();
await atHashChecks();

const rs = await startProvider({ idTokenAlg: 'RS256' });
try {
  await flow('http RS256: full flow, prompt=none, logout redirect', rs,
    { expectAlg: 'RS256', promptNoneCheck: true, postLogoutRedirectUri: POST_LOGOUT_URI, expectClaims: { name: 'Alice Liddell', email: 'alice@example.test' } },
    (s) => s.ok && s.logout === 'redirect' && s.authorization_response_iss_parameter_supported
      && s.steps.includes('prompt_none') && s.steps.includes('prompt_none_after_logout') && s.userinfo.preferred_username === 'alice');
  await flow('http RS256: client_secret_post, logout page', rs, { tokenAuth: 'post' }, (s) => s.ok && s.logout === 'page');
  await flow('negative: wrong password fails at login', rs, { password: 'looking-glass' }, failedAt('login', /password form came back.*Wrong username/));
  await flow('negative: wrong client secret fails at token', rs, { clientSecret: 'nope' }, failedAt('token', /invalid_client/));
  await flow('negative: --expect-alg ES256 against RS256 fails at token', rs, { expectAlg: 'ES256' }, failedAt('token', /alg/));
  await flow('negative: --at-hash required fails (provider omits at_hash)', rs, { atHash: 'required' }, failedAt('token', /at_hash/));
  await flow('negative: refreshed id_token with the original nonce fails without --allow-refresh-nonce', rs, { allowRefreshNonce: false },
    failedAt('refresh', /carries a nonce/));
  await flow('negative: wrong expected claim fails at userinfo', rs, { expectClaims: { name: 'Bob' } }, failedAt('userinfo', /name/));
  await flow('negative: --jwt-access-token with opaque tokens fails', rs, { jwtAccessToken: true }, failedAt('jwt_access_token', /./));
  await flow('negative: unregistered redirect_uri fails at login', rs, { redirectUri: 'http://127.0.0.1:9/other' }, failedAt('login', /HTTP 400/));
  await cliChecks(rs);
} finally { await rs.close(); }

const es = await startProvider({ idTokenAlg: 'ES256' });
try {
  await flow('http ES256: full flow', es, { expectAlg: 'ES256', promptNoneCheck: true, postLogoutRedirectUri: POST_LOGOUT_URI }, succeeded);
  await flow('negative: issuer mismatch fails at discovery', es, { issuer: es.issuer.replace('127.0.0.1', 'localhost') }, failedAt('discovery', /issuer/));
} finally { await es.close(); }

let tlsDir = null;
try { tlsDir = makeTlsFiles(); } catch (e) { console.log(`SKIP https rounds: openssl failed: ${e.message.split('\n')[0]}`); }
if (tlsDir) {
  const ed = await startProvider({
    idTokenAlg: 'EdDSA', jwtAccessTokens: true,
    tls: { key: readFileSync(join(tlsDir, 'leaf.key')), cert: readFileSync(join(tlsDir, 'leaf.pem')) },
  });
  try {
    await flow('https EdDSA + --ca + RFC 9068 JWT access tokens', ed,
      { expectAlg: 'EdDSA', ca: join(tlsDir, 'ca.pem'), jwtAccessToken: true, promptNoneCheck: true, postLogoutRedirectUri: POST_LOGOUT_URI },
      (s) => s.ok && s.steps.includes('jwt_access_token') && s.access_token_aud === RESOURCE);
    await flow('negative: https without --ca fails at discovery', ed, {}, failedAt('discovery', /cert|self.signed|issuer/i));
  } finally { await ed.close(); rmSync(tlsDir, { recursive: true, force: true }); }
}

console.log(`selfcheck: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
