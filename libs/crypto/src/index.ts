export { MasterKeyring, open, seal, type WrappedKey } from './envelope.js';
export { PlatformSigner } from './platform-signer.js';
export { CryptoModule } from './crypto.module.js';
