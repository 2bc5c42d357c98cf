// The dashboard's filters applied to the live events. The stream carries every event
// of the site; the feed and the click dots keep those the filters select. The figures
// are counted by the API for the whole site and cannot be filtered.
import type { ReceivedEvent } from '../../live/liveStream';
import type { Filters } from '../../state/dashboardSearch';

export function matchesFilters(item: ReceivedEvent, filters: Filters): boolean {
  const { event } = item;
  if (filters.path !== undefined && event.url_path !== filters.path) return false;
  if (filters.device !== undefined && event.device_type !== filters.device) return false;
  if (filters.country !== undefined && event.country_code.toUpperCase() !== filters.country) return false;
  return true;
}

export function hasFilters(filters: Filters): boolean {
  return Object.values(filters).some((value) => value !== undefined);
}
