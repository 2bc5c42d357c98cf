import { describe, expect, it } from 'vitest';
import { type HeatmapAnswer, heatmapQuery, scrollDepthQuery, snapshotQuery, suppressionOf } from '../src/api/heatmaps';
import { apiTypes, heatmapRead, readHeatmapView } from '../src/pages/heatmaps/heatmapView';
import { pageOptions } from '../src/pages/heatmaps/HeatmapControls';
import { suppressionText } from '../src/pages/heatmaps/PointHeatmap';
import { noPictureReason } from '../src/pages/heatmaps/usePagePicture';
import { pictureEvents } from '../src/replay/heatmapSnapshot';
import { ApiError } from '../src/api/client';
import { readView } from '../src/state/dashboardSearch';
import { breakdown } from './helpers';

const TODAY = '2026-11-25';
const views = (search: string) => {
  const params = new URLSearchParams(search);
  const view = readView(params, TODAY);
  return { view, heatmap: readHeatmapView(view, params) };
};

describe('the heatmap view in the URL', () => {
  it('defaults to clicks on a desktop, with the points on fixed elements shown', () => {
    expect(views('site=a').heatmap).toEqual({
      kind: 'click',
      path: null,
      device: 'desktop',
      showFixed: true,
      countryIgnored: false,
    });
  });

  it('reads the page and device filters, the type and the fixed points; ignores unknown types', () => {
    expect(views('path=/pricing&device=Mobile&type=rage_click&fixed=hide&country=de').heatmap).toEqual({
      kind: 'rage_click',
      path: '/pricing',
      device: 'mobile',
      showFixed: false,
      countryIgnored: true,
    });
    expect(views('type=rage_click_fixed&fixed=yes').heatmap).toMatchObject({ kind: 'click', showFixed: true });
    expect(views('type=scroll').heatmap.kind).toBe('scroll');
  });

  it('asks the API for the page asked for, else the busiest, on the device and days', () => {
    const { view, heatmap } = views('site=shop&range=7d&device=tablet');
    const read = heatmapRead(view, heatmap, '/');
    expect(read).toEqual({ site: 'shop', path: '/', device: 'tablet', from: '2026-11-19', to: '2026-11-25' });
    expect(heatmapQuery(read, apiTypes('move').fixed)).toEqual({
      path: '/',
      type: 'move_fixed',
      device: 'tablet',
      from: '2026-11-19',
      to: '2026-11-25',
    });
    expect(scrollDepthQuery(read)).toEqual({ path: '/', device: 'tablet', from: '2026-11-19', to: '2026-11-25' });
    // The latest picture of the page, whatever the days.
    expect(snapshotQuery(read)).toEqual({ path: '/', device: 'tablet' });
    const asked = views('site=shop&path=/pricing');
    expect(heatmapRead(asked.view, asked.heatmap, '/').path).toBe('/pricing');
    expect(apiTypes('rage_click')).toEqual({ document: 'rage_click', fixed: 'rage_click_fixed' });
  });

  it('offers the site’s pages busiest first, and the page shown when it is not among them', () => {
    const answer = breakdown('page', ['/', '', '/pricing']);
    expect(pageOptions(answer, '/pricing').map((option) => option.label)).toEqual([
      '/ (100 views)',
      '/pricing (80 views)',
    ]);
    expect(pageOptions(answer, '/rare').map((option) => option.path)).toEqual(['/rare', '/', '/pricing']);
    expect(pageOptions(undefined, null)).toEqual([]);
  });
});

describe('the page picture', () => {
  const meta = { type: 4, timestamp: 1000, data: { href: 'https://shop.example.com/', width: 1440, height: 900 } };
  const full = { type: 2, timestamp: 1005, data: { node: { type: 0, id: 1, childNodes: [] }, initialOffset: { left: 0, top: 0 } } };

  it('takes the Meta and FullSnapshot and pauses just after the later one', () => {
    expect(pictureEvents([meta, full])).toEqual({ events: [meta, full], pauseAt: 6, width: 1440, height: 900 });
    expect(pictureEvents([{ type: 3 }, meta, 'junk', full])).toMatchObject({ pauseAt: 6 });
  });

  it('says what is missing when the events cannot make a picture', () => {
    expect(pictureEvents(null)).toEqual({ problem: 'the API sent no events' });
    expect(pictureEvents([full])).toEqual({ problem: 'the recording has no page size (no Meta event)' });
    expect(pictureEvents([meta])).toEqual({ problem: 'the recording has no full snapshot of the page' });
    expect(pictureEvents([meta, { ...full, data: { node: null } }])).toEqual({
      problem: 'the recording has no full snapshot of the page',
    });
    expect(pictureEvents([{ ...meta, data: {} }, full])).toMatchObject({ width: 0, height: 0 });
  });

  it('explains a missing picture by the API’s answer', () => {
    expect(noPictureReason(new ApiError(404, 'not_found', 'no kept recording visited this page'))).toBe(
      'No picture of this page: no kept recording visited this page.',
    );
    expect(noPictureReason(new ApiError(503, 'archive_unavailable', 'the recordings archive could not be read'))).toBe(
      "The page's picture could not be loaded: the recordings archive could not be read (503 archive_unavailable).",
    );
  });
});

describe('suppression of small crowds', () => {
  const answer = {
    site: 'a',
    path: '/',
    type: 'click',
    device: 'desktop',
    date_from: '2026-11-01',
    date_to: '2026-11-30',
    cell_height_px: 16,
    columns: 100,
    total: 10,
    cells: { x: [], y: [], count: [] },
  } satisfies HeatmapAnswer;

  it('is nothing when the API reports nothing, or nothing it can read', () => {
    expect(suppressionOf(answer)).toBeNull();
    expect(suppressionOf({ ...answer, suppressed_cells: 0, suppressed_count: 'many' })).toBeNull();
    expect(suppressionText(answer, 'click')).toBeNull();
  });

  it('reads the minimum crowd the API reports', () => {
    const suppressed = { min_crowd: 5, rows: 2, sessions: 6, interactions: 11 };
    expect(suppressionOf({ ...answer, suppressed })).toEqual({ cells: 2, interactions: 11, minCount: 5 });
    expect(suppressionOf({ ...answer, suppressed: { ...suppressed, rows: 0, interactions: 0 } })).toBeNull();
    expect(suppressionText({ ...answer, suppressed }, 'click')).toBe(
      'To protect small groups of visitors, the API left out 2 cells holding 11 clicks with fewer than 5 people; ' +
        'the totals do not include them.',
    );
  });

  it('tells what the API reports', () => {
    expect(suppressionOf({ ...answer, suppressed_cells: 3 })).toEqual({ cells: 3, interactions: null, minCount: null });
    expect(suppressionText({ ...answer, suppressed_count: 1 }, 'rage_click')).toBe(
      'To protect small groups of visitors, the API left out 1 rage click; the totals do not include them.',
    );
  });
});
