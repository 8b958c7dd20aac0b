// The signed-in admin's own two-factor sign-in: set up TOTP (QR code, then a code to confirm,
// then the recovery codes shown once) or turn it off with a code.

import { useState } from 'react'
import type { FormEvent } from 'react'
import type { TotpSetup } from '../api/types'
import { useAuth } from '../auth'
import { CopyButton, ErrorMessage, Field, FormError, Loading, fieldErrorsOf } from '../components/ui'
import { useQuery } from '../hooks'

function CodeForm({ label, busyLabel, onCode }: { label: string; busyLabel: string; onCode: (code: string) => Promise<void> }) {
  const [code, setCode] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setBusy(true)
    setError(null)
    try {
      await onCode(code.trim())
    } catch (exc) {
      setError(exc)
      setCode('')
    } finally {
      setBusy(false)
    }
  }
  return (
    <form onSubmit={(e) => void submit(e)} noValidate>
      <FormError error={error} fields={['code']} />
      <Field label="Code from the app" error={fieldErrorsOf(error).code}>
        {(id, describedBy) => (
          <input
            id={id}
            name="code"
            autoComplete="one-time-code"
            value={code}
            onChange={(e) => setCode(e.target.value)}
            aria-describedby={describedBy}
          />
        )}
      </Field>
      <button type="submit" className="primary" disabled={busy || !code.trim()}>
        {busy ? busyLabel : label}
      </button>
    </form>
  )
}

export function TwoFactorPage() {
  const { api, mfaSetupRequired, mfaSetupDone } = useAuth()
  const me = useQuery(() => api.me(), [])
  const [setup, setSetup] = useState<TotpSetup | null>(null)
  const [codes, setCodes] = useState<string[] | null>(null)
  const [error, setError] = useState<unknown>(null)

  if (me.loading && !me.data) return <Loading />
  if (me.error) return <ErrorMessage error={me.error} />
  const enabled = me.data?.totp_enabled === true

  const begin = async () => {
    setError(null)
    try {
      setSetup(await api.startTotp())
    } catch (exc) {
      setError(exc)
    }
  }

  return (
    <section className="card">
      <h1>Two-factor sign-in</h1>
      {mfaSetupRequired && !codes && (
        <div className="alert alert-info" role="status">
          This server requires two-factor sign-in for administrators. Set it up to continue.
        </div>
      )}
      <ErrorMessage error={error} />
      {codes ? (
        <>
          <p role="status">Two-factor sign-in is on. Keep these recovery codes somewhere safe: each works once, and they are shown only now.</p>
          <ul className="recovery-codes" aria-label="Recovery codes">
            {codes.map((c) => (
              <li key={c}>
                <code>{c}</code>
              </li>
            ))}
          </ul>
          <CopyButton text={codes.join('\n')} label="Copy the codes" />
          <button
            type="button"
            onClick={() => {
              setCodes(null)
              setSetup(null)
              mfaSetupDone()
              me.reload()
            }}
          >
            Done
          </button>
        </>
      ) : enabled ? (
        <>
          <p>
            Two-factor sign-in is <strong>on</strong>. To turn it off, enter a current code (or a recovery code).
          </p>
          <CodeForm
            label="Turn off two-factor"
            busyLabel="Turning off…"
            onCode={async (code) => {
              await api.disableTotp(code)
              me.reload()
            }}
          />
        </>
      ) : setup ? (
        <>
          <p>Scan this QR code with an authenticator app (or enter the key by hand), then enter the code it shows.</p>
          {setup.qr_svg && <img className="qr" src={setup.qr_svg} alt="QR code of the two-factor key" width={220} height={220} />}
          <p>
            Key: <code data-testid="totp-secret">{setup.secret}</code> <CopyButton text={setup.secret} label="Copy key" />
          </p>
          <CodeForm
            label="Turn on two-factor"
            busyLabel="Checking…"
            onCode={async (code) => {
              const answer = await api.confirmTotp(code)
              setCodes(answer.recovery_codes)
            }}
          />
        </>
      ) : (
        <>
          <p>
            Two-factor sign-in is <strong>off</strong>. With it on, signing in also needs a code from an authenticator app.
          </p>
          <button type="button" className="primary" onClick={() => void begin()}>
            Set up two-factor
          </button>
        </>
      )}
    </section>
  )
}
