/**
 * Writes the demo tenant: a rules file with demo timings (minutes, not days) and two versions of
 * an HR export of about 50 employees. Version 1 is loaded at once; version 2, loaded a little
 * later by scripts/demo.sh, carries the movers, name changes, a withdrawn hire and a rehire.
 * Usage: node --import tsx scripts/demo/tenant.ts <dir>
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addDays, localDate, localTime } from '../../domain/dates.js';
import { ALL_STAFF_RULE } from '../../test/support/rules-fixtures.js';

const dir = process.argv[2] ?? '.run/demo/tenant';
mkdirSync(dir, { recursive: true });
const zone = 'Europe/Amsterdam';
const now = Date.now();
const at = (minutes: number) => ({
  date: localDate(now + minutes * 60_000, zone),
  time: localTime(now + minutes * 60_000, zone) + ':00',
});
const enable = at(3); // new hires start 3 minutes from now
const disable = at(4); // leavers (ended yesterday) are disabled 4 minutes from now
const today = enable.date;

writeFileSync(
  join(dir, 'rules.yaml'),
  `# Demo timings: accounts are created 2 minutes before the start moment and deleted 4 minutes
# after the disable moment, so the whole lifecycle plays out in about ten minutes.
version: "demo-1"
timeZone: ${zone}
defaults:
  timings:
    enableAt: "${enable.time}"
    disableAt: "${disable.time}"
    createSecondsBeforeStart: 120
    deleteAfterSeconds: 240
targets:
  - id: ad
    kind: ad
    # Go-live: an account already in the managed OUs that carries a person's employee number is
    # taken over with its own login names (demo:1005, see scripts/demo/prepare.ts legacy).
    options: { ownership: { adopt: inScope } }
rules:
${ALL_STAFF_RULE}  - name: care staff
    conditions:
      department: [ZORG-W, ZORG-T]
    entitlements:
      ad: { permissions: [ecd-users] }
`,
);

const header =
  'person_key;nick_name;given_name;initials;family_name_prefix;family_name;partner_name_prefix;partner_name;name_convention;business_email;location;contract_id;start_date;end_date;department_code;department_name;title_code;title_name;contract_location;manager_key;employer;fte;sequence;bsn;salary';
const departments: [string, string][] = [
  ['ZORG-W', 'Zorg Wijk'],
  ['ZORG-T', 'Zorg Thuis'],
  ['ICT', 'ICT & Facilitair'],
  ['HR', 'P&O'],
  ['FIN', 'Financiën'],
];
const locations = ['Utrecht', 'Amersfoort', 'Zeist'];
// One name per employee (demo:1000 + index). A few are real namesakes, so the naming iteration
// shows (docs/naming.md): three Ruben ter Horsts get r.terhorst, ru.terhorst and rub.terhorst, in the
// order their accounts are made, and three Bo Smits get b.smit, bo.smit and b.smit2.
const people: [string, string, string, string, string, string][] = [
  // nick, prefix, family, partner prefix, partner, convention
  ['Jan', 'van den', 'Berg', 'de', 'Vries', 'B'],
  ['Anne-Marie', '', 'Jansen', '', '', 'B'],
  ['Zoë', '', 'Çelik', '', '', 'B'],
  ['Sean', '', "O'Brien", '', '', 'B'],
  ['Fleur', "'t", 'Hart', 'van', 'Dijk', 'BP'],
  ['Søren', '', 'Ødegaard', '', '', 'B'],
  ['Noor', 'de', 'Groot', 'van der', 'Meer', 'P'],
  ['Lotte', '', 'Müller', 'de', 'Wit', 'PB'],
  ['Daan', 'van', 'Leeuwen', '', '', 'B'],
  ['Sanne', '', 'Visser', '', '', 'B'],
  ['Ruben', 'ter', 'Horst', '', '', 'B'],
  ['Emma', '', 'Smit', '', '', 'B'],
  ['Thijs', 'van der', 'Linden', '', '', 'B'],
  ['Iris', '', 'Bos', '', '', 'B'],
  ['Lucas', '', 'Mulder', '', '', 'B'],
  ['Julia', 'de', 'Boer', '', '', 'B'],
  ['Milan', '', 'Dekker', '', '', 'B'],
  ['Sara', '', 'El Amrani', '', '', 'B'],
  ['Bram', '', 'Peters', '', '', 'B'],
  ['Eva', 'van', 'Dam', '', '', 'B'],
  // 20..29: staff in service (20..23 move, 24..26 take their partner's name in version 2)
  ['Tim', '', 'Hendriks', '', '', 'B'],
  ['Lisa', '', 'Vermeulen', '', '', 'B'],
  ['Kevin', '', 'Brouwer', '', '', 'B'],
  ['Femke', 'de', 'Jong', '', '', 'B'],
  ['Anouk', '', 'Kok', '', '', 'B'],
  ['Sophie', '', 'Schouten', '', '', 'B'],
  ['Mila', '', 'Koster', '', '', 'B'],
  ['Bo', '', 'Smit', '', '', 'B'],
  ['Yusuf', '', 'Yılmaz', '', '', 'B'],
  ['Hanna', '', 'Willems', '', '', 'B'],
  // 30..39: new hires today (38 is withdrawn in version 2)
  ['Ruben', 'ter', 'Horst', '', '', 'B'],
  ['Ruben', 'ter', 'Horst', '', '', 'B'],
  ['Bo', '', 'Smit', '', '', 'B'],
  ['Bo', '', 'Smit', '', '', 'B'],
  ['Jesse', '', 'Meijer', '', '', 'B'],
  ['Nina', 'van', 'Wijk', '', '', 'B'],
  ['Stijn', '', 'Jacobs', '', '', 'B'],
  ['Lieke', '', 'Kramer', '', '', 'B'],
  ['Mohamed', '', 'Bakkali', '', '', 'B'],
  ['Roos', '', 'Prins', '', '', 'B'],
  // 40..45: leavers (45 is rehired in version 2)
  ['Gert', '', 'Huisman', '', '', 'B'],
  ['Marieke', 'van', 'Veen', '', '', 'B'],
  ['Wouter', '', 'Postma', '', '', 'B'],
  ['Ingrid', '', 'Kuipers', '', '', 'B'],
  ['Henk', '', 'Bosman', '', '', 'B'],
  ['Petra', '', 'Wolters', '', '', 'B'],
  // 46..49: start next month
  ['Olivia', '', 'Hoekstra', '', '', 'B'],
  ['Finn', 'van', 'Beek', '', '', 'B'],
  ['Saar', '', 'Lammers', '', '', 'B'],
  ['Luuk', '', 'Verbeek', '', '', 'B'],
];

type Row = Record<string, string>;
const rows1: Row[] = [];
const rows2: Row[] = [];
const row = (
  i: number,
  contract: number,
  start: string,
  end: string,
  dept: number,
  loc: number,
  manager: string,
  extra: Partial<Row> = {},
): Row => {
  const p = people[i]!;
  const key = String(1000 + i);
  const [dcode, dname] = departments[dept % departments.length]!;
  return {
    person_key: key,
    nick_name: p[0],
    given_name: p[0],
    initials: `${p[0][0]}.`,
    family_name_prefix: p[1],
    family_name: p[2],
    partner_name_prefix: p[3],
    partner_name: p[4],
    name_convention: p[5],
    business_email: i === 0 ? 'j.vandenberg@tenure.test' : '',
    location: locations[loc % locations.length]!,
    contract_id: `${key}-${contract}`,
    start_date: start,
    end_date: end,
    department_code: dcode,
    department_name: dname,
    title_code: i === 0 ? 'MGR' : 'MW',
    title_name: i === 0 ? 'Manager' : 'Medewerker',
    contract_location: locations[loc % locations.length]!,
    manager_key: i === 0 ? '' : '1000',
    employer: 'Zorggroep Demo',
    fte: '0,8',
    sequence: String(contract),
    // The export also carries data Tenure must never keep; the file source drops these columns.
    bsn: '123456782',
    salary: '3500',
    ...extra,
  };
};

const yesterday = addDays(today, -1);
for (let i = 0; i < people.length; i++) {
  const dept = i % departments.length;
  const loc = i % locations.length;
  if (i < 30) {
    // Staff in service; 30..34 are movers and name changes in version 2.
    rows1.push(row(i, 1, '2023-01-01', '', dept, loc, '1000'));
    const moved = i >= 20 && i < 24;
    const renamed = i >= 24 && i < 27;
    rows2.push(
      row(
        i,
        1,
        '2023-01-01',
        '',
        moved ? dept + 1 : dept,
        moved ? loc + 1 : loc,
        '1000',
        renamed ? { partner_name_prefix: 'van', partner_name: 'Rijn', name_convention: 'P' } : {},
      ),
    );
    if (i === 5 || i === 6) {
      // Two contracts: a second one in another department.
      const second = row(i, 2, '2024-06-01', '', dept + 2, loc, '1000');
      rows1.push(second);
      rows2.push(second);
    }
  } else if (i < 40) {
    // New hires starting today, a few minutes from now; 38 is withdrawn in version 2.
    rows1.push(row(i, 1, today, '', dept, loc, '1000'));
    if (i !== 38) rows2.push(row(i, 1, today, '', dept, loc, '1000'));
  } else if (i < 46) {
    // Leavers: last day yesterday, disabled at the demo's disable moment.
    rows1.push(row(i, 1, '2022-02-01', yesterday, dept, loc, '1000'));
    // 45 is rehired during retention in version 2: a new contract from today.
    rows2.push(row(i, 1, '2022-02-01', yesterday, dept, loc, '1000'));
    if (i === 45) rows2.push(row(i, 2, today, '', dept, loc, '1000'));
  } else {
    // Future hires next month: pending, their accounts are created later.
    rows1.push(row(i, 1, addDays(today, 40), '', dept, loc, '1000'));
    rows2.push(row(i, 1, addDays(today, 40), '', dept, loc, '1000'));
  }
}
const csv = (rows: Row[]) =>
  [
    header,
    ...rows.map((r) =>
      header
        .split(';')
        .map((c) => (r[c] ?? '').replace(/;/g, ','))
        .join(';'),
    ),
  ].join('\n') + '\n';
writeFileSync(join(dir, 'hr-export-v1.csv'), csv(rows1));
writeFileSync(join(dir, 'hr-export-v2.csv'), csv(rows2));
console.log(
  `demo tenant in ${dir}: ${new Set(rows1.map((r) => r.person_key)).size} employees; hires start ${enable.date} ${enable.time}, leavers disabled ${disable.time}`,
);
