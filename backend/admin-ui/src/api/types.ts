// Types of the NexaVPN API v1 (docs/api.md).
// tests/adminui/test_types_match_openapi.py checks every field declared here against the OpenAPI
// document the backend serves, so a renamed or dropped field fails the test run, not an admin.
// Keep one `export interface` per schema and one field per line: that test parses this file.

/** IDs are opaque: never parse them, only pass them back. */
export type Id = string | number

/** ISO 8601 UTC timestamp. */
export type Timestamp = string

export type Role = 'admin' | 'user'
export type Platform = 'windows' | 'macos' | 'linux'
export type DeviceStatus = 'active' | 'revoked'
export type GatewayStatus = 'online' | 'offline'
export type ActorType = 'user' | 'gateway' | 'system'
export type TargetType = 'user' | 'policy' | 'gateway' | 'device' | 'session'

/** Every list answer. */
export interface Page<T> {
  items: T[]
  page: number
  per_page: number
  total: number
}

/** The body of every error: {"error": {...}}. */
export interface ErrorBody {
  code: string
  message: string
  details?: Record<string, unknown> | null
}

export interface ErrorEnvelope {
  error: ErrorBody
}

export interface SessionUser {
  id: Id
  username: string
  role: Role
}

export interface LoginResponse {
  access_token: string
  refresh_token: string
  token_type: string
  expires_in: number
  user: SessionUser
}

export interface RefreshResponse {
  access_token: string
  refresh_token: string
}

export interface User {
  id: Id
  username: string
  email: string | null
  role: Role
  groups: string[]
  disabled: boolean
  created_at: Timestamp
}

export interface UserCreate {
  username: string
  password: string
  email?: string | null
  role?: Role
  groups?: string[]
  disabled?: boolean
}

export interface UserUpdate {
  email?: string | null
  role?: Role
  groups?: string[]
  disabled?: boolean
  password?: string
}

export interface Policy {
  id: Id
  name: string
  description: string
  enabled: boolean
  user_ids: Id[]
  groups: string[]
  destinations: string[]
}

export interface PolicyWrite {
  name?: string
  description?: string
  enabled?: boolean
  user_ids?: Id[]
  groups?: string[]
  destinations?: string[]
}

export interface Gateway {
  id: Id
  name: string
  endpoint: string
  public_key: string | null
  vpn_cidr: string
  vpn_cidr6: string | null
  dns: string[]
  mtu: number
  enabled: boolean
  status: GatewayStatus
  last_seen_at: Timestamp | null
  peer_count: number
}

/** The create answer: the only time the agent token is ever shown. */
export interface GatewayCreated extends Gateway {
  agent_token: string
}

export interface GatewayWrite {
  name?: string
  endpoint?: string
  public_key?: string | null
  vpn_cidr?: string
  vpn_cidr6?: string | null
  dns?: string[]
  mtu?: number
  enabled?: boolean
}

export interface Device {
  id: Id
  user_id: Id
  name: string
  fingerprint: string
  public_key: string
  platform: Platform
  status: DeviceStatus
  vpn_ip: string | null
  vpn_ip6: string | null
  gateway_id: Id | null
  profile_revision: number
  rotation_required: boolean
  created_at: Timestamp
  last_sync_at: Timestamp | null
  last_handshake_at: Timestamp | null
  online: boolean
}

export interface AuditLog {
  id: Id
  at: Timestamp
  actor_type: ActorType
  actor_id: string | null
  action: string
  target_type: string | null
  target_id: string | null
  ip: string | null
  details: Record<string, unknown> | null
}

export interface DeviceCounts {
  active: number
  revoked: number
}

export interface GatewayCounts {
  online: number
  offline: number
}

export interface Dashboard {
  users: number
  devices: DeviceCounts
  gateways: GatewayCounts
  recent_enrollments: Device[]
  recent_audit: AuditLog[]
}

export interface Health {
  status: string
  service: string
  version: string
  api: string
}

export interface DeviceFilters {
  user_id?: string
  status?: string
  gateway_id?: string
}

export interface AuditFilters {
  actor_id?: string
  action?: string
  target_type?: string
  target_id?: string
  since?: string
  until?: string
}
