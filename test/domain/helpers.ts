import { Person, type PersonInput } from '../../domain/model.js';

/** A valid person with sensible defaults; `contracts` given as partial contract inputs. */
export function person(overrides: Partial<PersonInput> = {}): Person {
  return Person.parse({
    source: 'file',
    key: '100234',
    name: { nickName: 'Jan', familyName: 'Berg', familyNamePrefix: 'van den' },
    contracts: [],
    ...overrides,
  });
}

export function contract(id: string, startDate: string, endDate?: string, extra: Record<string, unknown> = {}) {
  return { id, startDate, ...(endDate ? { endDate } : {}), department: { code: 'FIN', name: 'Finance' }, ...extra };
}
