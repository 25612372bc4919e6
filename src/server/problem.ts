/**
 * Errors as RFC 9457 problem details (`application/problem+json`): a type
 * URI, a short title, the HTTP status and a detail a person can act on.
 */

/** One problem document. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  /** Extra members, e.g. the validation issues. */
  [extension: string]: unknown;
}

const TITLES: Record<number, string> = {
  400: "Bad request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not found",
  405: "Method not allowed",
  409: "Conflict",
  413: "Content too large",
  415: "Unsupported media type",
  422: "Unprocessable content",
  429: "Too many requests",
  500: "Internal server error",
  503: "Service unavailable",
};

/** A problem+json response. */
export function problemResponse(
  status: number,
  detail?: string,
  extensions: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Response {
  const body: Problem = {
    type: "about:blank",
    title: TITLES[status] ?? "Error",
    status,
    ...(detail ? { detail } : {}),
    ...extensions,
  };
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/problem+json", ...headers },
  });
}

/** Thrown by handlers to answer with a problem document. */
export class ProblemError extends Error {
  constructor(readonly status: number, detail: string) {
    super(detail);
    this.name = "ProblemError";
  }
}
