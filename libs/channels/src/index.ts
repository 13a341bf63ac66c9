export { CHANNELS, type ChannelName } from './channel-names.js';
export { Notification } from './notification.entity.js';
export { ChannelsModule } from './channels.module.js';
