import { parseDeliverWebhookJob, parseSendReminderJob, parseSweepRemindersJob } from './jobs.js';

describe(parseDeliverWebhookJob.name, () => {
  const eventId = '8ad6868e-c5aa-4d57-aeab-dcb1741bde2b';
  const claim = '2026-11-25T13:15:51.123Z';

  it('reads an event id and the claim it was queued for', () => {
    expect(parseDeliverWebhookJob({ eventId, claim })).toEqual({ eventId, claim });
  });

  it.each([
    [{ eventId }, 'claim'], // queued before jobs carried their claim: it comes back when its lease ends
    [{ eventId, claim: 1764076551123 }, 'claim'],
    [{ eventId, claim: '2026-11-25T13:15:51Z' }, 'claim'], // not to the millisecond: would never match the lease
    [{ eventId, claim: '2026-13-45T13:15:51.123Z' }, 'claim'],
    [{ claim }, 'eventId'],
    [null, 'eventId'],
  ])('refuses %j, naming its %s', (data, field) => {
    expect(() => parseDeliverWebhookJob(data)).toThrow(`deliver-webhook job without a valid ${field}`);
  });
});

describe(parseSendReminderJob.name, () => {
  const reminderId = '0b6f8a4e-3f0c-4b7e-9d1a-2c5e7f9a1b3d';

  it('reads a reminder id, and nothing else', () => {
    expect(parseSendReminderJob({ reminderId })).toEqual({ reminderId });
  });

  it.each([
    [{}, 'without a valid reminderId'],
    [{ reminderId: 'not-a-uuid' }, 'without a valid reminderId'],
    [{ reminderId: 42 }, 'without a valid reminderId'],
    [{ reminderId, email: 'a@b.c' }, 'unexpected fields: email'], // ids only: never personal data
    [null, 'must be an object'],
    [[reminderId], 'must be an object'],
  ])('refuses %j', (data, message) => {
    expect(() => parseSendReminderJob(data)).toThrow(message);
  });
});

describe(parseSweepRemindersJob.name, () => {
  it('takes an empty payload and refuses any field', () => {
    expect(parseSweepRemindersJob({})).toEqual({});
    expect(() => parseSweepRemindersJob({ limit: 5 })).toThrow('unexpected fields: limit');
  });
});
