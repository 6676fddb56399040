// node-oidc-provider (panva's certified OpenID Provider) on a random
// loopback port, with small login and consent pages of our own: used by
// selfcheck.mjs to prove rp.mjs, and by op.mjs to give the Rust consumer's
// end-to-end test (tests/tests/consumer_e2e.rs) a provider nobody here wrote.
import Provider from 'oidc-provider';
import * as jose from 'jose';
import http from 'node:http';
import https from 'node:https';

export const CLIENT_ID = 'selfcheck-client';
export const CLIENT_SECRET = 'selfcheck-secret-0123456789-abcdefghijklmnopqrstuvwxyz';
export const REDIRECT_URI = 'http://127.0.0.1:9/callback'; // nothing listens: the RP reads Location
export const POST_LOGOUT_URI = 'http://127.0.0.1:9/logged-out';
export const ACCOUNTS = {
  alice: { id: 'a7c1e5f0-0d5e-4c53-9a8e-4f3d2b1c0a99', password: 'wonderland', name: 'Alice Liddell', email: 'alice@example.test' },
};
export const RESOURCE = 'urn:selfcheck:api';
export const DEVICE_CLIENT_ID = 'selfcheck-device';
export const DEVICE_CLIENT_SECRET = 'selfcheck-device-secret-0123456789-abcdefghijkl';
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

/**
 * One node-oidc-provider (https when tls = { key, cert }), on a random
 * loopback port unless `listen` = { host, port } says where, known by
 * `issuerUrl` when given (a name the certificate is for), with a new
 * refresh token on every refresh if `rotateRefreshTokens`. With `device`,
 * it also has the device client (RFC 8628 device flow and refresh, its
 * access tokens living `accessTokenTtl` seconds) and a protected
 * resource, `GET /api/ping`, that answers {"ping":"pong"} for an access
 * token node-oidc-provider itself finds valid, and `GET /test/rotations`,
 * how many refreshes have returned a new refresh token.
 */
export async function startProvider({ idTokenAlg = 'RS256', jwtAccessTokens = false, tls = null, redirectUris = [REDIRECT_URI], listen = { host: '127.0.0.1', port: 0 }, issuerUrl = null, device = false, accessTokenTtl = 300, rotateRefreshTokens = false, openidConfigurationOnly = false } = {}) {
  const server = tls ? https.createServer(tls) : http.createServer();
  await new Promise((resolve) => server.listen(listen.port, listen.host, resolve));
  const issuer = issuerUrl ?? `${tls ? 'https' : 'http'}://${listen.host}:${server.address().port}`;
  const deviceClients = device ? [{
    client_id: DEVICE_CLIENT_ID, client_secret: DEVICE_CLIENT_SECRET, client_name: 'Thermostat',
    redirect_uris: [], response_types: [],
    grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
    token_endpoint_auth_method: 'client_secret_basic',
  }] : [];
  const keys = await signingKeys();
  const publicJwks = { keys: keys.map(({ d, p, q, dp, dq, qi, ...pub }) => pub) };

  const provider = new Provider(issuer, {
    clients: [{
      client_id: CLIENT_ID, client_secret: CLIENT_SECRET, client_name: 'Selfcheck RP',
      redirect_uris: redirectUris, post_logout_redirect_uris: [POST_LOGOUT_URI],
      grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic', id_token_signed_response_alg: idTokenAlg,
      require_auth_time: true,
    }, ...deviceClients],
    jwks: { keys },
    cookies: { keys: ['selfcheck-cookie-key-not-secret'] },
    claims: { openid: ['sub'], profile: ['preferred_username', 'name'], email: ['email', 'email_verified'] },
    findAccount: async (_ctx, sub) => findAccount(sub),
    pkce: { required: () => true },
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    // Its default keeps a confidential client's refresh token until 70 % of
    // its life; rotating on every use shows that a client keeps the new one.
    ...(rotateRefreshTokens ? { rotateRefreshToken: true } : {}),
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      deviceFlow: { enabled: device },
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
    ttl: { Interaction: 300, Session: 600, Grant: 600, AccessToken: accessTokenTtl, IdToken: 300, RefreshToken: 600, AuthorizationCode: 60 },
  });
  provider.on('server_error', (_ctx, err) => console.error('provider server_error:', err));
  // Refreshes answered with a new refresh token: GET /test/rotations (device
  // mode) tells a test the rotation it relies on did happen.
  let rotations = 0;
  provider.on('grant.success', (ctx) => {
    const { params } = ctx.oidc;
    if (params.grant_type === 'refresh_token' && ctx.body?.refresh_token && ctx.body.refresh_token !== params.refresh_token) rotations += 1;
  });
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

  // The device's protected resource: the bearer token must be one
  // node-oidc-provider issued and still holds valid (with JWT access
  // tokens: signed by its key for this resource, RFC 9068, not expired).
  const valid = async (token) => {
    if (!jwtAccessTokens) {
      const found = await provider.AccessToken.find(token);
      return Boolean(found && !found.isExpired);
    }
    try {
      await jose.jwtVerify(token, jose.createLocalJWKSet(publicJwks), { issuer, audience: RESOURCE, typ: 'at+jwt' });
      return true;
    } catch {
      return false;
    }
  };
  const ping = async (req, res) => {
    const token = (req.headers.authorization ?? '').match(/^Bearer ([^ ]+)$/)?.[1];
    if (!token || !await valid(token)) {
      res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ping":"pong"}');
  };

  server.on('request', (req, res) => {
    const path = req.url.split('?')[0];
    // Like the OpenID Providers that publish only OIDC Discovery's document.
    const route = (openidConfigurationOnly && path.startsWith('/.well-known/oauth-authorization-server')) ? (_, r) => r.writeHead(404).end()
      : req.url.startsWith('/interaction/') ? interaction
      : (jwtAccessTokens && path === '/me') ? jwtUserinfo
        : (device && req.method === 'GET' && path === '/api/ping') ? ping
          : (device && req.method === 'GET' && path === '/test/rotations') ? (_, r) => r.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ rotations }))
            : callback;
    Promise.resolve(route(req, res)).catch((err) => {
      console.error('selfcheck route error:', err);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  return { issuer, close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }) };
}

