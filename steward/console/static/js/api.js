// Every call the console makes to Steward's API, signed with the key the user signed in with.
// The key pair lives in this tab's sessionStorage only: it is never sent (only signatures are),
// and it is gone when the tab closes or the user signs out.

import { canonicalQuery, signedHeaders } from "./sigv4.js";

const STORAGE_KEY = "steward.console.credentials";
export const REGION = document.querySelector('meta[name="steward-region"]')?.content || "us-east-1";
const SERVICE = "kafka";

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || body?.Message || `HTTP ${status}`);
    this.status = status;
    this.invalidParameter = body?.invalidParameter;
    this.body = body;
  }
}

export function credentials() {
  try {
    return JSON.parse(sessionStorage.getItem(STORAGE_KEY) || "null");
  } catch {
    return null;
  }
}

export function signOut() {
  sessionStorage.removeItem(STORAGE_KEY);
}

/** Calls the API with `candidate` keys; keeps them only once Steward accepted a signed call. */
export async function signIn(accessKeyId, secretAccessKey) {
  const candidate = { accessKeyId: accessKeyId.trim(), secretAccessKey: secretAccessKey.trim() };
  await call("GET", "/api/v2/clusters", { query: { maxResults: 1 }, as: candidate });
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(candidate));
  return candidate;
}

/** The path of a route with its parameters (ARNs, names) percent-encoded as one segment each. */
export function path(template, ...params) {
  let i = 0;
  return template.replace(/\{[^}]+\}/g, () => encodeURIComponent(params[i++]));
}

/** One signed request; the parsed JSON answer, or an ApiError with the API's own message. */
export async function call(method, route, { query, body, as } = {}) {
  const keys = as || credentials();
  if (!keys) throw new ApiError(401, { message: "Not signed in." });
  const text = body === undefined ? "" : JSON.stringify(body);
  const queryString = canonicalQuery(query);
  const headers = signedHeaders({
    method,
    host: location.host,
    path: route,
    query: queryString,
    body: text,
    credentials: keys,
    region: REGION,
    service: SERVICE,
  });
  if (text) headers["Content-Type"] = "application/json";
  const response = await fetch(route + (queryString ? `?${queryString}` : ""), {
    method,
    headers,
    body: text || undefined,
    credentials: "omit",
    cache: "no-store",
  });
  const raw = await response.text();
  let parsed = null;
  try {
    parsed = raw ? JSON.parse(raw) : {};
  } catch {
    parsed = { message: raw };
  }
  if (!response.ok) {
    if (response.status === 401 && !as) window.dispatchEvent(new CustomEvent("steward:unauthorized"));
    throw new ApiError(response.status, parsed);
  }
  return parsed;
}

export const get = (route, query) => call("GET", route, { query });
