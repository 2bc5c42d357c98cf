import { screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { KPIS, changeTone, compare, describeChange, pagesPerSession } from '../src/pages/overview/kpis';
import { fakeApi, overviewRoutes, renderApp, stats } from './helpers';

const kpi = (key: string) => KPIS.find((found) => found.key === key)!;

describe('KPI comparison maths', () => {
  it('compares counts in percent of the previous value', () => {
    expect(compare(1125, 1000, 'relative')).toEqual({ kind: 'relative', ratio: 0.125 });
    expect(compare(750, 1000, 'relative')).toEqual({ kind: 'relative', ratio: -0.25 });
    expect(describeChange(compare(1125, 1000, 'relative'))).toBe('+12.5%');
    expect(describeChange(compare(750, 1000, 'relative'))).toBe('\u221225.0%');
    expect(describeChange(compare(100000, 100001, 'relative'))).toBe('no change');
  });

  it('compares a rate in percentage points', () => {
    const change = compare(0.42, 0.4, 'points');
    expect(change.kind).toBe('points');
    expect(describeChange(change)).toBe('+2.0 pp');
    expect(describeChange(compare(0.3, 0.35, 'points'))).toBe('\u22125.0 pp');
  });

  it('never divides by zero: nothing before is "new", nothing then and now is no change', () => {
    expect(compare(5, 0, 'relative')).toEqual({ kind: 'new' });
    expect(describeChange(compare(0, 0, 'relative'))).toBe('no change');
    expect(compare(null, 3, 'relative')).toEqual({ kind: 'unknown' });
    expect(describeChange(compare(3, null, 'points'))).toBe('no figure');
  });

  it('says whether a change is good news: a higher bounce rate is not', () => {
    expect(changeTone(compare(0.6, 0.5, 'points'), kpi('bounce_rate').higherIsBetter)).toBe('worse');
    expect(changeTone(compare(0.4, 0.5, 'points'), kpi('bounce_rate').higherIsBetter)).toBe('better');
    expect(changeTone(compare(110, 100, 'relative'), kpi('visitors').higherIsBetter)).toBe('better');
    expect(changeTone(compare(5, 0, 'relative'), true)).toBe('better');
    expect(changeTone(compare(100, 100, 'relative'), true)).toBe('neutral');
  });

  it('takes pages per session from the API, or page views over sessions until it sends it', () => {
    expect(pagesPerSession(stats({ pageviews: 1000, sessions: 400 }))).toBe(2.5);
    expect(pagesPerSession(stats({ pageviews: 1000, sessions: 400, pages_per_session: 2.2 }))).toBe(2.2);
    expect(pagesPerSession(stats({ sessions: 0 }))).toBeNull();
  });

  it('gives no rate for a period without sessions', () => {
    const empty = stats({ pageviews: 0, sessions: 0, visitors: 0, bounce_rate: 0, avg_duration_seconds: 0 });
    expect(kpi('bounce_rate').value(empty)).toBeNull();
    expect(kpi('avg_duration').value(empty)).toBeNull();
    expect(kpi('visitors').value(empty)).toBe(0);
  });
});

describe('KPI cards', () => {
  it('show each figure with its change against the previous period of the same length', async () => {
    const site = '/v1/sites/shop.example.com/stats';
    const api = fakeApi(
      overviewRoutes('shop.example.com', {
        [site]: (url) =>
          url.searchParams.get('from') === '2026-11-19'
            ? {
                body: stats({
                  visitors: 330,
                  pageviews: 1000,
                  sessions: 400,
                  bounce_rate: 0.45,
                  avg_duration_seconds: 125,
                }),
              }
            : {
                body: stats({
                  visitors: 300,
                  pageviews: 0,
                  sessions: 500,
                  bounce_rate: 0.5,
                  avg_duration_seconds: 100,
                }),
              },
      }),
    );
    renderApp({ url: '/?site=shop.example.com&range=7d', api });
    const figures = await screen.findByRole('region', { name: 'Key figures' });
    await waitFor(() => expect(within(figures).getAllByText(/vs the 7 days before/)).toHaveLength(6));
    expect(figures).toHaveTextContent(
      'Changes compare with the same number of days just before: 2026-11-12 to 2026-11-18 (UTC).',
    );
    const card = (label: string) => within(figures).getByText(label).closest('div') as HTMLElement;
    expect(card('Visitors')).toHaveTextContent('330');
    expect(card('Visitors')).toHaveTextContent('+10.0% vs the 7 days before (300)');
    expect(card('Page views')).toHaveTextContent('new');
    expect(card('Sessions')).toHaveTextContent('\u221220.0%');
    expect(card('Bounce rate')).toHaveTextContent('45.0%');
    expect(card('Bounce rate')).toHaveTextContent('\u22125.0 pp');
    expect(within(card('Bounce rate')).getByText('\u22125.0 pp').parentElement).toHaveClass('text-emerald-800');
    expect(card('Pages per session')).toHaveTextContent('2.50');
    expect(card('Average duration')).toHaveTextContent('2m 05s');
    expect(card('Average duration')).toHaveTextContent('+25.0%');

    const asked = api.to(site).map((url) => `${url.searchParams.get('from')}..${url.searchParams.get('to')}`);
    expect(asked.sort()).toEqual(['2026-11-12..2026-11-18', '2026-11-19..2026-11-25']);
  });
});
