#!/usr/bin/env node
// An independent OpenID Connect relying party: runs the authorization code
// flow (PKCE S256, state, nonce) against an issuer with openid-client v6 doing
// the protocol validation, drives the provider's HTML login/consent pages with
// plain fetch, and exits 0 only if every check passed.
//
// stdout: one line per step ("ok <step> ..." or "FAIL <step> ..."), then one
// JSON summary line. Exit: 0 all passed, 1 a check failed, 2 bad usage.
import * as client from 'openid-client';
import * as jose from 'jose';
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';

const USAGE = `usage: rp.mjs --issuer URL --client-id ID --client-secret SECRET
              --redirect-uri URL --username NAME --password PASS
              [--ca FILE] [--expect-alg RS256|ES256|EdDSA] [--jwt-access-token]
              [--prompt-none-check] [--post-logout-redirect-uri URL]
              [--scope "openid profile email"] [--token-auth basic|post]
              [--expect-claim NAME=VALUE]... [--at-hash required|optional]
              [--allow-refresh-nonce] [--timeout SECONDS]
every flag can also come from the environment: OIDC_RP_<FLAG> (e.g. OIDC_RP_PASSWORD,
OIDC_RP_JWT_ACCESS_TOKEN=1). Exit status: 0 all checks passed, 1 a check failed, 2 usage.`;

const FLAGS = {
  issuer: 'string', 'client-id': 'string', 'client-secret': 'string',
  'redirect-uri': 'string', username: 'string', password: 'string', ca: 'string',
  'expect-alg': 'string', 'jwt-access-token': 'boolean', 'prompt-none-check': 'boolean',
  'post-logout-redirect-uri': 'string', scope: 'string', 'token-auth': 'string',
  'expect-claim': 'string', 'at-hash': 'string', 'allow-refresh-nonce': 'boolean',
  timeout: 'string', help: 'boolean',
};

export class UsageError extends Error {}

/** argv + environment -> options object (throws UsageError). */
export function parseCli(argv, env = process.env) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: Object.fromEntries(Object.entries(FLAGS).map(([k, type]) =>
        [k, { type, ...(k === 'expect-claim' ? { multiple: true } : {}) }])),
      strict: true,
    }));
  } catch (e) {
    throw new UsageError(e.message);
  }
  if (values.help) throw new UsageError('');
  const get = (k) => values[k] ?? env[`OIDC_RP_${k.toUpperCase().replaceAll('-', '_')}`];
  const bool = (k) => { const v = get(k); return v === true || v === '1' || v === 'true'; };
  const claims = values['expect-claim'] ?? (env.OIDC_RP_EXPECT_CLAIM ? env.OIDC_RP_EXPECT_CLAIM.split(',') : []);
  return {
    issuer: get('issuer'), clientId: get('client-id'), clientSecret: get('client-secret'),
    redirectUri: get('redirect-uri'), username: get('username'), password: get('password'),
    ca: get('ca'), expectAlg: get('expect-alg'), jwtAccessToken: bool('jwt-access-token'),
    promptNoneCheck: bool('prompt-none-check'), postLogoutRedirectUri: get('post-logout-redirect-uri'),
    scope: get('scope') ?? 'openid profile email', tokenAuth: get('token-auth') ?? 'basic',
    expectClaims: Object.fromEntries(claims.map((c) => {
      const i = c.indexOf('=');
      if (i < 1) throw new UsageError(`--expect-claim wants NAME=VALUE, got ${JSON.stringify(c)}`);
      return [c.slice(0, i), c.slice(i + 1)];
    })),
    atHash: get('at-hash') ?? 'required', allowRefreshNonce: bool('allow-refresh-nonce'),
    timeout: Number(get('timeout') ?? 60),
  };
}

function checkOptions(o) {
  for (const k of ['issuer', 'clientId', 'clientSecret', 'redirectUri', 'username', 'password']) {
    if (!o[k]) throw new UsageError(`missing --${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`);
  }
  for (const k of ['issuer', 'redirectUri', 'postLogoutRedirectUri']) {
    if (o[k] !== undefined && !URL.canParse(o[k])) throw new UsageError(`${k} is not a URL: ${o[k]}`);
  }
  if (!isLoopback(new URL(o.redirectUri))) throw new UsageError('--redirect-uri must be a loopback URL');
  if (o.expectAlg && !['RS256', 'ES256', 'EdDSA'].includes(o.expectAlg)) throw new UsageError('--expect-alg: RS256, ES256 or EdDSA');
  if (!['basic', 'post'].includes(o.tokenAuth)) throw new UsageError('--token-auth: basic or post');
  if (!['required', 'optional'].includes(o.atHash)) throw new UsageError('--at-hash: required or optional');
  if (!(o.timeout > 0)) throw new UsageError('--timeout wants a positive number of seconds');
}

function isLoopback(url) {
  const h = url.hostname.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

class CheckFailed extends Error {}
function check(cond, message) { if (!cond) throw new CheckFailed(message); }

// ---------------------------------------------------------------------------
// HTTP: one fetch for everything (openid-client, jose, the page driver), with
// the --ca PEM trusted through an undici Agent when given.

async function makeFetch(caFile) {
  if (!caFile) return globalThis.fetch;
  const undici = await import('undici');
  const ca = readFileSync(caFile, 'utf8');
  const dispatcher = new undici.Agent({ connect: { ca: [...rootCertificates, ca] } });
  return (url, init = {}) => undici.fetch(url, { ...init, dispatcher });
}

/** A tiny cookie jar: name+path -> value, sent by path prefix, for one origin. */
class CookieJar {
  #cookies = new Map();
  store(response, url) {
    for (const line of response.headers.getSetCookie?.() ?? []) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq < 1) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let path = url.pathname.replace(/\/[^/]*$/, '') || '/';
      let expired = value === '';
      for (const a of attrs) {
        const [k, v = ''] = a.split('=').map((s) => s.trim());
        if (/^path$/i.test(k) && v.startsWith('/')) path = v;
        if (/^max-age$/i.test(k) && Number(v) <= 0) expired = true;
        if (/^expires$/i.test(k) && Date.parse(v) <= Date.now()) expired = true;
      }
      const key = `${name}\u0000${path}`;
      if (expired) this.#cookies.delete(key); else this.#cookies.set(key, { name, value, path });
    }
  }
  header(url) {
    const p = url.pathname;
    return [...this.#cookies.values()]
      .filter((c) => p === c.path || p.startsWith(c.path.endsWith('/') ? c.path : c.path + '/'))
      .map((c) => `${c.name}=${c.value}`).join('; ');
  }
  get size() { return this.#cookies.size; }
}

// ---------------------------------------------------------------------------
// The page driver: behaves like a browser filling in the provider's forms.

const ENTITIES = { amp: '&', quot: '"', apos: "'", lt: '<', gt: '>', nbsp: '\u00a0' };
export function decodeEntities(s) {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

function attributes(tag) {
  const out = {};
  const re = /([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g;
  let m;
  re.exec(tag); // the tag name
  while ((m = re.exec(tag))) out[m[1].toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  return out;
}

/** The first <form method="post"> of a page: action, fields and submit buttons. */
export function parseForm(html, pageUrl) {
  const forms = [...html.matchAll(/<form\b[^>]*>([\s\S]*?)<\/form>/gi)]
    .map((m) => ({ attrs: attributes(m[0].slice(0, m[0].indexOf('>') + 1)), body: m[1] }))
    .filter((f) => (f.attrs.method ?? 'get').toLowerCase() === 'post');
  if (forms.length === 0) return null;
  const { attrs, body } = forms[0];
  const inputs = [...body.matchAll(/<input\b[^>]*>/gi)].map((m) => attributes(m[0]));
  const buttons = [...body.matchAll(/<button\b[^>]*>([\s\S]*?)<\/button>/gi)]
    .map((m) => ({ ...attributes(m[0].slice(0, m[0].indexOf('>') + 1)), text: m[1].replace(/<[^>]*>/g, '').trim() }))
    .filter((b) => (b.type ?? 'submit').toLowerCase() === 'submit');
  for (const i of inputs) if ((i.type ?? '').toLowerCase() === 'submit') buttons.push({ ...i, text: i.value ?? '' });
  return { action: new URL(attrs.action || pageUrl.href, pageUrl), inputs, buttons, formCount: forms.length };
}

const APPROVE = /approve|allow|accept|authori[sz]e|consent|continue|confirm|yes|sign.?in|log.?in|submit/i;
const REFUSE = /deny|reject|cancel|abort|refuse|decline|^no$|stay/i;

function fillForm(form, { username, password }) {
  const body = new URLSearchParams();
  const filled = [];
  for (const i of form.inputs) {
    const type = (i.type ?? 'text').toLowerCase();
    if (!i.name || type === 'submit' || type === 'button' || type === 'image' || i.disabled !== undefined) continue;
    if ((type === 'checkbox' || type === 'radio') && i.checked === undefined) continue;
    if (type === 'password' || /^pass(word)?$/i.test(i.name)) { body.append(i.name, password); filled.push(i.name); continue; }
    if (/^(username|login|user|email)$/i.test(i.name) && type !== 'hidden') { body.append(i.name, username); filled.push(i.name); continue; }
    body.append(i.name, i.value ?? '');
  }
  const named = form.buttons.filter((b) => b.name);
  const button = named.find((b) => APPROVE.test(`${b.value ?? ''} ${b.text}`) && !REFUSE.test(b.value ?? ''))
    ?? named.find((b) => !REFUSE.test(`${b.value ?? ''} ${b.text}`));
  if (button) body.append(button.name, button.value ?? '');
  else if (named.length) throw new CheckFailed(`no approving submit button among ${named.map((b) => `${b.name}=${b.value}`).join(', ')}`);
  return { body, filled, button: button ? `${button.name}=${button.value ?? ''}` : null };
}

/** The words of a page, for error messages. */
function pageText(html) {
  return decodeEntities(html.replace(/<(style|script|head)\b[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]*>/g, ' ')).replace(/\s+/g, ' ').trim().slice(0, 200);
}

/**
 * Starting at `start`, follow same-origin redirects and submit forms until a
 * redirect leaves for `done` (same origin+path). Returns { location, trail }
 * or { page } when a 200 page without a form ends the journey.
 */
async function drive(fetchImpl, jar, start, done, credentials, { maxSteps = 12, allowPage = false } = {}) {
  const origin = start.origin;
  const trail = [];
  let passwordSent = false;
  let url = start;
  let init = { method: 'GET' };
  for (let step = 0; step < maxSteps; step++) {
    const headers = new Headers(init.headers);
    const cookie = jar.header(url);
    if (cookie) headers.set('cookie', cookie);
    headers.set('accept', 'text/html,application/xhtml+xml');
    const res = await fetchImpl(url.href, { ...init, headers, redirect: 'manual', signal: AbortSignal.timeout(15000) });
    jar.store(res, url);
    trail.push(`${init.method} ${url.pathname} -> ${res.status}`);
    if (res.status >= 300 && res.status < 400) {
      await res.arrayBuffer();
      const loc = res.headers.get('location');
      check(loc, `${res.status} without Location from ${url.pathname}`);
      const next = new URL(loc, url);
      if (next.origin === done.origin && next.pathname === done.pathname) return { location: next, trail };
      check(next.origin === origin, `redirected off the provider to ${next.origin}${next.pathname}, expected ${done.origin}${done.pathname}`);
      url = next;
      init = { method: 'GET' };
      continue;
    }
    const text = await res.text();
    check(res.status === 200, `${init.method} ${url.pathname}: HTTP ${res.status}: ${pageText(text)}`);
    check(/html/i.test(res.headers.get('content-type') ?? ''), `${url.pathname}: expected an HTML page, got ${res.headers.get('content-type')}`);
    const form = parseForm(text, url);
    if (!form) {
      if (allowPage) return { page: text, trail };
      throw new CheckFailed(`${url.pathname}: page has no <form method="post">: ${pageText(text)}`);
    }
    check(form.action.origin === origin, `form posts off the provider to ${form.action.origin}`);
    const { body, filled, button } = fillForm(form, credentials);
    // A second password form means the first was refused: stop, rather than
    // hammer the provider's failed-login limit.
    const asksPassword = form.inputs.some((i) => (i.type ?? '').toLowerCase() === 'password');
    check(!(asksPassword && passwordSent), `${url.pathname}: the password form came back after the password was sent: ${pageText(text)}`);
    passwordSent ||= asksPassword;
    trail.push(`form ${form.action.pathname} [${[...filled, ...(button ? [button] : [])].join(' ')}]`);
    url = form.action;
    init = { method: 'POST', body: body.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } };
  }
  throw new CheckFailed(`no redirect to ${done.origin}${done.pathname} after ${maxSteps} steps: ${trail.join('; ')}`);
}

// ---------------------------------------------------------------------------

/** at_hash (OIDC Core 3.1.3.6): left half of the hash of the access token, base64url. */
export async function tokenHash(alg, value) {
  const hash = { RS256: 'SHA-256', PS256: 'SHA-256', ES256: 'SHA-256', RS384: 'SHA-384', ES384: 'SHA-384',
    RS512: 'SHA-512', ES512: 'SHA-512', EdDSA: 'SHA-512', Ed25519: 'SHA-512' }[alg];
  check(hash, `no at_hash hash function for alg ${alg}`);
  const digest = new Uint8Array(await crypto.subtle.digest(hash, new TextEncoder().encode(value)));
  return Buffer.from(digest.subarray(0, digest.length / 2)).toString('base64url');
}

function describe(err) {
  if (err instanceof client.AuthorizationResponseError) return `authorization error ${err.error}${err.error_description ? ': ' + err.error_description : ''}`;
  if (err instanceof client.WWWAuthenticateChallengeError) {
    return `HTTP ${err.status} WWW-Authenticate: ${err.cause.map((c) => [c.scheme, ...Object.entries(c.parameters).map(([k, v]) => `${k}="${v}"`)].join(' ')).join(', ')}`;
  }
  if (err instanceof client.ResponseBodyError) return `${err.status} ${err.error}${err.error_description ? ': ' + err.error_description : ''}`;
  let msg = err?.message ?? String(err);
  if (err?.code && !(err instanceof CheckFailed)) msg += ` [${err.code}]`;
  if (err?.cause?.message) msg += ` (cause: ${err.cause.message}${err.cause.code ? ' ' + err.cause.code : ''})`;
  return msg;
}

/**
 * Run the whole flow. `o` is what parseCli returns; `print` gets one line per step.
 * Resolves to the summary object (summary.ok says whether every check passed).
 */
export async function run(o, print = (line) => console.log(line)) {
  checkOptions(o);
  const summary = { ok: false, issuer: o.issuer, steps: [], failed_step: null, error: null };
  const fetchImpl = await makeFetch(o.ca);
  let current = null;
  const step = async (name, fn) => {
    current = name;
    const detail = await fn();
    summary.steps.push(name);
    print(`ok   ${name}${detail ? '  ' + detail : ''}`);
  };

  try {
    const issuer = new URL(o.issuer);
    const redirectUri = new URL(o.redirectUri);
    let config;
    await step('discovery', async () => {
      if (issuer.protocol !== 'https:') check(isLoopback(issuer), `plain http is allowed only for a loopback issuer, not ${issuer.host}`);
      const metadata = { client_secret: o.clientSecret };
      if (o.expectAlg) metadata.id_token_signed_response_alg = o.expectAlg;
      const auth = o.tokenAuth === 'post' ? client.ClientSecretPost(o.clientSecret) : client.ClientSecretBasic(o.clientSecret);
      config = await client.discovery(issuer, o.clientId, metadata, auth, {
        [client.customFetch]: fetchImpl,
        execute: issuer.protocol === 'http:' ? [client.allowInsecureRequests] : [],
        timeout: 15,
      });
      const m = config.serverMetadata();
      for (const k of ['authorization_endpoint', 'token_endpoint', 'jwks_uri', 'userinfo_endpoint']) check(m[k], `discovery lacks ${k}`);
      check(m.code_challenge_methods_supported?.includes('S256'), 'discovery: code_challenge_methods_supported lacks S256');
      check(m.scopes_supported?.includes('openid'), 'discovery: scopes_supported lacks openid');
      if (o.expectAlg) check(m.id_token_signing_alg_values_supported?.includes(o.expectAlg), `discovery: id_token_signing_alg_values_supported lacks ${o.expectAlg}`);
      summary.authorization_response_iss_parameter_supported = m.authorization_response_iss_parameter_supported === true;
      return `issuer=${m.issuer} iss_param=${summary.authorization_response_iss_parameter_supported}`;
    });
    const meta = config.serverMetadata();

    const authRequest = async (extra = {}) => {
      const codeVerifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const nonce = client.randomNonce();
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri.href, scope: o.scope, response_type: 'code', state, nonce,
        code_challenge: await client.calculatePKCECodeChallenge(codeVerifier), code_challenge_method: 'S256', ...extra,
      });
      return { url, codeVerifier, state, nonce };
    };
    const expectLoginRequired = async (jar, what) => {
      const req = await authRequest({ prompt: 'none' });
      const { location } = await drive(fetchImpl, jar, req.url, redirectUri, o, { maxSteps: 4 });
      try {
        await client.authorizationCodeGrant(config, location, { pkceCodeVerifier: req.codeVerifier, expectedState: req.state, expectedNonce: req.nonce, idTokenExpected: true });
      } catch (err) {
        if (err instanceof client.AuthorizationResponseError) {
          check(err.error === 'login_required', `prompt=none ${what}: expected error=login_required, got ${err.error}`);
          return `error=login_required state ok${location.searchParams.has('iss') ? ' iss ok' : ''}`;
        }
        throw err;
      }
      throw new CheckFailed(`prompt=none ${what} answered with a code, expected error=login_required`);
    };

    if (o.promptNoneCheck) await step('prompt_none', () => expectLoginRequired(new CookieJar(), 'without a session'));

    const jar = new CookieJar();
    const req = await authRequest();
    let callback;
    await step('login', async () => {
      const { location, trail } = await drive(fetchImpl, jar, req.url, redirectUri, o);
      callback = location;
      check(location.searchParams.get('code') || location.searchParams.get('error'), `redirect without code: ${location.search}`);
      return trail.join(' | ');
    });

    let tokens;
    let claims;
    let header;
    await step('token', async () => {
      tokens = await client.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: req.codeVerifier, expectedState: req.state, expectedNonce: req.nonce, idTokenExpected: true,
      });
      claims = tokens.claims();
      header = jose.decodeProtectedHeader(tokens.id_token);
      check(typeof claims.sub === 'string' && claims.sub.length > 0, 'id_token without sub');
      check(claims.sub !== o.username, `id_token sub is the username (${o.username}); it must be an opaque identifier`);
      check(Number.isInteger(claims.auth_time), 'id_token without a numeric auth_time');
      check(claims.auth_time <= Math.floor(Date.now() / 1000) + 30, 'id_token auth_time is in the future');
      if (o.expectAlg) check(header.alg === o.expectAlg, `id_token alg ${header.alg}, expected ${o.expectAlg}`);
      check(meta.id_token_signing_alg_values_supported?.includes(header.alg) ?? header.alg === 'RS256', `id_token alg ${header.alg} not advertised`);
      if (claims.at_hash !== undefined || o.atHash === 'required') {
        check(typeof claims.at_hash === 'string', 'id_token without at_hash');
        check(claims.at_hash === await tokenHash(header.alg, tokens.access_token), 'id_token at_hash does not match the access token');
      }
      check(tokens.token_type === 'bearer', `token_type ${tokens.token_type}`);
      check(typeof tokens.refresh_token === 'string', 'no refresh_token in the authorization code grant response');
      Object.assign(summary, { sub: claims.sub, id_token_alg: header.alg, id_token_kid: header.kid ?? null,
        at_hash: claims.at_hash !== undefined, scope: tokens.scope ?? null, expires_in: tokens.expires_in ?? null });
      return `sub=${claims.sub} alg=${header.alg} kid=${header.kid} auth_time=${claims.auth_time} at_hash=${claims.at_hash !== undefined ? 'ok' : 'absent'}`;
    });

    const verifyJwtAccessToken = async (accessToken) => {
      const jwks = jose.createRemoteJWKSet(new URL(meta.jwks_uri), { [jose.customFetch]: fetchImpl });
      const { payload, protectedHeader } = await jose.jwtVerify(accessToken, jwks, {
        issuer: meta.issuer, typ: 'at+jwt', requiredClaims: ['iss', 'aud', 'exp', 'iat', 'sub', 'client_id', 'jti', 'scope'],
      });
      check(payload.client_id === o.clientId, `access token client_id ${payload.client_id}, expected ${o.clientId}`);
      check(payload.sub === claims.sub, `access token sub ${payload.sub} differs from the id_token sub ${claims.sub}`);
      check(typeof payload.scope === 'string' && payload.scope.split(' ').includes('openid'), `access token scope "${payload.scope}" lacks openid`);
      return { payload, protectedHeader };
    };
    if (o.jwtAccessToken) {
      await step('jwt_access_token', async () => {
        const { payload, protectedHeader } = await verifyJwtAccessToken(tokens.access_token);
        summary.access_token_aud = payload.aud;
        return `typ=${protectedHeader.typ} alg=${protectedHeader.alg} aud=${JSON.stringify(payload.aud)} scope="${payload.scope}"`;
      });
    }

    const userinfo = async (accessToken) => {
      const info = await client.fetchUserInfo(config, accessToken, claims.sub);
      if ((meta.claims_supported ?? []).includes('preferred_username') && o.scope.split(' ').includes('profile')) {
        check(info.preferred_username === o.username, `userinfo preferred_username ${JSON.stringify(info.preferred_username)}, expected ${o.username}`);
      }
      for (const [k, v] of Object.entries(o.expectClaims)) check(String(info[k]) === v, `userinfo ${k}=${JSON.stringify(info[k])}, expected ${JSON.stringify(v)}`);
      return info;
    };
    await step('userinfo', async () => {
      const info = await userinfo(tokens.access_token);
      summary.userinfo = info;
      return `claims=${Object.keys(info).join(',')}`;
    });

    let refreshed;
    await step('refresh', async () => {
      refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
      check(refreshed.access_token !== tokens.access_token, 'refresh returned the same access token');
      check(typeof refreshed.id_token === 'string', 'refresh response without an id_token');
      const c = refreshed.claims();
      const h = jose.decodeProtectedHeader(refreshed.id_token);
      check(c.sub === claims.sub, `refreshed id_token sub ${c.sub}, expected ${claims.sub}`);
      check(c.iss === claims.iss, 'refreshed id_token iss differs');
      if (c.auth_time !== undefined) check(c.auth_time === claims.auth_time, `refreshed id_token auth_time ${c.auth_time}, original ${claims.auth_time}`);
      if (o.expectAlg) check(h.alg === o.expectAlg, `refreshed id_token alg ${h.alg}, expected ${o.expectAlg}`);
      // OIDC Core 12.2: SHOULD NOT carry nonce; if it does, it MUST be the original one.
      // Latch sends none; --allow-refresh-nonce accepts the original (node-oidc-provider does that).
      const nonce = c.nonce === undefined ? 'absent' : c.nonce === req.nonce ? 'original' : 'wrong';
      check(nonce !== 'wrong', 'refreshed id_token carries a nonce that is not the original');
      check(nonce === 'absent' || o.allowRefreshNonce, 'refreshed id_token carries a nonce (the original one; --allow-refresh-nonce accepts that)');
      if (c.at_hash !== undefined) check(c.at_hash === await tokenHash(h.alg, refreshed.access_token), 'refreshed id_token at_hash does not match');
      summary.refresh_at_hash = c.at_hash !== undefined;
      if (o.jwtAccessToken) await verifyJwtAccessToken(refreshed.access_token);
      const info = await userinfo(refreshed.access_token);
      check(info.sub === claims.sub, 'userinfo with the refreshed token: sub differs');
      summary.refresh_token_rotated = typeof refreshed.refresh_token === 'string' && refreshed.refresh_token !== tokens.refresh_token;
      summary.refresh_id_token_nonce = nonce;
      return `new access token, id_token sub same, nonce=${nonce}, rotated=${summary.refresh_token_rotated}, userinfo ok`;
    });

    await step('logout', async () => {
      check(meta.end_session_endpoint, 'discovery lacks end_session_endpoint');
      const state = client.randomState();
      const params = { id_token_hint: refreshed.id_token };
      if (o.postLogoutRedirectUri) Object.assign(params, { post_logout_redirect_uri: o.postLogoutRedirectUri, state });
      const url = client.buildEndSessionUrl(config, params);
      const done = new URL(o.postLogoutRedirectUri ?? 'http://127.0.0.1/unreachable');
      const result = await drive(fetchImpl, jar, url, done, o, { allowPage: true, maxSteps: 6 });
      if (result.location) {
        check(result.location.searchParams.get('state') === state, `post-logout redirect state ${result.location.searchParams.get('state')}, expected ${state}`);
        summary.logout = 'redirect';
        return `redirected to ${result.location.origin}${result.location.pathname} with state | ${result.trail.join(' | ')}`;
      }
      check(!o.postLogoutRedirectUri, 'logout ended on a page, expected a redirect to the post_logout_redirect_uri');
      summary.logout = 'page';
      return `page | ${result.trail.join(' | ')}`;
    });

    if (o.promptNoneCheck) await step('prompt_none_after_logout', () => expectLoginRequired(jar, 'after logout (old cookies)'));

    summary.ok = true;
  } catch (err) {
    summary.failed_step = current;
    summary.error = describe(err);
    print(`FAIL ${current}  ${summary.error}`);
    if (process.env.OIDC_RP_DEBUG) console.error(err);
  }
  return summary;
}

async function cli() {
  let options;
  try {
    options = parseCli(process.argv.slice(2));
    checkOptions(options);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    if (e.message) console.error(`rp.mjs: ${e.message}`);
    console.error(USAGE);
    process.exit(2);
  }
  const watchdog = setTimeout(() => {
    console.log(`FAIL timeout  no result after ${options.timeout}s`);
    console.log(JSON.stringify({ ok: false, issuer: options.issuer, failed_step: 'timeout', error: `timeout after ${options.timeout}s` }));
    process.exit(1);
  }, options.timeout * 1000);
  watchdog.unref();
  const summary = await run(options);
  console.log(JSON.stringify(summary));
  process.exit(summary.ok ? 0 : 1);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await cli();
