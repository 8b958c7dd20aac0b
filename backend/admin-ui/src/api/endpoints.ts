// Typed calls of the API contract; pages use these, never raw paths.

import type { ApiClient } from './client'
import type {
  AuditEntry,
  AuditFilters,
  Dashboard,
  Device,
  DeviceFilters,
  Gateway,
  GatewayCreated,
  GatewayWrite,
  Id,
  Page,
  Policy,
  PolicyWrite,
  Providers,
  RecoveryCodes,
  ServerInfo,
  SessionUser,
  TotpSetup,
  User,
  UserCreate,
  UserUpdate,
} from './types'

export interface PageQuery {
  page?: number
  per_page?: number
}

/** The API's per_page ceiling: used when a page needs "all" (e.g. user pickers). */
export const MAX_PER_PAGE = 200

const seg = (id: Id): string => encodeURIComponent(String(id))

export function createApi(client: ApiClient) {
  return {
    me: () => client.request<SessionUser & Partial<User>>('GET', '/auth/me'),
    providers: () => client.request<Providers>('GET', '/auth/providers', { auth: false }),
    startTotp: () => client.request<TotpSetup>('POST', '/auth/mfa/totp'),
    confirmTotp: (code: string) =>
      client.request<RecoveryCodes>('POST', '/auth/mfa/totp/confirm', { body: { code } }),
    disableTotp: (code: string) => client.request<undefined>('DELETE', '/auth/mfa/totp', { body: { code } }),
    resetUserMfa: (id: Id) => client.request<undefined>('DELETE', `/users/${seg(id)}/mfa`),
    dashboard: () => client.request<Dashboard>('GET', '/dashboard'),

    listUsers: (query: PageQuery & { q?: string } = {}) =>
      client.request<Page<User>>('GET', '/users', { query: { ...query } }),
    getUser: (id: Id) => client.request<User>('GET', `/users/${seg(id)}`),
    createUser: (body: UserCreate) => client.request<User>('POST', '/users', { body }),
    updateUser: (id: Id, body: UserUpdate) =>
      client.request<User>('PATCH', `/users/${seg(id)}`, { body }),
    deleteUser: (id: Id) => client.request<undefined>('DELETE', `/users/${seg(id)}`),

    listDevices: (query: PageQuery & DeviceFilters = {}) =>
      client.request<Page<Device>>('GET', '/devices', { query: { ...query } }),
    getDevice: (id: Id) => client.request<Device>('GET', `/devices/${seg(id)}`),
    approveDevice: (id: Id) => client.request<Device>('POST', `/devices/${seg(id)}/approve`, { body: {} }),
    rotateDevice: (id: Id) => client.request<Device>('POST', `/devices/${seg(id)}/rotate`, { body: {} }),
    revokeDevice: (id: Id, revokeSessions = false) =>
      client.request<Device>('POST', `/devices/${seg(id)}/revoke`, {
        body: revokeSessions ? { revoke_sessions: true } : {},
      }),
    deleteDevice: (id: Id) => client.request<undefined>('DELETE', `/devices/${seg(id)}`),

    listPolicies: (query: PageQuery = {}) =>
      client.request<Page<Policy>>('GET', '/policies', { query: { ...query } }),
    createPolicy: (body: PolicyWrite) => client.request<Policy>('POST', '/policies', { body }),
    updatePolicy: (id: Id, body: PolicyWrite) =>
      client.request<Policy>('PATCH', `/policies/${seg(id)}`, { body }),
    deletePolicy: (id: Id) => client.request<undefined>('DELETE', `/policies/${seg(id)}`),

    listGateways: (query: PageQuery = {}) =>
      client.request<Page<Gateway>>('GET', '/gateways', { query: { ...query } }),
    createGateway: (body: GatewayWrite) =>
      client.request<GatewayCreated>('POST', '/gateways', { body }),
    updateGateway: (id: Id, body: GatewayWrite) =>
      client.request<Gateway>('PATCH', `/gateways/${seg(id)}`, { body }),
    deleteGateway: (id: Id) => client.request<undefined>('DELETE', `/gateways/${seg(id)}`),
    newGatewayToken: (id: Id) => client.request<GatewayCreated>('POST', `/gateways/${seg(id)}/token`, { body: {} }),
    serverInfo: () => client.request<ServerInfo>('GET', '/server-info'),

    listAuditLogs: (query: PageQuery & AuditFilters = {}) =>
      client.request<Page<AuditEntry>>('GET', '/audit-logs', { query: { ...query } }),
  }
}

export type Api = ReturnType<typeof createApi>
