// Audit log: filter by actor and target names, action, target type and time range (UTC);
// names shown next to ids; details expand per row. actor_id/target_id still work in links.

import { useState } from 'react'
import type { FormEvent } from 'react'
import { useSearchParams } from 'react-router-dom'
import type { AuditEntry, Id } from '../api/types'
import { useApi } from '../auth'
import { ListShell } from '../components/ListShell'
import { Field, FormError, fieldErrorsOf } from '../components/ui'
import { fmtTime, utcInputToIso } from '../format'
import { useLookups, useQuery } from '../hooks'

const PER_PAGE = 50
const FILTERS = ['actor', 'action', 'target_type', 'target', 'since', 'until', 'actor_id', 'target_id'] as const
type FilterName = (typeof FILTERS)[number]

export const KNOWN_ACTIONS = [
  'auth.login',
  'auth.login_failed',
  'auth.logout',
  'user.create',
  'user.update',
  'user.delete',
  'policy.create',
  'policy.update',
  'policy.delete',
  'gateway.create',
  'gateway.update',
  'gateway.delete',
  'device.enroll',
  'device.reenroll',
  'device.rotate',
  'device.revoke',
  'device.delete',
]

/** "alice (#2)", "gateway edge-1 (#5)", "system"; the id alone when the name is gone. */
export function actorLabel(a: AuditEntry, userName: (id: Id) => string): string {
  if (!a.actor_id) return a.actor_type
  if (a.actor_type === 'user') return `${a.actor_name ?? userName(a.actor_id)} (#${a.actor_id})`
  return `${a.actor_type} ${a.actor_name ?? ''} (#${a.actor_id})`.replace('  ', ' ')
}

export function targetLabel(a: AuditEntry): string {
  if (!a.target_type) return '—'
  if (!a.target_id) return a.target_type
  return a.target_name ? `${a.target_type} ${a.target_name} (#${a.target_id})` : `${a.target_type} #${a.target_id}`
}

/** ISO time (from the URL) → the value a datetime-local input shows, read as UTC. */
function isoToInput(iso: string): string {
  const date = new Date(iso)
  return Number.isNaN(date.getTime()) ? '' : date.toISOString().slice(0, 16)
}

export function AuditPage() {
  const api = useApi()
  const [params, setParams] = useSearchParams()
  const page = Math.max(1, Number(params.get('page') ?? '1') || 1)
  const applied = Object.fromEntries(FILTERS.map((f) => [f, params.get(f) ?? ''])) as Record<FilterName, string>
  const [draft, setDraft] = useState<Record<FilterName, string>>({
    ...applied,
    since: applied.since ? isoToInput(applied.since) : '',
    until: applied.until ? isoToInput(applied.until) : '',
  })
  const [open, setOpen] = useState<Set<string>>(new Set())
  const { userName } = useLookups()
  const key = params.toString()
  const list = useQuery(
    () => api.listAuditLogs({ ...Object.fromEntries(Object.entries(applied).filter(([, v]) => v)), page, per_page: PER_PAGE }),
    [api, key],
  )

  const apply = (e: FormEvent) => {
    e.preventDefault()
    const p = new URLSearchParams()
    for (const f of FILTERS) {
      const raw = draft[f].trim()
      const value = f === 'since' || f === 'until' ? utcInputToIso(raw) : raw
      if (value) p.set(f, value)
    }
    setParams(p)
  }
  const clear = () => {
    setDraft({ actor: '', action: '', target_type: '', target: '', since: '', until: '', actor_id: '', target_id: '' })
    setParams(new URLSearchParams())
  }
  const set = (f: FilterName) => (e: { target: { value: string } }) => setDraft((d) => ({ ...d, [f]: e.target.value }))
  const toggle = (id: string) =>
    setOpen((s) => {
      const next = new Set(s)
      if (next.has(id)) next.delete(id)
      else next.add(id)
      return next
    })
  const fieldErrors = fieldErrorsOf(list.error)
  const filtered = FILTERS.some((f) => applied[f])

  return (
    <section>
      <h1>Audit log</h1>
      <form className="card filter-form" onSubmit={apply}>
        <Field label="Actor" error={fieldErrors.actor} hint="User name or gateway name.">
          {(id, d) => <input id={id} name="actor" value={draft.actor} onChange={set('actor')} aria-describedby={d} />}
        </Field>
        <Field label="Action" error={fieldErrors.action}>
          {(id, d) => (
            <>
              <input id={id} name="action" list="audit-actions" value={draft.action} onChange={set('action')} aria-describedby={d} />
              <datalist id="audit-actions">
                {KNOWN_ACTIONS.map((a) => (
                  <option key={a} value={a} />
                ))}
              </datalist>
            </>
          )}
        </Field>
        <Field label="Target type" error={fieldErrors.target_type}>
          {(id, d) => (
            <select id={id} name="target_type" value={draft.target_type} onChange={set('target_type')} aria-describedby={d}>
              <option value="">Any</option>
              {['user', 'policy', 'gateway', 'device', 'session'].map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Target" error={fieldErrors.target} hint="Name of a user, policy, gateway or device.">
          {(id, d) => <input id={id} name="target" value={draft.target} onChange={set('target')} aria-describedby={d} />}
        </Field>
        <Field label="From (UTC)" error={fieldErrors.since}>
          {(id, d) => (
            <input id={id} name="since" type="datetime-local" value={draft.since} onChange={set('since')} aria-describedby={d} />
          )}
        </Field>
        <Field label="Until (UTC)" error={fieldErrors.until}>
          {(id, d) => (
            <input id={id} name="until" type="datetime-local" value={draft.until} onChange={set('until')} aria-describedby={d} />
          )}
        </Field>
        <div className="actions">
          <button type="submit" className="primary">
            Apply filters
          </button>
          {filtered && (
            <button type="button" onClick={clear}>
              Clear
            </button>
          )}
        </div>
      </form>
      {(applied.actor_id || applied.target_id) && (
        <p className="muted" data-testid="id-filters">
          Also filtered by {applied.actor_id && `actor #${applied.actor_id}`}
          {applied.actor_id && applied.target_id && ' and '}
          {applied.target_id && `target #${applied.target_id}`} (from a link; Clear removes it).
        </p>
      )}
      <ListShell
        query={list}
        showError={(error) => <FormError error={error} fields={[...FILTERS]} />}
        empty={filtered ? 'No audit event matches these filters.' : 'No audit events yet.'}
        paging={{
          page,
          perPage: PER_PAGE,
          onPage: (p) => {
            const next = new URLSearchParams(params)
            next.set('page', String(p))
            setParams(next)
          },
        }}
        tableClassName="audit-table"
        columns={
          <>
            <th>When</th>
            <th>Action</th>
            <th>Actor</th>
            <th>Target</th>
            <th>IP</th>
            <th>
              <span className="sr-only">Details</span>
            </th>
          </>
        }
        rowKey={(a) => String(a.id)}
        row={(a) => {
          const id = String(a.id)
          const isOpen = open.has(id)
          const hasDetails = a.details !== null && Object.keys(a.details).length > 0
          return (
            <>
              <tr data-action={a.action}>
                <td className="nowrap">{fmtTime(a.at)}</td>
                <td className="mono">{a.action}</td>
                <td>{actorLabel(a, userName)}</td>
                <td>{targetLabel(a)}</td>
                <td className="mono">{a.ip ?? '—'}</td>
                <td>
                  {hasDetails && (
                    <button type="button" className="button-small" aria-expanded={isOpen} onClick={() => toggle(id)}>
                      {isOpen ? 'Hide details' : 'Details'}
                    </button>
                  )}
                </td>
              </tr>
              {isOpen && (
                <tr className="details-row">
                  <td colSpan={6}>
                    <pre>{JSON.stringify(a.details, null, 2)}</pre>
                  </td>
                </tr>
              )}
            </>
          )
        }}
      />
    </section>
  )
}
