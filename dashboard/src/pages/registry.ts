// Every page of the dashboard, registered here and only here: its route under the
// layout and, when it has one, its entry in the left navigation. A page is a folder
// under src/pages/ whose component is its module's default export; each is its own
// chunk, loaded when first opened.
import { type ComponentType, type LazyExoticComponent, lazy } from 'react';

export interface PageRoute {
  /** The route under the layout, without the leading slash ('' is the overview at /). */
  path: string;
  /** Its label in the navigation; a route without one (a single session) is not listed. */
  nav?: string;
  Page: LazyExoticComponent<ComponentType>;
}

export const PAGE_ROUTES: PageRoute[] = [
  { path: '', nav: 'Overview', Page: lazy(() => import('./overview/OverviewPage')) },
  { path: 'heatmaps', nav: 'Heatmaps', Page: lazy(() => import('./heatmaps/HeatmapsPage')) },
  { path: 'sessions', nav: 'Sessions', Page: lazy(() => import('./sessions/SessionsPage')) },
  { path: 'sessions/:sessionId', Page: lazy(() => import('./sessions/SessionPage')) },
  { path: 'errors', nav: 'Errors', Page: lazy(() => import('./errors/ErrorsPage')) },
  { path: 'live', nav: 'Live', Page: lazy(() => import('./live/LivePage')) },
];
