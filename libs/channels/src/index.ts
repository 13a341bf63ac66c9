export { CHANNELS, type ChannelName } from './channel-names.js';
export {
  type ChannelReceipt,
  type Contacts,
  type Language,
  ChannelError,
  PermanentChannelError,
  REMINDER_CHANNELS,
  type ReminderChannel,
  type ReminderMessage,
  TransientChannelError,
} from './channel.js';
export { EmailChannel, mailDomain, reminderMessageId, smtpError } from './email.channel.js';
export { composeMail, type ComposedMail, type MailParts, mailSender } from './mime.js';
export { SmsChannel } from './sms.channel.js';
export { PortalChannel } from './portal.channel.js';
export {
  daysLeft,
  formatDue,
  REMINDER_ZONE,
  type ReminderFacts,
  reminderText,
  type ReminderText,
} from './reminder-text.js';
export { Notification } from './notification.entity.js';
export { ChannelsModule } from './channels.module.js';
export { type NotificationPage, NotificationsService } from './notifications.service.js';
