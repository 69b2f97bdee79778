/** `ados governance override set`'s flags: laid over the current overrides (or none with --replace), each refusal naming its flag. */
import { overridesFromFlags } from '../../client/commands/governance';
import type { InputValidationError } from '../../shared/contract/validation';

const refusal = (flags: Parameters<typeof overridesFromFlags>[0]): string => {
  try {
    overridesFromFlags(flags, {});
  } catch (error) {
    return (error as InputValidationError).issues.map((i) => `${i.path}: ${i.message}`).join('\n');
  }
  throw new Error(`flags ${JSON.stringify(flags)} were accepted`);
};

test('values are laid over the current overrides per family, field and environment; --replace starts from none', () => {
  const current = { cooldownSeconds: { restart: 30 }, repetition: { max: 4 }, allowlists: { stage: ['noop' as const] } };
  expect(overridesFromFlags({ cooldown: ['scale=0'], repetitionWindow: '60', allow: ['dev=*'], confidence: '0.25' }, current)).toEqual({
    cooldownSeconds: { restart: 30, scale: 0 },
    repetition: { max: 4, windowSeconds: 60 },
    allowlists: { stage: ['noop'], dev: '*' },
    confidenceThreshold: 0.25,
  });
  expect(overridesFromFlags({ replace: true, allow: ['stage=restart,noop'] }, current)).toEqual({ allowlists: { stage: ['restart', 'noop'] } });
  expect(overridesFromFlags({ replace: true }, current)).toEqual({});
});

test('each bad flag is refused with the flag named', () => {
  expect(refusal({ cooldown: ['restart=999999'] })).toBe('--cooldown restart: at most a day (86400)');
  expect(refusal({ cooldown: ['reboot=5'] })).toContain('--cooldown: unknown cooldown reboot: the families are restart, scale, rollback, deploy');
  expect(refusal({ cooldown: ['restart'] })).toContain('--cooldown: expected <family>=<seconds>');
  expect(refusal({ confidence: '1.5' })).toContain('--confidence: must be a number from 0 to 1');
  expect(refusal({ repetitionMax: 'three' })).toContain('--repetition-max: must be a whole number');
  expect(refusal({ repetitionMax: '0' })).toBe('--repetition-max: at least 1');
  expect(refusal({ repetitionWindow: '100000' })).toBe('--repetition-window: at most a day (86400)');
  expect(refusal({ allow: ['stage=drop_database'] })).toContain('--allow stage: "*" or a list of');
  expect(refusal({ allow: ['qa=restart'] })).toBe('--allow: unknown environment "qa": one of dev, stage, prod');
  expect(refusal({})).toContain('flags: give at least one of --cooldown');
});
