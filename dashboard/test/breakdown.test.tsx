import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { breakdown, fakeApi, overviewRoutes, renderApp } from './helpers';

const BREAKDOWN = '/v1/sites/shop.example.com/stats/breakdown';

async function table(title: string) {
  return screen.findByRole('region', { name: title });
}

describe('breakdown tables', () => {
  it('says under a table how many rows the minimum crowd held back', async () => {
    const api = fakeApi(
      overviewRoutes('shop.example.com', {
        [BREAKDOWN]: (url: URL) => {
          const by = url.searchParams.get('by') as Parameters<typeof breakdown>[0];
          const rows = by === 'page' ? 4 : by === 'country' ? 1 : 0;
          return {
            body: { ...breakdown(by, ['/']), suppressed: { min_crowd: 5, rows, sessions: 2 * rows, interactions: 9 } },
          };
        },
      }),
    );
    renderApp({ url: '/?site=shop.example.com&range=7d', api });
    const pages = await table('Top pages');
    expect(await within(pages).findByText('4 rows from fewer than 5 visitors hidden')).toBeInTheDocument();
    expect(await within(await table('Countries')).findByText('1 row from fewer than 5 visitors hidden')).toBeInTheDocument();
    expect(within(await table('Devices')).queryByTestId('suppressed-note')).not.toBeInTheDocument();
  });

  it('clicking a page row filters the whole dashboard to that path, and again removes it', async () => {
    const user = userEvent.setup();
    const api = fakeApi(overviewRoutes());
    const app = renderApp({ url: '/?site=shop.example.com&range=7d', api });
    const pages = await table('Top pages');
    await user.click(await within(pages).findByRole('button', { name: '/pricing' }));
    await waitFor(() => expect(app.url()).toBe('/?site=shop.example.com&range=7d&path=%2Fpricing'));
    expect(screen.getByRole('list', { name: 'Active filters' })).toHaveTextContent('Page: /pricing');
    // Every read is asked again with the path.
    await waitFor(() =>
      expect(api.requests.filter((url) => url.searchParams.get('path') === '/pricing').length).toBeGreaterThanOrEqual(
        9,
      ),
    );
    const pressed = await within(await table('Top pages')).findByRole('button', { name: '/pricing' });
    expect(pressed).toHaveAttribute('aria-pressed', 'true');
    await user.click(pressed);
    await waitFor(() => expect(app.url()).toBe('/?site=shop.example.com&range=7d'));
  });

  it('a click anywhere on a row counts, and device and country rows set their filters', async () => {
    const user = userEvent.setup();
    const app = renderApp({ url: '/?site=shop.example.com', api: fakeApi(overviewRoutes()) });
    const devices = await table('Devices');
    const mobile = await within(devices).findByRole('button', { name: 'mobile' });
    await user.click(mobile.closest('tr')!.querySelectorAll('td')[1]!);
    await waitFor(() => expect(app.url()).toBe('/?site=shop.example.com&device=mobile'));
    const countries = await table('Countries');
    await user.click(await within(countries).findByRole('button', { name: 'DE' }));
    await waitFor(() => expect(app.url()).toBe('/?site=shop.example.com&device=mobile&country=DE'));
  });

  it('entry and exit pages set the path; referrers and unknown values set nothing', async () => {
    const user = userEvent.setup();
    const app = renderApp({ url: '/?site=shop.example.com', api: fakeApi(overviewRoutes()) });
    await user.click(await within(await table('Exit pages')).findByRole('button', { name: '/checkout' }));
    await waitFor(() => expect(app.url()).toBe('/?site=shop.example.com&path=%2Fcheckout'));
    await user.click(await within(await table('Entry pages')).findByRole('button', { name: '/blog' }));
    await waitFor(() => expect(app.url()).toBe('/?site=shop.example.com&path=%2Fblog'));

    const referrers = await table('Referrers');
    expect(await within(referrers).findByText('https://news.example.org/')).toBeInTheDocument();
    expect(within(referrers).getByText('Direct or none')).toBeInTheDocument();
    expect(within(referrers).queryAllByRole('button')).toHaveLength(0);
    const countries = await table('Countries');
    expect(await within(countries).findByText('Unknown')).toBeInTheDocument();
    expect(
      within(countries)
        .getAllByRole('button')
        .map((button) => button.textContent),
    ).toEqual(['DE']);
  });

  it('a breakdown this API does not offer yet says so; another refusal shows the reason', async () => {
    const api = fakeApi(
      overviewRoutes('shop.example.com', {
        [BREAKDOWN]: (url) =>
          url.searchParams.get('by') === 'page'
            ? { status: 403, body: { error: 'forbidden', message: 'permission stats:read not granted by this token' } }
            : {
                status: 422,
                body: { error: 'invalid_request', message: 'by: Input should be page, device or country' },
              },
      }),
    );
    renderApp({ url: '/?site=shop.example.com', api });
    expect(
      await within(await table('Referrers')).findByText('This API does not offer this breakdown yet.'),
    ).toBeInTheDocument();
    expect(
      within(await table('Entry pages')).getByText('This API does not offer this breakdown yet.'),
    ).toBeInTheDocument();
    expect(await within(await table('Top pages')).findByRole('alert')).toHaveTextContent(
      'Could not load top pages: permission stats:read not granted by this token (403 forbidden)',
    );
    expect(await within(await table('Devices')).findByRole('alert')).toHaveTextContent('by: Input should be');
  });
});
