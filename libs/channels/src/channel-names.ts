/** The channels a citizen can be reached by; their preferences name the same three. */
export const CHANNELS = ['email', 'sms', 'portal'] as const;
export type ChannelName = (typeof CHANNELS)[number];
