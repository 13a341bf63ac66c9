export {
  AppConfig,
  devEd25519Jwk,
  type CitizenIssuerConfig,
  type MasterKey,
  type PortalConfig,
  type ReminderConfig,
} from './app-config.js';
export { ConfigError, Env, validateEnv, type ConfigOptions } from './env.js';
export { type AppModuleOptions, ConfigModule } from './config.module.js';
export { Clock, ManualClock, montrealDay } from './clock.js';
