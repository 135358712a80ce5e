import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PersonName, type NameConvention } from '../../domain/model.js';
import {
  DEFAULT_RESERVED_LOCAL_PARTS,
  NoFreeIdentityError,
  displayName,
  familyDisplayName,
  foldNamePart,
  generateIdentity,
  identityCandidates,
  removeDiacritics,
} from '../../domain/naming.js';

const jan = (convention: NameConvention) =>
  PersonName.parse({
    nickName: 'Jan',
    familyName: 'Berg',
    familyNamePrefix: 'van den',
    partnerName: 'Vries',
    partnerNamePrefix: 'de',
    convention,
  });
const opts = { mailDomain: 'example.org', upnSuffix: 'corp.example.org' };
const usernames = (n: PersonName, max = 8) =>
  [...identityCandidates(n, { ...opts, maxIterations: max })].map((c) => c.username);

test('display names for the four conventions (docs/sources/model.md example)', () => {
  assert.equal(displayName(jan('B')), 'Jan van den Berg');
  assert.equal(displayName(jan('P')), 'Jan de Vries');
  assert.equal(displayName(jan('BP')), 'Jan van den Berg - de Vries');
  assert.equal(displayName(jan('PB')), 'Jan de Vries - van den Berg');
});

test('family-name part: the leading prefix is capitalised, an inner one is not', () => {
  assert.equal(familyDisplayName(jan('B')), 'Van den Berg');
  assert.equal(familyDisplayName(jan('P')), 'De Vries');
  assert.equal(familyDisplayName(jan('BP')), 'Van den Berg - de Vries');
  assert.equal(familyDisplayName(jan('PB')), 'De Vries - van den Berg');
  // a prefix delivered capitalised is lower-cased after a given name
  const n = PersonName.parse({ nickName: 'Piet', familyName: 'Heuvel', familyNamePrefix: 'Van Den' });
  assert.equal(displayName(n), 'Piet van den Heuvel');
  assert.equal(familyDisplayName(n), 'Van den Heuvel');
  const hart = PersonName.parse({ nickName: 'Kees', familyName: 'Hart', familyNamePrefix: "'t" });
  assert.equal(displayName(hart), "Kees 't Hart");
  assert.equal(familyDisplayName(hart), "'t Hart");
});

test('a partner convention without a partner name falls back to the own name', () => {
  const n = PersonName.parse({ nickName: 'Jan', familyName: 'Berg', familyNamePrefix: 'van den', convention: 'PB' });
  assert.equal(displayName(n), 'Jan van den Berg');
  assert.equal(usernames(n, 1)[0], 'j.vandenberg');
});

test('usernames use the first surname of the convention', () => {
  assert.equal(usernames(jan('B'), 1)[0], 'j.vandenberg');
  assert.equal(usernames(jan('BP'), 1)[0], 'j.vandenberg');
  assert.equal(usernames(jan('P'), 1)[0], 'j.devries');
  assert.equal(usernames(jan('PB'), 1)[0], 'j.devries');
});

test('iteration: more letters of the known-as name, then a number from 2; username, UPN and mail aligned', () => {
  const all = [...identityCandidates(jan('P'), { ...opts, maxIterations: 6 })];
  assert.deepEqual(
    all.map((c) => c.username),
    ['j.devries', 'ja.devries', 'jan.devries', 'j.devries2', 'j.devries3', 'j.devries4'],
  );
  assert.deepEqual(
    all.map((c) => c.iteration),
    [0, 1, 2, 3, 4, 5],
  );
  for (const c of all) {
    assert.equal(c.email, `${c.username}@example.org`);
    assert.equal(c.userPrincipalName, `${c.username}@corp.example.org`);
  }
  assert.equal([...identityCandidates(jan('P'), opts)].length, 50, 'default maxIterations is 50');
});

test('diacritics are removed', () => {
  assert.equal(
    removeDiacritics('Çelik Müller Ødegaard Zoë Æsa Łukasz Đorđe ĳsbrand Straße'),
    'Celik Muller Odegaard Zoe AEsa Lukasz Dorde ijsbrand Strasse',
  );
  const cases: [Record<string, string>, string][] = [
    [{ nickName: 'Zoë', familyName: 'Çelik' }, 'z.celik'],
    [{ nickName: 'Jürgen', familyName: 'Müller' }, 'j.muller'],
    [{ nickName: 'Søren', familyName: 'Ødegaard' }, 's.odegaard'],
    [{ nickName: 'Ĳsbrand', familyName: 'Groß' }, 'i.gross'],
    [{ nickName: 'Élodie', familyName: 'Łęcka' }, 'e.lecka'],
  ];
  for (const [n, expected] of cases) assert.equal(usernames(PersonName.parse(n), 1)[0], expected);
  assert.deepEqual(usernames(PersonName.parse({ nickName: 'Ĳsbrand', familyName: 'Groß' }), 3), [
    'i.gross',
    'ij.gross',
    'ijs.gross',
  ]);
});

test('apostrophes, prefixes and spaces are folded', () => {
  assert.equal(usernames(PersonName.parse({ nickName: 'Luca', familyName: "D'Angelo" }), 1)[0], 'l.dangelo');
  assert.equal(
    usernames(PersonName.parse({ nickName: 'Kees', familyName: 'Hart', familyNamePrefix: "'t" }), 1)[0],
    'k.thart',
  );
  assert.equal(
    usernames(PersonName.parse({ nickName: 'Mo', familyName: 'Cate', familyNamePrefix: 'ten' }), 1)[0],
    'm.tencate',
  );
  assert.equal(
    usernames(PersonName.parse({ nickName: 'Henk', familyName: 'Wal', familyNamePrefix: 'van der' }), 1)[0],
    'h.vanderwal',
  );
  assert.equal(foldNamePart("  O'Brien-Smith "), 'obrien-smith');
  assert.equal(foldNamePart('--a--b--'), 'a-b');
});

test('double given names keep the hyphen but never end a stem on it', () => {
  const n = PersonName.parse({ nickName: 'Anne-Marie', familyName: 'Jansen' });
  assert.deepEqual(usernames(n, 7), [
    'a.jansen',
    'an.jansen',
    'ann.jansen',
    'anne.jansen',
    'anne-m.jansen',
    'anne-ma.jansen',
    'anne-mar.jansen',
  ]);
  for (const u of usernames(n, 50)) assert.match(u, /^[a-z0-9.-]+$/);
});

test('usernames are at most 20 characters; mail keeps the full name; numbers survive the cut', () => {
  const n = PersonName.parse({
    nickName: 'Bartholomeus',
    familyName: 'Wolfeschlegelsteinhausenbergerdorff',
    familyNamePrefix: 'van der',
  });
  const all = [...identityCandidates(n, { ...opts, maxIterations: 50 })];
  for (const c of all) {
    assert.ok(c.username.length <= 20, c.username);
    assert.match(c.username, /^[a-z0-9][a-z0-9.-]*[a-z0-9]$/);
  }
  assert.equal(all[0]!.username, 'b.vanderwolfeschlege');
  assert.equal(all[0]!.email, 'b.vanderwolfeschlegelsteinhausenbergerdorff@example.org');
  const numbered = all.find((c) => c.iteration === 12)!;
  assert.equal(numbered.username, 'b.vanderwolfeschleg2');
  assert.equal(numbered.email, 'b.vanderwolfeschlegelsteinhausenbergerdorff2@example.org');
  assert.equal(new Set(all.map((c) => c.username)).size, all.length, 'no duplicates');
});

test('a very long given name: duplicates after the cut are skipped without losing an index', () => {
  const n = PersonName.parse({ nickName: 'Abcdefghijklmnopqrstuvwxyz', familyName: 'Li' });
  const all = [...identityCandidates(n, { ...opts, maxIterations: 50 })];
  assert.equal(new Set(all.map((c) => c.username)).size, all.length);
  assert.deepEqual(
    all.map((c) => c.iteration),
    all.map((_, i) => i),
  );
  for (const c of all) assert.ok(c.username.length <= 20);
});

test('names that fold to nothing fall back, never to an empty username', () => {
  const chinese = PersonName.parse({ nickName: '李', familyName: '王' });
  assert.deepEqual(usernames(chinese, 3), ['user', 'user2', 'user3']);
  assert.equal(
    [...identityCandidates(chinese, { ...opts, fallback: 'e100234', maxIterations: 1 })][0]!.username,
    'e100234',
  );
  assert.deepEqual(usernames(PersonName.parse({ nickName: '—', familyName: 'Jansen' }), 2), ['jansen', 'jansen2']);
  assert.deepEqual(usernames(PersonName.parse({ nickName: 'Jan', familyName: '王' }), 2), ['jan', 'jan2']);
});

test('generateIdentity returns the first free candidate (sync or async check)', async () => {
  const taken = new Set(['j.devries', 'ja.devries', 'jan.devries@example.org']);
  const got = await generateIdentity(jan('P'), {
    ...opts,
    isTaken: (c) => taken.has(c.username) || taken.has(c.email),
  });
  assert.deepEqual(got, {
    username: 'j.devries2',
    userPrincipalName: 'j.devries2@corp.example.org',
    email: 'j.devries2@example.org',
    iteration: 3,
  });
  const first = await generateIdentity(jan('B'), { mailDomain: 'example.org', isTaken: async () => false });
  assert.equal(first.userPrincipalName, 'j.vandenberg@example.org', 'UPN suffix defaults to the mail domain');
  await assert.rejects(
    generateIdentity(jan('B'), { ...opts, maxIterations: 5, isTaken: () => true }),
    (e: unknown) => e instanceof NoFreeIdentityError && e.tried === 5,
  );
});

test('a reserved local part (role mailbox, AD built-in) is never issued; the list is extendable', () => {
  // Known-as name "Hostmaster" with a surname that folds to nothing: the bare name would be issued.
  const role = PersonName.parse({ nickName: 'Hostmaster', familyName: '王', convention: 'B' });
  const got = [...identityCandidates(role, { ...opts, maxIterations: 3 })].map((c) => c.username);
  assert.deepEqual(got, ['hostmaster2', 'hostmaster3', 'hostmaster4']);
  const first = [...identityCandidates(role, { ...opts, maxIterations: 1 })][0]!;
  assert.equal(first.iteration, 0, 'a skipped candidate uses no index');
  assert.equal(first.email, 'hostmaster2@example.org');
  for (const nick of ['Postmaster', 'Admin', 'Root', 'Abuse', 'Webmaster', 'Administrator', 'Krbtgt']) {
    const c = [...identityCandidates(PersonName.parse({ nickName: nick, familyName: '-', convention: 'B' }), opts)][0]!;
    assert.ok(!DEFAULT_RESERVED_LOCAL_PARTS.includes(c.email.split('@')[0]!), `${nick} → ${c.email}`);
    assert.ok(!DEFAULT_RESERVED_LOCAL_PARTS.includes(c.username), `${nick} → ${c.username}`);
  }
  // Configured extras, case-insensitive, for the username as well as the mail local part.
  const jan = PersonName.parse({ nickName: 'Jan', familyName: 'Vries', convention: 'B' });
  assert.equal([...identityCandidates(jan, opts)][0]!.username, 'j.vries');
  const extra = [...identityCandidates(jan, { ...opts, reservedLocalParts: ['J.Vries', 'ja.vries'] })][0]!;
  assert.equal(extra.username, 'jan.vries');
  assert.equal(extra.iteration, 0);
});
