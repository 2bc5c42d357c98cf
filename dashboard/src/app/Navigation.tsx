// The left navigation: one link per registered page, carrying the shared view (site,
// days, filters) from page to page. Tab reaches it; the arrow keys, Home and End move
// between its links.
import type { KeyboardEvent } from 'react';
import { NavLink } from 'react-router';
import { PAGE_ROUTES } from '../pages/registry';

const MOVES: Record<string, (index: number, count: number) => number> = {
  ArrowDown: (index, count) => (index + 1) % count,
  ArrowUp: (index, count) => (index - 1 + count) % count,
  Home: () => 0,
  End: (_, count) => count - 1,
};

function moveFocus(event: KeyboardEvent<HTMLUListElement>) {
  const move = MOVES[event.key];
  if (!move) return;
  const links = Array.from(event.currentTarget.querySelectorAll('a'));
  const index = links.indexOf(document.activeElement as HTMLAnchorElement);
  if (index < 0) return;
  event.preventDefault();
  links[move(index, links.length)]?.focus();
}

export function Navigation({ search }: { search: string }) {
  return (
    <ul className="flex flex-col gap-1 px-2" onKeyDown={moveFocus}>
      {PAGE_ROUTES.filter((page) => page.nav !== undefined).map((page) => (
        <li key={page.path}>
          <NavLink
            to={{ pathname: `/${page.path}`, search }}
            end={page.path === ''}
            className={({ isActive }) =>
              'block rounded-md px-3 py-2 text-sm font-medium ' +
              (isActive ? 'bg-indigo-700 text-white' : 'text-slate-800 hover:bg-slate-200')
            }
          >
            {page.nav}
          </NavLink>
        </li>
      ))}
    </ul>
  );
}
