/** Marks a session's result lines on stdout, apart from anything a library prints. */
export const SESSION_PREFIX = '@@citymesh-session ';

/** What a session process reads on stdin. */
export interface SessionRequest {
  /** Each a `citymesh` argument list, run in order. */
  readonly commands: readonly (readonly string[])[];
  /** Run the rest after a command fails (default: stop at the first failure). */
  readonly keepGoing?: boolean;
}

/** How one command of a session ended. */
export interface SessionResult {
  readonly args: readonly string[];
  readonly code: number;
  readonly out: string;
  readonly err: string;
  readonly ms: number;
}

/** The result lines of a session's stdout, in order. */
export function parseSessionOutput(stdout: string): SessionResult[] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith(SESSION_PREFIX))
    .map((line) => JSON.parse(line.slice(SESSION_PREFIX.length)) as SessionResult);
}
