// A failed read, with the API's own reason.
import { ApiError } from '../api/client';

export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    return error.status === 0 ? error.message : `${error.message} (${error.status} ${error.code})`;
  }
  return 'Something went wrong in the dashboard.';
}

export function ApiErrorMessage({ what, error }: { what: string; error: unknown }) {
  return (
    <div role="alert" className="rounded-md border border-red-300 bg-red-50 px-3 py-2 text-sm text-red-800">
      Could not load {what}: {describeError(error)}
    </div>
  );
}
