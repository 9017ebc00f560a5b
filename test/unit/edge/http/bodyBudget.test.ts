import { describe, expect, it } from 'vitest';
import { BodyBudget } from '../../../../src/edge/http/bodyBudget.js';

describe('BodyBudget', () => {
  it('holds at most its limit, and gives back what was taken', () => {
    const budget = new BodyBudget(1000);
    expect(budget.take(600, false)).toBe(true);
    expect(budget.take(401, false)).toBe(false);
    expect(budget.inUse).toBe(600);
    expect(budget.take(400, false)).toBe(true);
    budget.give(600, false);
    expect(budget.inUse).toBe(400);
    expect(budget.take(600, false)).toBe(true);
  });

  it('lets large bodies fill only half, keeping the rest for small ones', () => {
    const budget = new BodyBudget(1000);
    expect(budget.take(300, true)).toBe(true);
    expect(budget.take(201, true)).toBe(false);
    expect(budget.take(200, true)).toBe(true);
    expect(budget.take(1, true)).toBe(false);
    // Small bodies still get the other half.
    expect(budget.take(500, false)).toBe(true);
    expect(budget.take(1, false)).toBe(false);
    budget.give(300, true);
    expect(budget.take(1, true)).toBe(true);
    expect(budget.inUse).toBe(701);
  });

  it('refuses large bodies when small ones fill the budget', () => {
    const budget = new BodyBudget(1000);
    expect(budget.take(900, false)).toBe(true);
    expect(budget.take(101, true)).toBe(false);
    expect(budget.take(100, true)).toBe(true);
  });
});
