// This server's address and certificate fingerprint: what agents and desktop users must trust.

import { useApi } from '../auth'
import { useQuery } from '../hooks'
import { CopyButton } from './ui'

export function ServerIdentity() {
  const api = useApi()
  const { data } = useQuery(() => api.serverInfo(), [api])
  if (!data) return null
  return (
    <div className="card server-identity" role="region" aria-label="Server identity">
      <dl>
        <dt>Server address</dt>
        <dd className="mono" data-testid="server-url">
          {data.public_url}
        </dd>
        {data.tls && (
          <>
            <dt>Certificate SHA-256 fingerprint</dt>
            <dd>
              <span className="mono fingerprint" data-testid="server-fingerprint">
                {data.tls.fingerprint}
              </span>{' '}
              <CopyButton text={data.tls.fingerprint} label="Copy fingerprint" />
              <p className="muted">
                {data.tls.self_signed
                  ? 'Self-signed: desktop users compare this fingerprint when they first sign in, and gateway agents pin it (--server-fingerprint).'
                  : 'Issued by a certificate authority: agents and clients verify it without a pin.'}
              </p>
            </dd>
          </>
        )}
      </dl>
    </div>
  )
}
