import { createServer } from 'node:http';
import { AppConfig } from '#libs/config';
import { loadAccounts } from './accounts.js';
import { createIdentityProvider } from './identity-provider.js';

// The development OpenID provider: refused in production (AppConfig says so, naming NODE_ENV).
const config = AppConfig.fromEnvironment(process.env, { identityProvider: true });
const provider = createIdentityProvider(config, loadAccounts(config.idpAccountsFile));
const server = createServer(provider.callback());
server.listen(config.ports.idp, () =>
  process.stdout.write(`development OpenID provider at ${config.urls.idp} (never in production)\n`),
);
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => server.close(() => process.exit(0)));
