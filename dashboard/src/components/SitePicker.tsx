// Chooses the site shown, among the sites the token grants.
export interface SitePickerProps {
  sites: string[];
  value: string | null;
  onChange(site: string): void;
}

export function SitePicker({ sites, value, onChange }: SitePickerProps) {
  return (
    <label className="flex items-center gap-2 text-sm font-medium">
      Site
      <select
        className="rounded-md border border-slate-400 bg-white px-2 py-1.5 text-sm"
        value={value !== null && sites.includes(value) ? value : ''}
        onChange={(event) => onChange(event.target.value)}
      >
        {value === null || !sites.includes(value) ? (
          <option value="" disabled>
            Choose a site
          </option>
        ) : null}
        {sites.map((site) => (
          <option key={site} value={site}>
            {site}
          </option>
        ))}
      </select>
    </label>
  );
}
