// The Node peer for Latch's load benchmark: express + @node-oauth/oauth2-server,
// in-memory stores, the same endpoints `latch serve` offers:
//
//   POST /oauth2/token       client_credentials, client_secret_basic
//   GET  /api/ping           Bearer-protected, {"ping":"pong"}
//   POST /oauth2/introspect  RFC 7662, client_secret_basic (the library has no
//                            introspection endpoint: written here over its model)
//
//   BENCH_CLIENT_ID=... BENCH_CLIENT_SECRET=... BENCH_TOKEN=... PORT=... \
//     BENCH_WORKERS=2 node server.js
//
// Like gunicorn's workers = cores, the cluster module runs BENCH_WORKERS
// (default: one per core) processes sharing the port. Each worker has its own
// in-memory store, so the client and one access token (BENCH_TOKEN, scope
// "read") are seeded into every worker; tokens issued during the run live in
// the issuing worker's Map.
'use strict';

const cluster = require('node:cluster');
const crypto = require('node:crypto');
const os = require('node:os');

const CLIENT_ID = process.env.BENCH_CLIENT_ID || 'bench-client';
const CLIENT_SECRET = process.env.BENCH_CLIENT_SECRET || 'bench-secret';
const SEED_TOKEN = process.env.BENCH_TOKEN || 'bench-token';
const PORT = Number(process.env.PORT || 18383);
const WORKERS = Number(process.env.BENCH_WORKERS || os.availableParallelism());

if (cluster.isPrimary && WORKERS > 1) {
  let listening = 0;
  for (let i = 0; i < WORKERS; i++) cluster.fork();
  cluster.on('listening', () => {
    listening += 1;
    if (listening === WORKERS) console.log(`listening on http://127.0.0.1:${PORT}`);
  });
  const stop = () => {
    for (const w of Object.values(cluster.workers)) w.kill();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  serve();
}

function serve() {
  const express = require('express');
  const OAuth2Server = require('@node-oauth/oauth2-server');
  const { Request, Response } = OAuth2Server;

  const client = {
    id: CLIENT_ID,
    secret: CLIENT_SECRET,
    grants: ['client_credentials'],
    scope: ['read', 'write'],
  };
  const tokens = new Map();
  tokens.set(SEED_TOKEN, {
    accessToken: SEED_TOKEN,
    accessTokenExpiresAt: new Date(Date.now() + 3600 * 1000),
    issuedAt: new Date(),
    scope: ['read'],
    client,
    user: { id: CLIENT_ID },
  });

  const secretMatches = (given) => {
    const a = Buffer.from(given || '');
    const b = Buffer.from(client.secret);
    return a.length === b.length && crypto.timingSafeEqual(a, b);
  };

  const model = {
    async getClient(clientId, clientSecret) {
      if (clientId !== client.id) return null;
      if (clientSecret != null && !secretMatches(clientSecret)) return null;
      return client;
    },
    async getUserFromClient(c) {
      return { id: c.id };
    },
    async validateScope(user, c, scope) {
      if (!scope) return ['read'];
      return scope.every((s) => c.scope.includes(s)) ? scope : false;
    },
    async saveToken(token, c, user) {
      const saved = { ...token, issuedAt: new Date(), client: c, user };
      tokens.set(token.accessToken, saved);
      return saved;
    },
    async getAccessToken(accessToken) {
      return tokens.get(accessToken) || null;
    },
  };

  const oauth = new OAuth2Server({ model, accessTokenLifetime: 3600 });
  const app = express();
  app.disable('x-powered-by');
  app.use(express.urlencoded({ extended: false, limit: '64kb' }));

  const send = (res, response) => {
    res.set(response.headers);
    res.status(response.status).json(response.body);
  };
  const fail = (res, err) => {
    res.status(err.code || 500).json({ error: err.name || 'server_error', error_description: err.message });
  };

  app.post('/oauth2/token', async (req, res) => {
    const request = new Request(req);
    const response = new Response(res);
    try {
      await oauth.token(request, response);
      send(res, response);
    } catch (err) {
      fail(res, err);
    }
  });

  app.get('/api/ping', async (req, res) => {
    try {
      await oauth.authenticate(new Request(req), new Response(res));
      res.json({ ping: 'pong' });
    } catch (err) {
      fail(res, err);
    }
  });

  // RFC 7662 over the same model: Basic client authentication, then the token.
  app.post('/oauth2/introspect', async (req, res) => {
    const auth = req.get('authorization') || '';
    const m = /^Basic (.+)$/i.exec(auth);
    const [id, secret] = m ? Buffer.from(m[1], 'base64').toString().split(':') : [];
    const c = m ? await model.getClient(decodeURIComponent(id || ''), decodeURIComponent(secret || '')) : null;
    if (!c) {
      res.set('WWW-Authenticate', 'Basic realm="latch-bench"');
      return res.status(401).json({ error: 'invalid_client' });
    }
    if (!req.body || typeof req.body.token !== 'string') {
      return res.status(400).json({ error: 'invalid_request' });
    }
    const t = await model.getAccessToken(req.body.token);
    if (!t || t.accessTokenExpiresAt <= new Date()) return res.json({ active: false });
    res.json({
      active: true,
      client_id: t.client.id,
      token_type: 'Bearer',
      scope: t.scope.join(' '),
      exp: Math.floor(t.accessTokenExpiresAt / 1000),
      iat: Math.floor(t.issuedAt / 1000),
    });
  });

  app.listen(PORT, '127.0.0.1', () => {
    if (WORKERS <= 1) console.log(`listening on http://127.0.0.1:${PORT}`);
  });
}
