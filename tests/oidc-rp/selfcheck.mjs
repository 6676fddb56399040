#!/usr/bin/env node
// Proves rp.mjs correct independently of Latch: runs it against
// node-oidc-provider (panva's certified OpenID Provider) in this process, on
// random loopback ports, with our own small login + consent pages, and checks
// that it passes where it should and fails where it should.
import Provider from 'oidc-provider';
import * as jose from 'jose';
import { createHash } from 'node:crypto';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeEntities, parseCli, parseForm, run, tokenHash } from './rp.mjs';

const CLIENT_ID = 'selfcheck-client';
const CLIENT_SECRET = 'selfcheck-secret-0123456789-abcdefghijklmnopqrstuvwxyz';
const REDIRECT_URI = 'http://127.0.0.1:9/callback'; // nothing listens: the RP reads Location
const POST_LOGOUT_URI = 'http://127.0.0.1:9/logged-out';
const ACCOUNTS = {
  alice: { id: 'a7c1e5f0-0d5e-4c53-9a8e-4f3d2b1c0a99', password: 'wonderland', name: 'Alice Liddell', email: 'alice@example.test' },
};
const RESOURCE = 'urn:selfcheck:api';
const CSRF = 'tok&en"<x>'; // sent entity-encoded: proves the RP decodes hidden values

async function signingKeys() {
  const keys = [];
  for (const alg of ['RS256', 'ES256', 'EdDSA']) {
    const { privateKey } = await jose.generateKeyPair(alg, { extractable: true, crv: alg === 'EdDSA' ? 'Ed25519' : undefined });
    keys.push({ ...(await jose.exportJWK(privateKey)), kid: `selfcheck-${alg}`, alg, use: 'sig' });
  }
  return keys;
}

function findAccount(sub) {
  const [username, a] = Object.entries(ACCOUNTS).find(([, a]) => a.id === sub) ?? [];
  if (!a) return undefined;
  return { accountId: sub, claims: async () => ({ sub, preferred_username: username, name: a.name, email: a.email, email_verified: true }) };
}

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const page = (title, body) => `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body>${body}</body></html>`;

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

/** One node-oidc-provider on a random loopback port (https when tls = { key, cert }). */
async function startProvider({ idTokenAlg = 'RS256', jwtAccessTokens = false, tls = null } = {}) {
  const server = tls ? https.createServer(tls) : http.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `${tls ? 'https' : 'http'}://127.0.0.1:${server.address().port}`;
  const keys = await signingKeys();
  const publicJwks = { keys: keys.map(({ d, p, q, dp, dq, qi, ...pub }) => pub) };

  const provider = new Provider(issuer, {
    clients: [{
      client_id: CLIENT_ID, client_secret: CLIENT_SECRET, client_name: 'Selfcheck RP',
      redirect_uris: [REDIRECT_URI], post_logout_redirect_uris: [POST_LOGOUT_URI],
      grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic', id_token_signed_response_alg: idTokenAlg,
      require_auth_time: true,
    }],
    jwks: { keys },
    cookies: { keys: ['selfcheck-cookie-key-not-secret'] },
    claims: { openid: ['sub'], profile: ['preferred_username', 'name'], email: ['email', 'email_verified'] },
    findAccount: async (_ctx, sub) => findAccount(sub),
    pkce: { required: () => true },
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        // The default page puts its buttons outside the <form>; ours keeps them inside.
        async logoutSource(ctx, form) {
          ctx.body = page('Sign out?', form.replace('</form>', '<button type="submit" name="logout" value="no">Stay</button><button type="submit" name="logout" value="yes">Sign out</button></form>'));
        },
        async postLogoutSuccessSource(ctx) { ctx.body = page('Signed out', '<p>You are signed out.</p>'); },
      },
      ...(jwtAccessTokens ? {
        // node-oidc-provider issues JWT access tokens only for a resource
        // server; the userinfo route below then answers for that token.
        resourceIndicators: {
          enabled: true,
          defaultResource: () => RESOURCE,
          useGrantedResource: () => true,
          getResourceServerInfo: () => ({ scope: 'openid profile email', audience: RESOURCE, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } }),
        },
      } : {}),
    },
    ttl: { Interaction: 300, Session: 600, Grant: 600, AccessToken: 300, IdToken: 300, RefreshToken: 600, AuthorizationCode: 60 },
  });
  provider.on('server_error', (_ctx, err) => console.error('provider server_error:', err));
  const callback = provider.callback();

  const interaction = async (req, res) => {
    const url = new URL(req.url, issuer);
    const details = await provider.interactionDetails(req, res);
    const { uid, prompt, params } = details;
    const send = (status, html) => { res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' }); res.end(html); };
    const hidden = () => `<input type="hidden" name="csrf" value="${esc(CSRF)}"><input type='hidden' name='uid' value='${esc(uid)}'>`;
    if (req.method === 'GET') {
      if (prompt.name === 'login') {
        return send(200, page('Sign in', `<form method="post" action="/interaction/${uid}/login">${hidden()}
          <label>User <input type="text" name="login" autocomplete="username"></label>
          <label>Password <input type="password" name="password"></label>
          <button type="submit" name="action" value="cancel">Cancel</button>
          <button type="submit" name="action" value="sign-in">Sign in</button></form>`));
      }
      return send(200, page('Consent', `<p>${esc(params.client_id)} asks for ${esc(params.scope)}</p>
        <form method="post" action="/interaction/${uid}/confirm">${hidden()}
        <button type="submit" name="decision" value="deny">Deny</button>
        <button type="submit" name="decision" value="approve">Approve</button></form>`));
    }
    const form = await readForm(req);
    if (form.get('csrf') !== CSRF || form.get('uid') !== uid) return send(400, page('Bad request', 'csrf/uid mismatch'));
    if (url.pathname.endsWith('/login')) {
      if (form.get('action') !== 'sign-in') return send(400, page('Bad request', 'wrong button'));
      const a = ACCOUNTS[form.get('login')];
      if (!a || a.password !== form.get('password')) {
        return send(200, page('Sign in', `<p>Wrong username or password.</p><form method="post">${hidden()}<input name="login"><input type="password" name="password"><button name="action" value="sign-in">Sign in</button></form>`));
      }
      return provider.interactionFinished(req, res, { login: { accountId: a.id } }, { mergeWithLastSubmission: false });
    }
    if (form.get('decision') !== 'approve') {
      return provider.interactionFinished(req, res, { error: 'access_denied' }, { mergeWithLastSubmission: false });
    }
    const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = prompt.details;
    const grant = details.grantId ? await provider.Grant.find(details.grantId) : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
    if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
    if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
    const grantId = await grant.save();
    return provider.interactionFinished(req, res, { consent: details.grantId ? {} : { grantId } }, { mergeWithLastSubmission: true });
  };

  // With JWT access tokens (audience = the resource server) node-oidc-provider's
  // own userinfo refuses them, so this route plays a userinfo endpoint that
  // accepts RFC 9068 tokens, as Latch's does.
  const jwtUserinfo = async (req, res) => {
    try {
      const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      const { payload } = await jose.jwtVerify(token, jose.createLocalJWKSet(publicJwks), { issuer, audience: RESOURCE, typ: 'at+jwt' });
      const account = await findAccount(payload.sub).claims();
      const scopes = payload.scope.split(' ');
      const out = { sub: account.sub };
      if (scopes.includes('profile')) Object.assign(out, { preferred_username: account.preferred_username, name: account.name });
      if (scopes.includes('email')) Object.assign(out, { email: account.email, email_verified: account.email_verified });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
    } catch (e) {
      if (process.env.SELFCHECK_VERBOSE) console.error('jwt userinfo:', e);
      res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
    }
  };

  server.on('request', (req, res) => {
    const route = req.url.startsWith('/interaction/') ? interaction
      : (jwtAccessTokens && req.url.split('?')[0] === '/me') ? jwtUserinfo : callback;
    Promise.resolve(route(req, res)).catch((err) => {
      console.error('selfcheck route error:', err);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  return { issuer, close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }) };
}

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
