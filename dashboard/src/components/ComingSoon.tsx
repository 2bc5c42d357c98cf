// The page a route shows until its feature is built.
import { usePageTitle } from '../app/usePageTitle';

export function ComingSoon({ title }: { title: string }) {
  usePageTitle(title);
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title" className="text-2xl font-semibold">
        {title}
      </h1>
      <p className="mt-2 text-slate-700">This page is coming.</p>
    </section>
  );
}
