// One breakdown as a table. A row that maps to a filter is a button (reached with Tab,
// pressed with Enter or Space, or clicked anywhere on the row): it sets that filter for
// the whole dashboard, and pressing it again removes the filter.
import { ApiError } from '../../api/client';
import { type SiteRead, useBreakdown } from '../../api/hooks';
import type { Breakdown } from '../../api/types';
import { QueryState } from '../../components/QueryState';
import { SuppressedNote } from '../../components/SuppressedNote';
import type { FilterKey, Filters } from '../../state/dashboardSearch';
import { type BreakdownTableDefinition, displayValue, rowFilter } from './breakdowns';

export const BREAKDOWN_LIMIT = 10;

export interface BreakdownTableProps {
  table: BreakdownTableDefinition;
  read: SiteRead;
  filters: Filters;
  onFilter(key: FilterKey, value: string | null): void;
}

function Rows({ table, answer, filters, onFilter }: Omit<BreakdownTableProps, 'read'> & { answer: Breakdown }) {
  if (answer.rows.length === 0) return <p className="py-3 text-sm text-slate-700">No data for these days.</p>;
  const largest = Math.max(1, ...answer.rows.map((row) => row[table.bar]));
  return (
    <table className="w-full text-left text-sm">
      <thead>
        <tr className="border-b border-slate-300">
          <th scope="col" className="py-1.5 font-medium">
            {table.valueLabel}
          </th>
          {table.columns.map((column) => (
            <th key={column.key} scope="col" className="w-px whitespace-nowrap py-1.5 pl-4 text-right font-medium">
              {column.label}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {answer.rows.map((row) => {
          const filter = rowFilter(table, row);
          const active = filter !== null && filters[filter.key] === filter.value;
          const toggle = filter === null ? undefined : () => onFilter(filter.key, active ? null : filter.value);
          const shown = displayValue(table, row.value);
          return (
            <tr
              key={row.value}
              className={`border-b border-slate-200 ${filter ? 'cursor-pointer hover:bg-slate-50' : ''}`}
              onClick={toggle}
            >
              <td className="relative max-w-0 py-1.5">
                <span
                  aria-hidden="true"
                  className="absolute inset-y-1 left-0 rounded-sm bg-indigo-100"
                  style={{ width: `${(100 * row[table.bar]) / largest}%` }}
                />
                {filter ? (
                  <button
                    type="button"
                    aria-pressed={active}
                    title={active ? `Remove the filter ${shown}` : `Show only ${shown}`}
                    className="relative block w-full truncate text-left font-medium text-indigo-900 underline-offset-2 hover:underline aria-pressed:underline"
                    onClick={(event) => {
                      event.stopPropagation();
                      toggle?.();
                    }}
                  >
                    {shown}
                  </button>
                ) : (
                  <span className="relative block truncate">{shown}</span>
                )}
              </td>
              {table.columns.map((column) => {
                const value = column.value(row);
                return (
                  <td key={column.key} className="whitespace-nowrap py-1.5 pl-4 text-right tabular-nums">
                    {value === null ? '–' : column.format(value)}
                  </td>
                );
              })}
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

export function BreakdownTable({ table, read, filters, onFilter }: BreakdownTableProps) {
  const query = useBreakdown(read, table.by, BREAKDOWN_LIMIT);
  const notOffered = table.newer && query.error instanceof ApiError && query.error.status === 422;
  return (
    <section aria-labelledby={`breakdown-${table.by}`} className="rounded-lg border border-slate-300 bg-white p-4">
      <h2 id={`breakdown-${table.by}`} className="mb-2 text-lg font-semibold">
        {table.title}
      </h2>
      {notOffered ? (
        <p className="py-3 text-sm text-slate-700">This API does not offer this breakdown yet.</p>
      ) : (
        <QueryState query={query} what={table.title.toLowerCase()}>
          {(answer) => (
            <>
              <Rows table={table} answer={answer} filters={filters} onFilter={onFilter} />
              <SuppressedNote suppressed={answer.suppressed} />
            </>
          )}
        </QueryState>
      )}
    </section>
  );
}
