// Small data hooks: load with loading/error state, and id → name lookups for tables.

import { useCallback, useEffect, useMemo, useState } from 'react'
import type { DependencyList } from 'react'
import { MAX_PER_PAGE } from './api/endpoints'
import type { Gateway, User } from './api/types'
import { useApi } from './auth'

export interface Query<T> {
  data: T | undefined
  error: unknown
  loading: boolean
  reload: () => void
}

/** Run `load` when deps change; stale answers from an earlier run are dropped. */
export function useQuery<T>(load: () => Promise<T>, deps: DependencyList): Query<T> {
  const [data, setData] = useState<T | undefined>(undefined)
  const [error, setError] = useState<unknown>(null)
  const [loading, setLoading] = useState(true)
  const [tick, setTick] = useState(0)

  useEffect(() => {
    let live = true
    setLoading(true)
    setError(null)
    load().then(
      (value) => {
        if (!live) return
        setData(value)
        setLoading(false)
      },
      (exc: unknown) => {
        if (!live) return
        setError(exc)
        setLoading(false)
      },
    )
    return () => {
      live = false
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick])

  const reload = useCallback(() => setTick((t) => t + 1), [])
  return { data, error, loading, reload }
}

export interface Lookups {
  users: User[]
  gateways: Gateway[]
  userName: (id: unknown) => string
  gatewayName: (id: unknown) => string
}

/** Users and gateways (first 200 of each) to show names instead of ids. */
export function useLookups(): Lookups {
  const api = useApi()
  const users = useQuery(() => api.listUsers({ per_page: MAX_PER_PAGE }), [api])
  const gateways = useQuery(() => api.listGateways({ per_page: MAX_PER_PAGE }), [api])
  return useMemo(() => {
    const userList = users.data?.items ?? []
    const gatewayList = gateways.data?.items ?? []
    const userMap = new Map(userList.map((u) => [String(u.id), u.username]))
    const gatewayMap = new Map(gatewayList.map((g) => [String(g.id), g.name]))
    return {
      users: userList,
      gateways: gatewayList,
      userName: (id: unknown) =>
        id === null || id === undefined ? '—' : (userMap.get(String(id)) ?? `#${String(id)}`),
      gatewayName: (id: unknown) =>
        id === null || id === undefined ? '—' : (gatewayMap.get(String(id)) ?? `#${String(id)}`),
    }
  }, [users.data, gateways.data])
}
