// Types of the NexaVPN API v1, written from shared/API-CONTRACT.md.
// tests/adminui/test_types_match_openapi.py checks every field declared here against the OpenAPI
// document the backend serves, so a renamed or dropped field fails the test run, not an admin.
// Keep one `export interface` per schema and one field per line: that test parses this file.

/** IDs are opaque: never parse them, only pass them back. */
export type Id = string | number

/** ISO 8601 UTC timestamp. */
export type Timestamp = string

export type Role = 'admin' | 'user'
export type Platform = 'windows' | 'macos' | 'linux'
/** `pending`: enrolled, waiting for an admin's approval (has an address, on no gateway). */
export type DeviceStatus = 'active' | 'pending' | 'revoked'
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
  /** Absent for browser sessions: the server keeps it in an HttpOnly cookie. */
  refresh_token?: string
  token_type: string
  expires_in: number
  user: SessionUser
  /** NEXAVPN_MFA_REQUIRED: only the TOTP setup calls work until it is confirmed. */
  mfa_setup_required?: boolean
}

export interface RefreshResponse {
  access_token: string
  refresh_token?: string
  mfa_setup_required?: boolean
}

export interface Providers {
  password: boolean
  oidc: Provider[]
}

export interface Provider {
  id: string
  name: string
}

export interface TotpSetup {
  secret: string
  otpauth_uri: string
  /** The otpauth URI as a QR code (an SVG data: URI). */
  qr_svg?: string
}

export interface RecoveryCodes {
  recovery_codes: string[]
}

export interface User {
  id: Id
  username: string
  email: string | null
  role: Role
  groups: string[]
  disabled: boolean
  created_at: Timestamp
  /** How the user signs in: a password here, or single sign-on at `sso_provider`. */
  sign_in_method?: 'password' | 'oidc'
  sso_provider?: string | null
  totp_enabled?: boolean
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
  /** The agent's start command against this server (with --server-fingerprint if self-signed). */
  agent_command: string
}

/** The certificate the server itself presents (null behind a TLS-terminating proxy). */
export interface ServerCertificate {
  fingerprint: string
  self_signed: boolean
  subject: string
  not_after: string
}

export interface ServerInfo {
  public_url: string
  tls: ServerCertificate | null
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

/** An item of GET /audit-logs: the event plus the actor's / target's name today (null: none,
 * deleted, or a session). */
export interface AuditEntry extends AuditLog {
  actor_name: string | null
  target_name: string | null
}

export interface DeviceCounts {
  active: number
  pending: number
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
  /** User or gateway name of the actor (case-insensitive). */
  actor?: string
  /** Name of the target user, policy, gateway or device (case-insensitive). */
  target?: string
  actor_id?: string
  action?: string
  target_type?: string
  target_id?: string
  since?: string
  until?: string
}
