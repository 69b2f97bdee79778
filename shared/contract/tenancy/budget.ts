/**
 * Budget arithmetic (README, "Budgets and alerts"), pure so that it is unit-tested at its edges: the windows a
 * budget counts over (the UTC calendar day and month), where spend stands against each limit, the 80% alert, and
 * whether a run is admitted. Amounts are compared in millionths, so that 9.99 + 0.01 is exactly 10.
 */
import type { TenantProfile } from './profile';

/** Spend at or above this share of a limit raises an alert. */
export const ALERT_RATIO = 0.8;

export const BUDGET_WINDOWS = ['day', 'month'] as const;
export type BudgetWindow = (typeof BUDGET_WINDOWS)[number];

/** Where each window began and its key (`2026-11-22`, `2026-11`), which names the alert of that period once. */
export interface WindowBounds {
  start: Date;
  key: string;
}

/** The UTC day and month that contain `now`. */
export function budgetWindows(now: Date): Record<BudgetWindow, WindowBounds> {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  const d = now.getUTCDate();
  const pad = (n: number) => String(n).padStart(2, '0');
  return {
    day: { start: new Date(Date.UTC(y, m, d)), key: `${y}-${pad(m + 1)}-${pad(d)}` },
    month: { start: new Date(Date.UTC(y, m, 1)), key: `${y}-${pad(m + 1)}` },
  };
}

/** What a tenant has spent in each window, in the budget's unit. */
export type WindowSpend = Record<BudgetWindow, number>;

const toMicros = (amount: number): number => Math.round(amount * 1_000_000);
const fromMicros = (micros: number): number => micros / 1_000_000;

/** An amount as people read it: at most six decimals, no trailing zeros. */
export function formatAmount(amount: number, unit: string): string {
  return `${fromMicros(toMicros(amount))} ${unit}`;
}

const WINDOW_LABEL: Record<BudgetWindow, { budget: string; spent: string }> = {
  day: { budget: 'per-day budget', spent: 'today' },
  month: { budget: 'per-month budget', spent: 'this month' },
};

/** Where spend stands against one window's limit. */
export interface WindowStanding {
  window: BudgetWindow;
  limit: number | null;
  spent: number;
  /** spent / limit (0 without a limit). */
  ratio: number;
  /** `alert` from ALERT_RATIO of the limit, `spent` at or past it. */
  level: 'ok' | 'alert' | 'spent';
}

/** Spend against each window of the budget, adding `extra` (a run's maximum cost) to what was spent. */
export function budgetStanding(budget: TenantProfile['budget'], spend: WindowSpend, extra = 0): WindowStanding[] {
  return BUDGET_WINDOWS.map((window) => {
    const limit = window === 'day' ? budget.perDay : budget.perMonth;
    const spent = fromMicros(toMicros(spend[window]) + toMicros(extra));
    if (limit === null) return { window, limit, spent, ratio: 0, level: 'ok' as const };
    const spentMicros = toMicros(spent);
    const limitMicros = toMicros(limit);
    const level = spentMicros >= limitMicros ? 'spent' : spentMicros >= toMicros(limit * ALERT_RATIO) ? 'alert' : 'ok';
    return { window, limit, spent, ratio: limitMicros === 0 ? 1 : spentMicros / limitMicros, level };
  });
}

/** An alert at ALERT_RATIO of a window's limit, once per period (`key`). */
export interface BudgetAlert {
  window: BudgetWindow;
  /** The period the alert is for (`2026-11-22`, `2026-11`): audited once per period. */
  period: string;
  limit: number;
  spent: number;
  unit: string;
  ratio: number;
  message: string;
}

/** The alerts of standings at or past ALERT_RATIO. */
export function budgetAlerts(standings: readonly WindowStanding[], unit: string, now: Date, what = 'spend'): BudgetAlert[] {
  const windows = budgetWindows(now);
  return standings.flatMap((s) =>
    s.limit !== null && s.level !== 'ok'
      ? [
          {
            window: s.window,
            period: windows[s.window].key,
            limit: s.limit,
            spent: s.spent,
            unit,
            ratio: s.ratio,
            message: `${what} ${WINDOW_LABEL[s.window].spent} is ${formatAmount(s.spent, unit)}, ${Math.floor(s.ratio * 100)}% of the ${WINDOW_LABEL[s.window].budget} of ${formatAmount(s.limit, unit)}`,
          },
        ]
      : [],
  );
}

export type AdmissionDecision = { admitted: true; alerts: BudgetAlert[] } | { admitted: false; reason: string; alerts: BudgetAlert[] };

/**
 * Whether a run of a tenant may start: refused when the tenant is deactivated, when a window's budget is already
 * spent, or when the run's maximum cost (`goal.maxCost`) would take spend past a limit, saying by how much. Reaching
 * a limit exactly is allowed. An admitted run that may bring a window to ALERT_RATIO of its limit raises an alert.
 */
export function admissionDecision(tenantId: string, profile: TenantProfile, spend: WindowSpend, maxCost: number, now: Date): AdmissionDecision {
  const { unit } = profile.budget;
  if (!profile.active) {
    return { admitted: false, reason: `tenant ${tenantId} is deactivated: its new runs are refused (reactivate: ados tenant update ${tenantId} --active on)`, alerts: [] };
  }
  const current = budgetStanding(profile.budget, spend);
  const projected = budgetStanding(profile.budget, spend, maxCost);
  for (const [i, s] of current.entries()) {
    if (s.limit === null) continue;
    const label = WINDOW_LABEL[s.window];
    if (s.level === 'spent') {
      const alerts = budgetAlerts([s], unit, now);
      return { admitted: false, reason: `tenant ${tenantId}: the ${label.budget} of ${formatAmount(s.limit, unit)} is spent (${formatAmount(s.spent, unit)} ${label.spent})`, alerts };
    }
    const over = fromMicros(toMicros(projected[i].spent) - toMicros(s.limit));
    if (over > 0) {
      return {
        admitted: false,
        reason:
          `tenant ${tenantId}: this run would exceed the ${label.budget} of ${formatAmount(s.limit, unit)} by ${formatAmount(over, unit)} ` +
          `(spent ${label.spent}: ${formatAmount(s.spent, unit)}, goal.maxCost: ${formatAmount(maxCost, unit)})`,
        alerts: budgetAlerts(current, unit, now),
      };
    }
  }
  return { admitted: true, alerts: budgetAlerts(projected, unit, now, 'spend (with this run at its goal.maxCost)') };
}
