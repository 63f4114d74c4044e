/**
 * One error type for the whole tool. `code` is stable (scripts and tests match on it);
 * `retriable` says whether trying the same thing again later can succeed (a broker that is
 * down) or never will (a malformed pipeline file).
 */
export type ErrorCode =
  | 'CONFIG_INVALID' // pipeline file or CLI option fails validation
  | 'INPUT_NOT_FOUND' // a named file does not exist
  | 'INPUT_MALFORMED' // a file cannot be parsed at all (bad header, unknown column, bad Arrow stream)
  | 'REFERENCE_INVALID' // meter registry / enforcement sites row invalid
  | 'STORE_FAILED' // DuckDB refused a write or query
  | 'DETECTOR_FAILED' // a detector SQL file failed to load or run
  | 'SINK_FAILED' // a case sink could not be written
  | 'CHECK_FAILED' // a check the user asked for did not hold (sql-test: a given/expect case failed)
  | 'BROKER_UNAVAILABLE'; // Kafka not reachable (retriable)

const RETRIABLE: ReadonlySet<ErrorCode> = new Set(['BROKER_UNAVAILABLE']);

export class PowerscreenError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PowerscreenError';
    this.code = code;
    this.retriable = RETRIABLE.has(code);
  }
}

export function isPowerscreenError(e: unknown): e is PowerscreenError {
  return e instanceof PowerscreenError;
}

/** Message of any thrown value, for one-line CLI output. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
