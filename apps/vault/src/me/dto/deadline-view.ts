import type { RegistrySnapshot } from '#libs/catalogue';
import type { Notification } from '#libs/channels';
import type { DeadlineWithReminders } from '#libs/reminders';

/** A deadline as the citizen sees it, with each reminder and what each channel did with it. */
export function deadlineView({ deadline, reminders }: DeadlineWithReminders, registry: RegistrySnapshot) {
  return {
    id: deadline.id,
    kind: deadline.kind,
    kindLabel: registry.deadlineKind(deadline.kind)?.label ?? null,
    title: deadline.title,
    organisation: deadline.organisationId,
    organisationName: registry.organisation(deadline.organisationId)?.name ?? null,
    dueAt: deadline.dueAt.toISOString(),
    status: deadline.status,
    closedAt: deadline.closedAt?.toISOString() ?? null,
    actionUrl: deadline.actionUrl,
    source: deadline.serviceId
      ? { service: deadline.serviceId }
      : { attribute: deadline.sourceAttribute as string },
    reminders: reminders.map((r) => ({
      id: r.id,
      offsetDays: r.offsetDays,
      sendAt: r.sendAt.toISOString(),
      status: r.status,
      reason: r.reason,
      sentAt: r.sentAt?.toISOString() ?? null,
      channels: r.deliveries.map((d) => ({
        channel: d.channel,
        status: d.status,
        reason: d.reason,
        at: d.at.toISOString(),
      })),
    })),
  };
}

export function notificationView(notification: Notification) {
  return {
    id: notification.id,
    deadlineId: notification.deadlineId,
    language: notification.language,
    subject: notification.subject,
    body: notification.body,
    actionUrl: notification.actionUrl,
    createdAt: notification.createdAt.toISOString(),
    readAt: notification.readAt?.toISOString() ?? null,
  };
}
