#!/usr/bin/env node
// One node-oidc-provider for an end-to-end test of someone else's relying
// party (the Rust consumer: tests/tests/consumer_e2e.rs):
//   node op.mjs --redirect-uri URI [--alg RS256|ES256|EdDSA]
// Prints one JSON line {"issuer","client_id","client_secret"} on stdout,
// then serves (login and consent forms at /interaction/…, user alice /
// wonderland) until SIGTERM. Usage errors: one line, exit 2.
import { CLIENT_ID, CLIENT_SECRET, startProvider } from './provider.mjs';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const redirectUri = opt('--redirect-uri');
const alg = opt('--alg', 'RS256');
if (!redirectUri || !['RS256', 'ES256', 'EdDSA'].includes(alg)) {
  console.error('usage: op.mjs --redirect-uri URI [--alg RS256|ES256|EdDSA]');
  process.exit(2);
}
const op = await startProvider({ idTokenAlg: alg, redirectUris: [redirectUri] });
console.log(JSON.stringify({ issuer: op.issuer, client_id: CLIENT_ID, client_secret: CLIENT_SECRET }));
process.on('SIGTERM', async () => { await op.close(); process.exit(0); });
