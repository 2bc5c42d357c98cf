import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { ErrorGroup } from '../src/api/types';
import { fakeApi, renderApp } from './helpers';

function group(overrides: Partial<ErrorGroup>): ErrorGroup {
  return {
    error_class: 'type_error',
    message: "Cannot read properties of undefined (reading 'price')",
    occurrences: 1234,
    sessions: 56,
    first_seen: '2026-11-20T08:15:00Z',
    last_seen: '2026-11-25T11:02:00Z',
    example_path: '/checkout',
    ...overrides,
  };
}

describe('errors page', () => {
  it('says how many groups the minimum crowd held back, with or without groups shown', async () => {
    const held = { min_crowd: 5, rows: 3, sessions: 7, interactions: 9 };
    const api = fakeApi({
      '/v1/sites/shop.example.com/errors': (url) => ({
        body: {
          date_from: '2026-11-19',
          date_to: '2026-11-25',
          groups: url.searchParams.has('path') ? [] : [group({})],
          suppressed: url.searchParams.has('path') ? { ...held, rows: 1 } : held,
        },
      }),
    });
    renderApp({ url: '/errors?site=shop.example.com&range=7d&interval=day', api });
    expect(await screen.findByText('3 error groups from fewer than 5 visitors hidden')).toBeInTheDocument();
  });

  it('says nothing of a minimum crowd that held nothing back', async () => {
    const api = fakeApi({
      '/v1/sites/shop.example.com/errors': () => ({
        body: {
          date_from: '2026-11-19',
          date_to: '2026-11-25',
          groups: [],
          suppressed: { min_crowd: 5, rows: 0, sessions: 0, interactions: 0 },
        },
      }),
    });
    renderApp({ url: '/errors?site=shop.example.com&range=7d&interval=day', api });
    expect(await screen.findByText('No errors on these days.')).toBeInTheDocument();
    expect(screen.queryByTestId('suppressed-note')).not.toBeInTheDocument();
  });

  it('lists the groups with their figures, and links a session when the API names one', async () => {
    const api = fakeApi({
      '/v1/sites/shop.example.com/errors': () => ({
        body: {
          date_from: '2026-11-19',
          date_to: '2026-11-25',
          groups: [
            group({ example_session_id: '5f1c2e8a-0000-4000-8000-000000000001' }),
            group({
              error_class: 'network_error',
              message: 'Failed to fetch',
              occurrences: 3,
              sessions: 2,
              example_path: '/api',
            }),
          ],
        },
      }),
    });
    const user = userEvent.setup();
    const app = renderApp({ url: '/errors?site=shop.example.com&range=7d&interval=day', api });
    const table = await screen.findByRole('table');
    expect(
      within(table).getByText('2 error groups, 1,237 occurrences, 2026-11-19 to 2026-11-25 (UTC)'),
    ).toBeInTheDocument();
    const [, first, second] = within(table).getAllByRole('row');
    expect(first).toHaveTextContent("type_errorCannot read properties of undefined (reading 'price')1,23456");
    expect(first).toHaveTextContent('2026-11-20 08:15 UTC2026-11-25 11:02 UTC/checkout');
    expect(within(second!).queryByRole('link')).not.toBeInTheDocument();

    const link = within(first!).getByRole('link', { name: 'View session' });
    expect(link).toHaveAttribute(
      'href',
      '/sessions/5f1c2e8a-0000-4000-8000-000000000001?site=shop.example.com&range=7d',
    );
    await user.click(within(second!).getByRole('button', { name: '/api' }));
    await waitFor(() => expect(app.url()).toBe('/errors?site=shop.example.com&range=7d&interval=day&path=%2Fapi'));
    await user.click(within(await screen.findByRole('table')).getByRole('link', { name: 'View session' }));
    expect(await screen.findByRole('heading', { level: 1, name: 'Session' })).toBeInTheDocument();
    expect(app.url()).toBe('/sessions/5f1c2e8a-0000-4000-8000-000000000001?site=shop.example.com&range=7d&path=%2Fapi');
  });
});
