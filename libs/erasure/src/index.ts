export {
  ErasureRegisterFileError,
  formatErasureRegister,
  parseErasureRegister,
  readErasureRegister,
  type RegisteredErasure,
} from './erasure-register.js';
export { ErasureModule } from './erasure.module.js';
export { ErasureService, type ReplayResult } from './erasure.service.js';
