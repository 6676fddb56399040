#!/usr/bin/env node
// One node-oidc-provider for an end-to-end test of someone else's client:
// the Rust consumer (tests/tests/consumer_e2e.rs) or the firmware's device
// (tests/tests/firmware_tap.rs).
//   node op.mjs --redirect-uri URI [--alg RS256|ES256|EdDSA]
//   node op.mjs --device [--listen HOST:PORT] [--issuer URL]
//               [--tls-cert PEM --tls-key PEM] [--access-token-ttl SECONDS]
//               [--rotate-refresh-tokens] [--jwt-access-tokens]
//               [--openid-configuration-only]
// Prints one JSON line {"issuer","client_id","client_secret"} on stdout
// (with --device, the device client's), then serves (login and consent
// forms at /interaction/…, user alice / wonderland; with --device also the
// RFC 8628 verification page at /device and GET /api/ping) until SIGTERM.
// Usage errors: one line, exit 2.
import { readFileSync } from 'node:fs';
import { CLIENT_ID, CLIENT_SECRET, DEVICE_CLIENT_ID, DEVICE_CLIENT_SECRET, startProvider } from './provider.mjs';

const USAGE = 'usage: op.mjs --redirect-uri URI [--alg RS256|ES256|EdDSA] | --device [--listen HOST:PORT] [--issuer URL] [--tls-cert PEM --tls-key PEM] [--access-token-ttl SECONDS] [--rotate-refresh-tokens] [--jwt-access-tokens] [--openid-configuration-only]';
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const usage = () => { console.error(USAGE); process.exit(2); };
const device = args.includes('--device');
const redirectUri = opt('--redirect-uri');
const alg = opt('--alg', 'RS256');
if ((!redirectUri && !device) || !['RS256', 'ES256', 'EdDSA'].includes(alg)) usage();
const listenArg = opt('--listen', '127.0.0.1:0');
const listenMatch = listenArg.match(/^(\d+\.\d+\.\d+\.\d+):(\d+)$/);
if (!listenMatch) usage();
const listen = { host: listenMatch[1], port: Number(listenMatch[2]) };
const certPath = opt('--tls-cert');
const keyPath = opt('--tls-key');
if (Boolean(certPath) !== Boolean(keyPath)) usage();
let tls = null;
try {
  tls = certPath ? { cert: readFileSync(certPath), key: readFileSync(keyPath) } : null;
} catch (e) {
  console.error(`op.mjs: ${e.message}`);
  process.exit(2);
}
const ttl = Number(opt('--access-token-ttl', '300'));
if (!Number.isInteger(ttl) || ttl < 1) usage();
const op = await startProvider({
  idTokenAlg: alg,
  redirectUris: redirectUri ? [redirectUri] : undefined,
  listen,
  tls,
  issuerUrl: opt('--issuer', null),
  device,
  accessTokenTtl: ttl,
  rotateRefreshTokens: args.includes('--rotate-refresh-tokens'),
  jwtAccessTokens: args.includes('--jwt-access-tokens'),
  openidConfigurationOnly: args.includes('--openid-configuration-only'),
});
const [clientId, clientSecret] = device ? [DEVICE_CLIENT_ID, DEVICE_CLIENT_SECRET] : [CLIENT_ID, CLIENT_SECRET];
console.log(JSON.stringify({ issuer: op.issuer, client_id: clientId, client_secret: clientSecret }));
// The test reads that one line and closes stdout: whatever
// node-oidc-provider logs later (its notices on default pages) goes to
// stderr, or its write would fail with EPIPE and take the process down.
console.log = console.info = console.error;
process.on('SIGTERM', async () => { await op.close(); process.exit(0); });
