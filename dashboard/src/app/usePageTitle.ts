import { useEffect } from 'react';

/** The browser tab's title while the page is shown. */
export function usePageTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · InsightLite`;
  }, [title]);
}
