// The overview: key figures with their change, traffic over time, and the top pages,
// entry and exit pages, referrers, devices and countries of the days shown.
import { useStats } from '../../api/hooks';
import { usePageTitle } from '../../app/usePageTitle';
import { previousRange } from '../../state/dashboardSearch';
import { useDashboard, useSiteRead } from '../../state/useDashboard';
import { BreakdownTable } from './BreakdownTable';
import { BREAKDOWN_TABLES } from './breakdowns';
import { KpiCards } from './KpiCards';
import { TrafficChart } from './TrafficChart';

export default function OverviewPage() {
  usePageTitle('Overview');
  const dashboard = useDashboard();
  const read = useSiteRead();
  const before = previousRange(dashboard.view.range);
  const current = useStats(read);
  const previous = useStats({ ...read, ...before });
  return (
    <div className="flex flex-col gap-6">
      <h1 className="text-2xl font-semibold">Overview</h1>
      <section aria-label="Key figures">
        <KpiCards current={current} previous={previous} previousRange={before} />
      </section>
      <TrafficChart />
      <div className="grid gap-6 lg:grid-cols-2">
        {BREAKDOWN_TABLES.map((table) => (
          <BreakdownTable
            key={table.by}
            table={table}
            read={read}
            filters={dashboard.view.filters}
            onFilter={dashboard.setFilter}
          />
        ))}
      </div>
    </div>
  );
}
