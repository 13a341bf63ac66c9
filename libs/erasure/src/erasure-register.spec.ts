import { ErasureRegisterFileError, formatErasureRegister, parseErasureRegister } from './erasure-register.js';

describe('erasure register file', () => {
  const erasures = [
    { citizenId: '0b7c3d9e-5f1a-4c2b-9d8e-7f6a5b4c3d2e', erasedAt: new Date('2026-03-01T12:00:00.123Z') },
    { citizenId: 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d', erasedAt: new Date('2026-03-02T08:30:00.000Z') },
  ];

  it('reads back what it writes, skipping blank lines and comments', () => {
    const text = `# erasures kept off the platform\n\n${formatErasureRegister(erasures).join('\n')}\n`;
    expect(parseErasureRegister(text, 'erasures.txt')).toEqual(erasures);
  });

  it('holds nothing but the internal id and the time', () => {
    expect(formatErasureRegister(erasures)).toEqual([
      '0b7c3d9e-5f1a-4c2b-9d8e-7f6a5b4c3d2e 2026-03-01T12:00:00.123Z',
      'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d 2026-03-02T08:30:00.000Z',
    ]);
  });

  it.each([
    ['not an id', 'alice 2026-03-01T12:00:00Z'],
    ['no time', '0b7c3d9e-5f1a-4c2b-9d8e-7f6a5b4c3d2e'],
    ['not a time', '0b7c3d9e-5f1a-4c2b-9d8e-7f6a5b4c3d2e yesterday'],
    ['a third field', '0b7c3d9e-5f1a-4c2b-9d8e-7f6a5b4c3d2e 2026-03-01T12:00:00Z alice@exemple.ca'],
  ])('names the file and line of a bad line (%s)', (_case, line) => {
    expect(() => parseErasureRegister(`# ok\n${line}\n`, 'erasures.txt')).toThrow(ErasureRegisterFileError);
    expect(() => parseErasureRegister(`# ok\n${line}\n`, 'erasures.txt')).toThrow(/^erasures\.txt:2: /);
  });
});
