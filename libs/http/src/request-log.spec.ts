import { loggedPath } from './request-log.js';

describe(loggedPath.name, () => {
  it('drops the query string', () => {
    expect(loggedPath('/v1/me/access-log?limit=2&before=9')).toBe('/v1/me/access-log');
  });

  it('never shows the secret of a calendar feed URL', () => {
    const secret = 'q3Xv0aYb1_c-2dEf3gHi4jKl5mNo6pQr7sTu8vWx9yZ';
    expect(loggedPath(`/v1/calendar-feeds/${secret}.ics?x=1`)).toBe('/v1/calendar-feeds/{secret}');
    expect(loggedPath('/v1/me/deadlines.ics')).toBe('/v1/me/deadlines.ics');
  });
});
