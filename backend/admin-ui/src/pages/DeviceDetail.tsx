// One device: addresses, gateway, profile revision, sync and handshake times, key; approve,
// rotate, revoke, delete, and its history in the audit log.

import { useState } from 'react'
import { Link, useNavigate, useParams } from 'react-router-dom'
import { ApiError } from '../api/client'
import type { Device } from '../api/types'
import { useApi } from '../auth'
import { DeviceStatusBadge, historyHref } from '../components/devices'
import { Badge, ConfirmDialog, ErrorMessage, Loading } from '../components/ui'
import { fmtTime, keyFingerprint } from '../format'
import { useLookups, useQuery } from '../hooks'

type Dialog = 'approve' | 'rotate' | 'revoke' | 'delete' | null

export function DeviceDetailPage() {
  const { id = '' } = useParams()
  const api = useApi()
  const navigate = useNavigate()
  const { userName, gatewayName } = useLookups()
  const query = useQuery(() => api.getDevice(id), [api, id])
  const [device, setDevice] = useState<Device | null>(null)
  const [dialog, setDialog] = useState<Dialog>(null)
  const [endSessions, setEndSessions] = useState(false)
  const [message, setMessage] = useState<string | null>(null)
  const d = device && String(device.id) === id ? device : query.data

  if (query.error instanceof ApiError && query.error.status === 404) {
    return (
      <section className="not-found">
        <h1>Device not found</h1>
        <p>It may have been deleted.</p>
        <Link to="/devices">All devices</Link>
      </section>
    )
  }

  return (
    <section>
      <p className="crumbs">
        <Link to="/devices">Devices</Link> ›
      </p>
      <ErrorMessage error={query.error} />
      {query.loading && !d && <Loading />}
      {d && (
        <>
          <div className="page-head">
            <h1>{d.name}</h1>
            <div className="actions">
              <Link className="button" to={historyHref(d.id)}>
                History
              </Link>
              {d.status === 'pending' && (
                <button type="button" className="primary" onClick={() => setDialog('approve')}>
                  Approve
                </button>
              )}
              {d.status !== 'revoked' && (
                <>
                  <button type="button" onClick={() => setDialog('rotate')}>
                    Rotate keys
                  </button>
                  <button type="button" className="danger" onClick={() => setDialog('revoke')}>
                    Revoke
                  </button>
                </>
              )}
              <button type="button" className="danger" onClick={() => setDialog('delete')}>
                Delete
              </button>
            </div>
          </div>
          {message && (
            <div className="alert alert-info" role="status">
              {message}
            </div>
          )}
          <div className="card">
            <dl className="details">
              <dt>Status</dt>
              <dd data-testid="device-status">
                <DeviceStatusBadge status={d.status} />{' '}
                {d.status === 'active' && (d.online ? <Badge tone="good">online</Badge> : <Badge tone="neutral">offline</Badge>)}
                {d.status === 'pending' && <span className="muted"> — on no gateway until an administrator approves it</span>}
              </dd>
              <dt>User</dt>
              <dd>
                <Link to={`/devices?user_id=${encodeURIComponent(String(d.user_id))}`}>{userName(d.user_id)}</Link>
              </dd>
              <dt>Platform</dt>
              <dd>{d.platform}</dd>
              <dt>VPN IP</dt>
              <dd className="mono" data-testid="device-vpn-ip">
                {d.vpn_ip ?? '—'}
              </dd>
              <dt>VPN IPv6</dt>
              <dd className="mono">{d.vpn_ip6 ?? '—'}</dd>
              <dt>Gateway</dt>
              <dd>{gatewayName(d.gateway_id)}</dd>
              <dt>Profile revision</dt>
              <dd>
                {d.profile_revision} {d.rotation_required && <Badge tone="warn">rotation required</Badge>}
              </dd>
              <dt>Last sync</dt>
              <dd>{fmtTime(d.last_sync_at)}</dd>
              <dt>Last handshake</dt>
              <dd>{fmtTime(d.last_handshake_at)}</dd>
              <dt>Enrolled</dt>
              <dd>{fmtTime(d.created_at)}</dd>
              <dt>Public key</dt>
              <dd className="mono break" title={`starts ${keyFingerprint(d.public_key)}`}>
                {d.public_key}
              </dd>
              <dt>Fingerprint</dt>
              <dd className="mono break">{d.fingerprint}</dd>
            </dl>
          </div>
        </>
      )}
      {d && dialog === 'approve' && (
        <ConfirmDialog
          title="Approve device"
          confirmLabel="Approve device"
          onClose={() => setDialog(null)}
          onConfirm={async () => {
            const updated = await api.approveDevice(d.id)
            setDevice(updated)
            setMessage('The device is approved: its gateway adds it now and it can connect.')
          }}
        >
          <p>
            Let <strong>{d.name}</strong> of {userName(d.user_id)} onto its gateway? Check with the user that their
            device shows a key starting <span className="mono">{keyFingerprint(d.public_key)}</span>.
          </p>
        </ConfirmDialog>
      )}
      {d && dialog === 'rotate' && (
        <ConfirmDialog
          title="Rotate keys"
          confirmLabel="Require rotation"
          onClose={() => setDialog(null)}
          onConfirm={async () => {
            const updated = await api.rotateDevice(d.id)
            setDevice(updated)
            setMessage('The device must re-enroll with a new key pair; its next sync tells it so.')
          }}
        >
          <p>
            Ask <strong>{d.name}</strong> to make a new key pair and enroll again? Its tunnel keeps working until it does.
          </p>
        </ConfirmDialog>
      )}
      {d && dialog === 'revoke' && (
        <ConfirmDialog
          title="Revoke device"
          confirmLabel="Revoke device"
          onClose={() => setDialog(null)}
          onConfirm={async () => {
            const updated = await api.revokeDevice(d.id, endSessions)
            setDevice(updated)
            setMessage(
              endSessions
                ? `The device is revoked and every session of ${userName(d.user_id)} has ended.`
                : 'The device is revoked: it left its gateway, its sign-in ended and its key is refused from now on.',
            )
          }}
        >
          <p>
            Revoke <strong>{d.name}</strong>? It is removed from its gateway at once and cannot connect again; its
            addresses return to the pool. This cannot be undone.
          </p>
          <p data-testid="revoke-sessions-effect">
            The sign-in that registered this device ends now, so it cannot register itself again, and its key (starting{' '}
            <span className="mono">{keyFingerprint(d.public_key)}</span>) can never be used again.{' '}
            {endSessions
              ? `All other sessions of ${userName(d.user_id)} end too: they must sign in again everywhere.`
              : `${userName(d.user_id)}'s other sessions (the browser, other devices) keep working.`}
          </p>
          <label className="check">
            <input type="checkbox" checked={endSessions} onChange={(e) => setEndSessions(e.target.checked)} /> Also end
            all of {userName(d.user_id)}&apos;s other sessions (browser and other devices)
          </label>
        </ConfirmDialog>
      )}
      {d && dialog === 'delete' && (
        <ConfirmDialog
          title="Delete device"
          confirmLabel="Delete device"
          onClose={() => setDialog(null)}
          onConfirm={async () => {
            await api.deleteDevice(d.id)
            navigate('/devices', { replace: true })
          }}
        >
          <p>
            Delete <strong>{d.name}</strong>? A device that is not revoked yet is revoked first: it leaves its gateway
            and the sign-in that registered it ends. Its key can never be used again, even after the record is gone. The
            audit log keeps its history.
          </p>
        </ConfirmDialog>
      )}
    </section>
  )
}
