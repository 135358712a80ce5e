import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Contract } from '../../domain/model.js';
import { Determinant, primaryContract, rankContracts } from '../../domain/primary-contract.js';
import { contract } from './helpers.js';

const c = (id: string, start: string, end?: string, extra: Record<string, unknown> = {}) =>
  Contract.parse(contract(id, start, end, extra));

test('ranks by sequence, then FTE descending, then start date, ties by id', () => {
  const list = [
    c('d', '2027-01-01', undefined, { sequence: 2, fte: 1 }),
    c('b', '2027-01-01', undefined, { sequence: 1, fte: 0.5 }),
    c('a', '2027-02-01', undefined, { sequence: 1, fte: 0.8 }),
    c('c', '2026-01-01', undefined, { sequence: 1, fte: 0.8 }),
    c('e', '2026-01-01', undefined, { sequence: 1, fte: 0.8 }),
  ];
  assert.deepEqual(
    rankContracts(list, ['sequence', 'fte desc', 'startDate']).map((x) => x.id),
    ['c', 'e', 'a', 'b', 'd'],
  );
  assert.equal(primaryContract(list, '2027-03-01', ['sequence', 'fte desc', 'startDate'])?.id, 'c');
  assert.equal(primaryContract(list, '2027-03-01', ['fte desc', 'startDate desc'])?.id, 'd');
});

test('missing values rank last in either direction; open end counts as latest', () => {
  const list = [c('x', '2027-01-01'), c('y', '2027-01-01', '2027-12-31', { sequence: 5, fte: 0.2 })];
  assert.equal(rankContracts(list, ['sequence'])[0]!.id, 'y');
  assert.equal(rankContracts(list, ['sequence desc'])[0]!.id, 'y');
  assert.equal(rankContracts(list, ['endDate desc'])[0]!.id, 'x');
  assert.equal(rankContracts(list, ['endDate'])[0]!.id, 'y');
});

test('the best active contract wins over an inactive winner', () => {
  const list = [
    c('future-main', '2027-06-01', undefined, { sequence: 1 }),
    c('current-side', '2027-01-01', '2027-12-31', { sequence: 3 }),
    c('current-other', '2027-01-01', '2027-12-31', { sequence: 2 }),
    c('past', '2026-01-01', '2026-12-31', { sequence: 0 }),
  ];
  assert.equal(primaryContract(list, '2027-03-01')?.id, 'current-other');
  assert.equal(primaryContract(list, '2027-06-01')?.id, 'future-main');
});

test('without an active contract: the best future one, else the latest ended one', () => {
  const pastOnly = [
    c('old', '2020-01-01', '2020-12-31', { sequence: 1 }),
    c('recent', '2021-01-01', '2021-06-30', { sequence: 9 }),
  ];
  assert.equal(primaryContract(pastOnly, '2027-01-01')?.id, 'recent');
  const withFuture = [
    ...pastOnly,
    c('later', '2027-09-01', undefined, { sequence: 4 }),
    c('soon', '2027-02-01', undefined, { sequence: 3 }),
  ];
  assert.equal(primaryContract(withFuture, '2027-01-01')?.id, 'soon');
  assert.equal(primaryContract([], '2027-01-01'), undefined);
});

test('determinants are validated', () => {
  assert.equal(Determinant.safeParse('fte desc').success, true);
  assert.equal(Determinant.safeParse('salary').success, false);
  assert.throws(() => rankContracts([], ['fte sideways']), RangeError);
});
