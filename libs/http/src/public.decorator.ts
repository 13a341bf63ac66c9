import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'une-fois:public';

/** Opts a controller or route out of the app's authentication guard, which otherwise denies by default. */
export const Public = (): ClassDecorator & MethodDecorator => SetMetadata(IS_PUBLIC, true);
