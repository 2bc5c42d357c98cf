// The Live page: the site's stream as it happens. The connection's state, the active
// visitors and events per second of the API's summaries, the feed of events, and live
// click dots on a page. The dashboard's filters narrow the feed and the dots; the days
// do not apply (there is only now).
import { useMemo } from 'react';
import { usePageTitle } from '../../app/usePageTitle';
import { useLiveStream } from '../../live/useLiveStream';
import { normaliseFilter } from '../../state/dashboardSearch';
import { useDashboard } from '../../state/useDashboard';
import { ClickDots } from './ClickDots';
import { pagesByActivity } from './dotGeometry';
import { ConnectionStatus } from './ConnectionStatus';
import { LiveFeed } from './LiveFeed';
import { LiveFigures } from './LiveFigures';
import { hasFilters, matchesFilters } from './liveFilters';

/** The page's own URL param: the page whose clicks are drawn. */
export const PAGE_PARAM = 'page';

export default function LivePage() {
  usePageTitle('Live');
  const dashboard = useDashboard();
  const { site, filters } = dashboard.view;
  const live = useLiveStream(site);
  const events = useMemo(() => live.events.filter((item) => matchesFilters(item, filters)), [live.events, filters]);
  const clicks = useMemo(() => live.clicks.filter((item) => matchesFilters(item, filters)), [live.clicks, filters]);
  const pages = useMemo(() => pagesByActivity(events.map((item) => item.event)), [events]);
  const asked = dashboard.params.get(PAGE_PARAM);
  const chosen = filters.path ?? (asked === null ? null : normaliseFilter('path', asked));

  return (
    <div className="flex flex-col gap-6">
      <div className="flex flex-col gap-2">
        <h1 className="text-2xl font-semibold">Live</h1>
        <ConnectionStatus connection={live.connection} onReconnect={live.reconnectNow} />
      </div>
      <LiveFigures summaries={live.summaries} dropped={live.dropped} filtered={hasFilters(filters)} />
      <div className="grid gap-6 xl:grid-cols-2">
        <LiveFeed events={events} />
        {site === null ? null : (
          <ClickDots
            site={site}
            events={events.map((item) => item.event)}
            clicks={clicks}
            pages={pages}
            chosen={chosen}
            filteredByPage={filters.path !== undefined}
            device={filters.device ?? null}
            range={dashboard.view.range}
            onChoose={(path) => dashboard.setParam(PAGE_PARAM, path)}
          />
        )}
      </div>
    </div>
  );
}
