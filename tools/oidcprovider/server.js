// node's oidc-provider on loopback, for credkeeper's private_key_jwt tests:
// a real OAuth2 server that authenticates clients itself.
//
//   node server.js CLIENTS_JSON
//
// CLIENTS_JSON is a file holding [{"client_id": "...", "jwks": {"keys": [...]}}];
// each client may use client_credentials and authenticates with
// private_key_jwt against its JWKS. The server listens on 127.0.0.1 at a
// port of the system's choosing and prints one line of JSON on standard
// output, {"issuer": ..., "token_url": ...}, once it accepts requests.
// It stops when standard input closes.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const clients = JSON.parse(readFileSync(process.argv[2], 'utf8')).map((c) => ({
  client_id: c.client_id,
  token_endpoint_auth_method: 'private_key_jwt',
  token_endpoint_auth_signing_alg: undefined,
  jwks: c.jwks,
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
}));

const server = createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients,
    features: { clientCredentials: { enabled: true }, devInteractions: { enabled: false } },
    clientAuthMethods: ['private_key_jwt'],
    enabledJWA: { clientAuthSigningAlgValues: ['RS256', 'ES256'] },
  });
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  server.on('request', provider.callback());
  process.stdout.write(JSON.stringify({ issuer, token_url: `${issuer}/token` }) + '\n');
});

process.stdin.resume();
process.stdin.on('end', () => server.close(() => process.exit(0)));
