export { AppConfig, devEd25519Jwk, type CitizenIssuerConfig, type MasterKey } from './app-config.js';
export { ConfigError, Env, validateEnv } from './env.js';
export { ConfigModule } from './config.module.js';
