// Pieces every device list shares: the status badge, the key fingerprint that tells a revoked
// device from its replacement, the history link, and the queue of devices awaiting approval.

import { useState } from 'react'
import { Link } from 'react-router-dom'
import type { Device, DeviceStatus, Id } from '../api/types'
import { useApi } from '../auth'
import { fmtTime, keyFingerprint } from '../format'
import { useLookups, useQuery } from '../hooks'
import { ListShell } from './ListShell'
import { Badge } from './ui'

const STATUS_TONE: Record<DeviceStatus, 'good' | 'warn' | 'bad'> = {
  active: 'good',
  pending: 'warn',
  revoked: 'bad',
}
const STATUS_LABEL: Record<DeviceStatus, string> = {
  active: 'active',
  pending: 'awaiting approval',
  revoked: 'revoked',
}

export function DeviceStatusBadge({ status }: { status: DeviceStatus }) {
  return <Badge tone={STATUS_TONE[status] ?? 'neutral'}>{STATUS_LABEL[status] ?? status}</Badge>
}

/** The start of the WireGuard public key (what `wg show` and the client show), full key on hover. */
export function KeyFingerprint({ publicKey }: { publicKey: string }) {
  return (
    <span className="mono nowrap" title={publicKey} data-testid="key-fingerprint">
      {keyFingerprint(publicKey)}
    </span>
  )
}

/** The audit log filtered to one device. */
export function historyHref(id: Id): string {
  const q = new URLSearchParams({ target_type: 'device', target_id: String(id) })
  return `/audit?${q.toString()}`
}

const QUEUE_SIZE = 50

/** Devices waiting for an admin: approve them one by one. Renders nothing when none wait. */
export function PendingQueue({ onApproved }: { onApproved?: (device: Device) => void }) {
  const api = useApi()
  const { userName } = useLookups()
  const queue = useQuery(() => api.listDevices({ status: 'pending', per_page: QUEUE_SIZE }), [api])
  const [busy, setBusy] = useState<string | null>(null)
  const [error, setError] = useState<unknown>(null)

  const approve = async (d: Device) => {
    setBusy(String(d.id))
    setError(null)
    try {
      const updated = await api.approveDevice(d.id)
      queue.reload()
      onApproved?.(updated)
    } catch (exc) {
      setError(exc)
    } finally {
      setBusy(null)
    }
  }

  const items = queue.data?.items ?? []
  if (!queue.error && items.length === 0) return null
  return (
    <div className="card pending-queue" role="region" aria-label="Awaiting approval">
      <h2>
        Awaiting approval <Badge tone="warn">{queue.data?.total ?? 0}</Badge>
      </h2>
      <p className="muted">
        These devices have an address but are on no gateway until you approve them. Check the key with the user before
        approving.
      </p>
      <ListShell
        query={queue}
        error={queue.error ?? error}
        columns={
          <>
            <th>Device</th>
            <th>User</th>
            <th>Platform</th>
            <th>Key</th>
            <th>Enrolled</th>
            <th />
          </>
        }
        rowKey={(d) => String(d.id)}
        row={(d) => (
          <tr data-pending-id={String(d.id)}>
            <td>
              <Link to={`/devices/${encodeURIComponent(String(d.id))}`}>{d.name}</Link>
            </td>
            <td>{userName(d.user_id)}</td>
            <td>{d.platform}</td>
            <td>
              <KeyFingerprint publicKey={d.public_key} />
            </td>
            <td className="nowrap">{fmtTime(d.created_at)}</td>
            <td>
              <button
                type="button"
                className="button-small"
                aria-label={`Approve ${d.name}`}
                disabled={busy !== null}
                onClick={() => void approve(d)}
              >
                {busy === String(d.id) ? 'Approving…' : 'Approve'}
              </button>
            </td>
          </tr>
        )}
      />
    </div>
  )
}
