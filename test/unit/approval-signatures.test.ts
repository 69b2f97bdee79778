/**
 * Signed approvals, the pure parts: a key pair from node:crypto signs (shared/node/approvals/keys.ts) and the
 * workflow's pure Ed25519 check (workflows/common/signature.ts) verifies; the signature rule (approval-rules.ts)
 * refuses every way a signature can be wrong: another run, another decision, another subject, an unknown or another
 * approver's key, a forged value, and an unsigned decision where signatures are required.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { approvalDecisionSchema, approvalMessage, type ApproverKey } from '../../shared/contract/approval';
import { generateKeyFile, keyIdOf, readKeyFile, signDecision } from '../../shared/node/approvals/keys';
import { judgeSignature, type SignatureRulesState } from '../../workflows/approval-rules';
import { sha256Hex, verifyEd25519 } from '../../workflows/common/signature';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ados-keys-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const SUBJECT = 'a'.repeat(64);
const OTHER_SUBJECT = 'b'.repeat(64);
const alice = generateKeyFile(path.join(dir, 'alice.pem'));
const bob = generateKeyFile(path.join(dir, 'bob.pem'));
const keys: ApproverKey[] = [
  { approver: 'alice', ...alice },
  { approver: 'bob', ...bob },
];
const state = (overrides: Partial<SignatureRulesState> = {}): SignatureRulesState => ({
  workflowId: 'delivery-acme-r1',
  gate: 'prod',
  subjectHash: SUBJECT,
  keys,
  mode: 'required',
  ...overrides,
});
const signed = (file: string, fields: Partial<Parameters<typeof signDecision>[1]> = {}) => {
  const all = { workflowId: 'delivery-acme-r1', gate: 'prod', decision: 'approve' as const, approver: 'alice', subjectHash: SUBJECT, ...fields };
  return { decision: all.decision, approver: all.approver, subjectHash: all.subjectHash, signature: signDecision(file, all) };
};

test('a signature made with node:crypto verifies in pure code, and only over its own message', () => {
  const sig = signDecision(path.join(dir, 'alice.pem'), { workflowId: 'w', gate: 'g', decision: 'approve', approver: 'alice', subjectHash: SUBJECT });
  const message = approvalMessage({ workflowId: 'w', gate: 'g', decision: 'approve', approver: 'alice', subjectHash: SUBJECT });
  expect(verifyEd25519(alice.publicKey, message, sig.value)).toBe(true);
  expect(verifyEd25519(alice.publicKey, `${message} `, sig.value)).toBe(false);
  expect(verifyEd25519(bob.publicKey, message, sig.value)).toBe(false);
  expect(verifyEd25519('not a key', message, sig.value)).toBe(false);
  expect(sig.keyId).toBe(alice.keyId);
  expect(keyIdOf(alice.publicKey)).toBe(alice.keyId);
});

test("the workflow's sha256 is node:crypto's", () => {
  for (const text of ['', 'abc', 'Ünïcode ✓ 🚀', 'x'.repeat(10_000)]) {
    expect(sha256Hex(text)).toBe(createHash('sha256').update(text).digest('hex'));
  }
});

test('a decision signed by its approver over the current subject counts', () => {
  expect(judgeSignature(state(), signed(path.join(dir, 'alice.pem')), verifyEd25519)).toEqual({ counts: true });
});

test.each([
  ['signed for another run (replayed)', () => signed(path.join(dir, 'alice.pem'), { workflowId: 'delivery-acme-r2' }), /does not verify/],
  ['signed for another gate', () => signed(path.join(dir, 'alice.pem'), { gate: 'schema-migration' }), /does not verify/],
  ['a reject signature sent as an approve', () => ({ ...signed(path.join(dir, 'alice.pem'), { decision: 'reject' }), decision: 'approve' as const }), /does not verify/],
  ['signed over an older subject', () => signed(path.join(dir, 'alice.pem'), { subjectHash: OTHER_SUBJECT }), /signed another subject/],
  ["signed with bob's key, claiming to be alice", () => ({ ...signed(path.join(dir, 'bob.pem'), { approver: 'alice' }) }), /not registered for "alice"/],
  [
    'a forged signature value',
    () => {
      const d = signed(path.join(dir, 'alice.pem'));
      const bytes = Buffer.from(d.signature.value, 'base64');
      bytes[0] ^= 1;
      return { ...d, signature: { ...d.signature, value: bytes.toString('base64') } };
    },
    /does not verify/,
  ],
] as const)('refused: %s', (_what, decision, reason) => {
  const judgement = judgeSignature(state(), decision(), verifyEd25519);
  expect(judgement.counts).toBe(false);
  expect(judgement.counts ? '' : judgement.reason).toMatch(reason);
});

test("another tenant's key is unknown here (keys are loaded per tenant), and the caller is told to reload", () => {
  const judgement = judgeSignature(state({ keys: [{ approver: 'bob', ...bob }] }), signed(path.join(dir, 'alice.pem')), verifyEd25519);
  expect(judgement).toMatchObject({ counts: false, unknownKey: true });
});

test('unsigned decisions: refused where signatures are required, counted where optional', () => {
  const unsigned = { decision: 'approve' as const, approver: 'alice' };
  expect(judgeSignature(state(), unsigned, verifyEd25519)).toMatchObject({ counts: false, reason: expect.stringContaining('unsigned') });
  expect(judgeSignature(state({ mode: 'optional' }), unsigned, verifyEd25519)).toEqual({ counts: true });
  // A signed decision must verify even where signatures are optional.
  const forged = { ...signed(path.join(dir, 'alice.pem'), { workflowId: 'elsewhere' }) };
  expect(judgeSignature(state({ mode: 'optional' }), forged, verifyEd25519).counts).toBe(false);
});

test('the decision schema takes a signature only with the subject hash it signs, and checks their shape', () => {
  const d = signed(path.join(dir, 'alice.pem'));
  expect(approvalDecisionSchema.safeParse(d).success).toBe(true);
  const { subjectHash: _s, ...withoutSubject } = d;
  expect(approvalDecisionSchema.safeParse(withoutSubject).error?.issues[0]).toMatchObject({ path: ['signature'], message: expect.stringContaining('come together') });
  expect(approvalDecisionSchema.safeParse({ ...d, signature: { keyId: 'xyz', value: d.signature.value } }).success).toBe(false);
  expect(approvalDecisionSchema.safeParse({ ...d, signature: { ...d.signature, extra: 1 } }).success).toBe(false);
});

test('key files: never overwritten, refused when unreadable or not Ed25519, with the fix in the message', () => {
  expect(() => generateKeyFile(path.join(dir, 'alice.pem'))).toThrow(/exists/);
  fs.writeFileSync(path.join(dir, 'junk.pem'), 'not a key');
  expect(() => readKeyFile(path.join(dir, 'junk.pem'))).toThrow(/ados approver keygen/);
  expect(() => readKeyFile(path.join(dir, 'missing.pem'))).toThrow(/cannot read/);
  expect(fs.statSync(path.join(dir, 'alice.pem')).mode & 0o777).toBe(0o600);
});
