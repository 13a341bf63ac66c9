export { CHANNELS, type ChannelName } from './channel-names.js';
export { Notification } from './notification.entity.js';
export { ChannelsModule } from './channels.module.js';
export { type NotificationPage, NotificationsService } from './notifications.service.js';
