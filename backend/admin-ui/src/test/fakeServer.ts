// A fake API behind `fetch` for tests: routes by "METHOD /path", records every request.

import { vi } from 'vitest'

export interface Recorded {
  method: string
  path: string
  query: URLSearchParams
  headers: Record<string, string>
  body: unknown
}

export type Handler = (req: Recorded) => Response | Promise<Response>

export function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

export function apiError(status: number, code: string, message: string, details: Record<string, unknown> = {}) {
  return json(status, { error: { code, message, details } })
}

export function page<T>(items: T[], total = items.length, pageNo = 1, perPage = 50) {
  return { items, page: pageNo, per_page: perPage, total }
}

export function fakeServer(routes: Record<string, Handler>) {
  const requests: Recorded[] = []
  const fetchImpl = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input), 'http://admin.test')
    const headers: Record<string, string> = {}
    new Headers(init?.headers).forEach((v, k) => {
      headers[k] = v
    })
    const req: Recorded = {
      method: init?.method ?? 'GET',
      path: url.pathname.replace(/^\/api\/v1/, ''),
      query: url.searchParams,
      headers,
      body: typeof init?.body === 'string' ? (JSON.parse(init.body) as unknown) : undefined,
    }
    requests.push(req)
    const exact = routes[`${req.method} ${req.path}`]
    const pattern = Object.entries(routes).find(([key]) => {
      const [m, p] = key.split(' ')
      if (m !== req.method || !p) return false
      return new RegExp(`^${p.replace(/:[a-z_]+/g, '[^/]+')}$`).test(req.path)
    })?.[1]
    const handler = exact ?? pattern
    if (!handler) return apiError(404, 'not_found', `no fake route for ${req.method} ${req.path}`)
    return handler(req)
  })
  return { fetchImpl: fetchImpl as unknown as typeof fetch, requests, mock: fetchImpl }
}
